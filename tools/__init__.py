"""Domain tools over domain databases."""

"""The terminal TUI (the `tui` extra)."""

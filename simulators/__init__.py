"""Customer simulators and customer-side state (phones, personas)."""

"""Examples that run beside elicense, as separate processes (nothing in the service imports them)."""

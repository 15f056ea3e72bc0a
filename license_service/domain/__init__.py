"""The pure domain layer (standard library only): USCC rules, license identifiers, what a license
prints per entity kind, and the lifecycle state machine. Nothing here does I/O."""

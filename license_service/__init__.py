"""elicense issuing service: registration intake, the registry, license issuance."""

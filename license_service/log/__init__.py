"""The issuance log: an append-only RFC 6962 Merkle tree in the registry's database, with signed
checkpoints. ``reader`` needs no key (proofs, entries, checkpoints: both services and auditors);
``writer`` appends and signs (the issuing service only)."""

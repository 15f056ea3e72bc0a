"""What a running service stands on, built from settings (no import-time globals).

``read.ReadRuntime``: settings, database, registry reads, public keys, the log's read side, the access
token verifier. The verification service is built from it alone. ``issuing.IssuingRuntime`` adds what
signs: the signers, the sealer, the renderer, log appends, status lists and the issuance service.
"""

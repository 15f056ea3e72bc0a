"""Holders of the license (持照人): bindings, grants (授权), passkeys, sessions and 亮照 presentations.

- ``leaves``: what the public log says of a holder row (ids and digests, no personal data);
- ``ledger``: every change to holder rows, each with its log leaf, in one transaction (issuing side);
- ``passkeys``: the WebAuthn ceremonies (the ``webauthn`` library);
- ``sessions``: signed-in holders, CSRF tokens, re-authentication;
- ``presentations``: the dynamic QR's handles and their single redemption (read by the verifier too);
- ``proofing``: the identity-proofing interface (the window's in-person check ships).
"""

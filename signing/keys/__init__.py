"""Key providers: where the services get their keys, in the manner of pyHanko's ``api`` module with
its implementations beside it. Each submodule is imported on its own (this file imports none of
them), so what a process can do follows from what it imports:

- ``api``: the interfaces (``PublicKeys``, ``Signers``, ``EcSigner``, ``PdfSigningMaterial``) and the
  names of the public files of a keys folder;
- ``public``: ``FilePublicKeys``, the public half of a keys folder: all the verification service
  ever uses (it holds no private key and cannot load one);
- ``files``: ``FileSigners``, the private keys of a keys folder, and ``ensure_dev_keys``;
- ``pkcs11``: ``Pkcs11Signers``, the PDF signer's and the token's keys in an HSM;
- ``devpki``: the declared development PKI and its OCSP responder;
- ``rotation``: key rotation and compromise in a keys folder.

Layout of a keys directory (``ELICENSE_KEYS_DIR``):
- the declared dev PKI (``devpki.DEV_PKI``): ``root-ca``, ``issuing-ca``, ``document-signer``, ``tsa``
  as ``NAME.pem`` (certificate) and ``NAME.key`` (PKCS#8, mode 0600); each CA's CRL as ``NAME.crl``;
- ``token.key``: the QR-token ES256 key; ``access.key``: the API access-token ES256 key;
- ``jwks.json`` and ``access-jwks.json``: their public halves, which is all a verifier needs;
- ``log.skey`` (Go sumdb/note format, mode 0600) and ``log.vkey``: the issuance log's Ed25519 key;
  ``log-handovers.json``: the log key handover notes after a rotation.
"""

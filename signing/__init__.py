"""The crypto library both services use. It imports neither service.

Two sides, kept apart by what they import (``tests/unit/test_signing_structure.py`` checks it):

- verifying, all the public verification service may import: ``pdf_validation`` and
  ``lta_validation`` (PAdES, pyHanko's model), ``tokens`` (JOSE, ES256), ``keys.api`` and
  ``keys.public`` (the public keys of a keys folder), ``note``, ``merkle``, ``status_list``;
- signing, the issuing service's: ``pdf`` (sealing), ``ltv`` (the long-term form), ``timestamps``
  (the development TSA), ``keys.files`` and ``keys.pkcs11`` (private keys in files or an HSM),
  ``keys.devpki`` (the declared development PKI) and ``keys.rotation``.

Time is always an argument (``at``): nothing here falls back to the clock.
"""

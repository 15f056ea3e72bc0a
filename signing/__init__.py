"""The crypto library both services use: PDF signing (pyHanko), QR and access tokens (JOSE), key
providers and the declared development PKI. It imports neither service."""

"""elicense verification service (public-facing; holds no private keys). Arrives with the
verification issue; `elicense serve --app verify` will mount it."""

"""Log in with the e-license (扫码登录): elicense as an OpenID Provider for platforms. ``platforms``
registers them, ``provider`` speaks the protocol (authlib), ``requests`` keeps a login request from
the platform's redirect to the holder's approval, ``leaves`` writes each successful log-in to the
log, ``web`` serves it all under ``/oidc/`` and ``/.well-known/openid-configuration``."""

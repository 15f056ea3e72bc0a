"""A sample platform that logs people in with the e-license (用电子营业执照登录), with a stock OpenID
Connect client: authlib's Starlette integration. It knows nothing of elicense but its issuer URL: the
endpoints and keys come from the discovery document and its ``jwks_uri``; authlib checks the ID
token's signature, ``iss``, ``aud``, ``exp`` and ``nonce``, and sends PKCE (S256).

Run it beside a development server (``elicense serve``), in the same folder, with one command::

    .venv/bin/python -m examples.sample_platform

It registers itself (``elicense platforms create --json``) unless given ``--client-id`` and
``--client-secret``, then serves http://127.0.0.1:8765/: a "登录" button, and after the log-in the
claims it received.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import uvicorn
from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

NAME = "示例平台 · Sample platform"

_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:720px;margin:0 auto;padding:16px;
line-height:1.5}} .button{{display:inline-block;background:#0b4f8a;color:#fff;padding:12px 18px;border-radius:8px;
text-decoration:none;font-weight:600}} table{{border-collapse:collapse;width:100%}} th,td{{text-align:left;
padding:6px;border-top:1px solid #ddd;overflow-wrap:anywhere}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


def create_app(issuer: str, client_id: str, client_secret: str, *, scope: str = "openid profile") -> Starlette:
    """The platform: ``/`` (log in), ``/login`` (to the provider), ``/callback`` (the claims)."""
    oauth = OAuth()
    oauth.register("elicense", client_id=client_id, client_secret=client_secret,
                   server_metadata_url=f"{issuer.rstrip('/')}/.well-known/openid-configuration",
                   client_kwargs={"scope": scope, "code_challenge_method": "S256",
                                  "token_endpoint_auth_method": "client_secret_basic"})

    async def home(request: Request) -> Response:
        claims = request.session.get("claims")
        if not claims:
            return _page(NAME, '<p>尚未登录 · Not logged in</p>'
                               '<p><a class="button" id="login" href="/login">用电子营业执照登录 · '
                               'Log in with the e-license</a></p>')
        rows = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(json.dumps(v, ensure_ascii=False))}"
                       f"</code></td></tr>" for k, v in sorted(claims.items()))
        return _page(NAME, f'<p id="welcome">已登录 · Logged in: <bdi>{html.escape(str(claims.get("entity_name")))}'
                           f'</bdi></p><table id="claims">{rows}</table><p><a href="/logout">退出 · Log out</a></p>')

    async def login(request: Request) -> Response:
        client: Any = oauth.create_client("elicense")
        return await client.authorize_redirect(request, str(request.url_for("callback")))  # type: ignore[no-any-return]

    async def callback(request: Request) -> Response:
        client: Any = oauth.create_client("elicense")
        try:
            token = await client.authorize_access_token(request)  # checks the ID token with the JWKS
        except OAuthError as e:
            return _page(NAME, f'<p id="error">登录未完成 · Not logged in: <code>{html.escape(e.error or "")}'
                               f'</code> {html.escape(e.description or "")}</p><p><a href="/">返回 · Back</a></p>', 400)
        request.session["claims"] = dict(token["userinfo"])
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/", status_code=303)

    return Starlette(routes=[Route("/", home), Route("/login", login), Route("/callback", callback),
                             Route("/logout", logout)],
                     middleware=[Middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32),
                                            session_cookie="sample-platform", same_site="lax")])


def _register(redirect_uri: str) -> tuple[str, str]:
    elicense = str(Path(sys.executable).parent / "elicense")
    out = subprocess.run([elicense, "platforms", "create", "--name", NAME, "--redirect-uri", redirect_uri, "--json"],
                         capture_output=True, text=True, check=True, env=os.environ).stdout
    creds = json.loads(out)
    return creds["client_id"], creds["client_secret"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--issuer", default=os.environ.get("ELICENSE_PUBLIC_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    args = parser.parse_args(argv)
    if not (args.client_id and args.client_secret):
        args.client_id, args.client_secret = _register(f"http://{args.host}:{args.port}/callback")
    print(f"sample platform: http://{args.host}:{args.port}/ (client {args.client_id}, issuer {args.issuer})",
          flush=True)
    uvicorn.run(create_app(args.issuer, args.client_id, args.client_secret), host=args.host, port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()

"""The ``elicense`` command (DESIGN.md): each command parses its arguments, calls the one function
that does its job where its subject lives, and prints what that returns. Time is read here, at the
edge, and passed down. Imports are inside the commands so that start-up stays fast."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from signing.errors import SigningPackageError

from .config import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session, sessionmaker

    from .audit.client import LogClient
    from .runtime.issuing import IssuingRuntime

app = typer.Typer(help="elicense: issue and verify electronic business licenses (电子营业执照).",
                  no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Key management.", no_args_is_help=True)
clients_app = typer.Typer(help="API clients (OAuth 2.0 client credentials).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
status_app = typer.Typer(help="Status lists (offline revocation checks).", no_args_is_help=True)
app.add_typer(status_app, name="status")
app.add_typer(clients_app, name="clients")
holders_app = typer.Typer(help="Holders of the license (持照人): invitations from the window.", no_args_is_help=True)
app.add_typer(holders_app, name="holders")
witness_app = typer.Typer(help="A transparency-log witness (C2SP tlog-witness): its own key, state and process.",
                          no_args_is_help=True)
app.add_typer(witness_app, name="witness")
platforms_app = typer.Typer(help="Platforms that log holders in with the e-license (OpenID Connect clients).",
                            no_args_is_help=True)
app.add_typer(platforms_app, name="platforms")
staff_app = typer.Typer(help="The window's staff (窗口工作人员): clerks, supervisors, auditors.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")
db_app = typer.Typer(help="The registry's database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("verifier-grants")
def db_verifier_grants(role: Annotated[str, typer.Argument(help="the verification service's PostgreSQL role")]) -> None:
    """Print the PostgreSQL grants for the verification service's read-only role: it reads every
    table and may only insert platform verification records. Review and run them as an admin."""
    from .db.migrate import verifier_grants

    typer.echo(verifier_grants(role))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database at ELICENSE_DATABASE_URL to the schema this code needs (Alembic)."""
    from .db.engine import make_engine
    from .db.migrate import current_revision, head_revision, upgrade

    settings = _settings()
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    typer.echo(f"database schema: {before or 'empty'} -> {head_revision()}")


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as e:
        typer.echo(f"configuration refused: {e}", err=True)
        raise typer.Exit(2) from None


def _runtime(settings: Settings) -> IssuingRuntime:
    from .db.migrate import SchemaNotCurrent
    from .runtime import issuing

    try:
        return issuing.IssuingRuntime.build(settings)
    except SchemaNotCurrent as e:
        typer.echo(e.detail, err=True)
        raise typer.Exit(2) from None


def _now() -> datetime:
    """The wall clock, read here at the edge and passed down."""
    return datetime.now(UTC)


def _ensure_dev_keys(settings: Settings) -> list[str]:
    from signing.keys.files import ensure_dev_keys

    return ensure_dev_keys(settings.keys_dir, settings.log_origin, at=_now())


def _refuse(e: SigningPackageError) -> NoReturn:
    """A refusal about key material: its message on stderr, exit status 2."""
    typer.echo(e.detail, err=True)
    raise typer.Exit(2) from None


@keys_app.command("init")
def keys_init() -> None:
    """Create any missing development keys in ELICENSE_KEYS_DIR (idempotent)."""
    settings = _settings()
    if not settings.is_dev:
        typer.echo("keys init makes development keys; it refuses to run with ELICENSE_ENV=production", err=True)
        raise typer.Exit(2)
    created = _ensure_dev_keys(settings)
    typer.echo(f"keys in {settings.keys_dir}: " + (f"created {', '.join(created)}" if created else "all present"))


@keys_app.command("rotate")
def keys_rotate(
    purpose: Annotated[str, typer.Option(help="token | access | status | idtoken | pdf | log")],
) -> None:
    """Replace a signing key; everything signed before keeps verifying (the JWKS keeps retired keys,
    retired/ keeps old certificates). Restart the services afterwards, one at a time."""
    from signing.errors import KeyMaterialError
    from signing.keys.api import JWKS_FILES
    from signing.keys.rotation import rotate_log_key, rotate_pdf_signer, rotate_token_key

    directory = _settings().keys_dir
    try:
        if purpose in JWKS_FILES:
            old, new = rotate_token_key(directory, purpose, at=_now())
            typer.echo(f"{purpose} key rotated: {old} retired, {new} current ({JWKS_FILES[purpose]} lists both)")
        elif purpose == "pdf":
            old_serial, new_serial = rotate_pdf_signer(directory, at=_now())
            typer.echo(f"document signer rotated: certificate {old_serial:x} retired, {new_serial:x} current")
        elif purpose == "log":
            old_vkey, new_vkey = rotate_log_key(directory, at=_now())
            typer.echo(f"log key rotated: {old_vkey} -> {new_vkey}; the handover, signed by both, is served at "
                       "/log/key/handovers")
        else:
            typer.echo("--purpose must be token, access, status, idtoken, pdf or log", err=True)
            raise typer.Exit(2)
    except KeyMaterialError as e:
        _refuse(e)


@keys_app.command("hsm-generate")
def keys_hsm_generate() -> None:
    """Generate the PDF signer's and the token's keys inside the PKCS#11 token the settings name
    (ELICENSE_PKCS11_*), write the document signer's certificate (development CA) and publish the
    token key in the JWKS; then set ELICENSE_KEY_PROVIDER=pkcs11 and restart the services."""
    from signing.errors import KeyMaterialError
    from signing.keys.pkcs11 import generate_keys

    s = _settings()
    if not s.pkcs11_module or s.pkcs11_pin is None:
        typer.echo("set ELICENSE_PKCS11_MODULE and ELICENSE_PKCS11_PIN (and ELICENSE_PKCS11_TOKEN_LABEL)", err=True)
        raise typer.Exit(2)
    try:
        made = generate_keys(s.keys_dir, module=s.pkcs11_module, token_label=s.pkcs11_token_label, pin=s.pkcs11_pin,
                             pdf_key_label=s.pkcs11_pdf_key_label, token_key_label=s.pkcs11_token_key_label,
                             at=_now())
    except KeyMaterialError as e:
        _refuse(e)
    typer.echo(f"keys generated in the token: {made['pdf_key']}, {made['token_key']} (kid {made['kid']})")


@keys_app.command("revoke")
def keys_revoke(
    kid: Annotated[str, typer.Option(help="token/access: the key's kid, as the JWKS lists it")] = "",
    serial: Annotated[str, typer.Option(help="pdf: the signer certificate's serial (hex)")] = "",
    since: Annotated[str, typer.Option(help="held compromised from (ISO 8601 time; default now)")] = "",
    purpose: Annotated[str, typer.Option(help="token | access | pdf")] = "token",
) -> None:
    """Hold a retired key compromised from a time on: what it signed from then on fails verification
    (token.key_compromised, pdf.signer_compromised); what it signed before still verifies."""
    from signing.errors import KeyMaterialError
    from signing.keys.rotation import mark_compromised, revoke_certificate

    now = _now()
    try:
        at = datetime.fromisoformat(since) if since else now
    except ValueError:
        typer.echo(f"--since: not an ISO 8601 time: {since}", err=True)
        raise typer.Exit(2) from None
    if at.tzinfo is None:
        typer.echo("--since needs a UTC offset, e.g. 2026-11-27T08:00:00+08:00", err=True)
        raise typer.Exit(2)
    keys_dir = _settings().keys_dir
    try:
        if purpose == "pdf":
            revoke_certificate(keys_dir, int(serial, 16), at, at=now)
            typer.echo(f"signer certificate {serial} revoked from {at.isoformat()}; the CRL is re-issued")
        else:
            mark_compromised(keys_dir, kid, at, purpose)
            typer.echo(f"{purpose} key {kid} held compromised from {at.isoformat()}; restart the services")
    except ValueError:
        typer.echo("--serial: a certificate serial in hex", err=True)
        raise typer.Exit(2) from None
    except KeyMaterialError as e:
        _refuse(e)


@app.command()
def archive(
    grace_hours: Annotated[float, typer.Option(help="after its signing time, how long before a license's long-term "
                                                    "form is made (its revocation data must postdate the seal)")]
    = 24.0,
    renew_within_days: Annotated[int, typer.Option(help="renew a stored form when its newest timestamp's TSA "
                                                        "certificate expires within this many days")] = 365,
    limit: Annotated[int | None, typer.Option(min=1, help="at most this many forms in this run")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Archive long-term forms (PAdES B-LTA): make and store them once the grace period has passed,
    and add a document timestamp to stored ones before their TSA certificate expires. Run it daily,
    as a fresh process (a rolled-over TSA key is read at start). Exit 0: all done; 2: a renewal is
    blocked (roll the TSA over first); 1: something failed (the report names it)."""
    from datetime import timedelta

    from .archive import ArchivePolicy, run_archive

    runtime = _runtime(_settings())
    report = run_archive(runtime, at=_now(), limit=limit,
                         policy=ArchivePolicy(grace=timedelta(hours=grace_hours),
                                              renew_within=timedelta(days=renew_within_days)))
    if as_json:
        typer.echo(json.dumps(report.as_json()))
    else:
        typer.echo(f"archived {len(report.archived)}, renewed {len(report.renewed)}, "
                   f"blocked {len(report.blocked)}, failed {len(report.failed)}")
        for license_id, code in report.failed:
            typer.echo(f"  failed: {license_id}: {code}", err=True)
    if report.failed:
        raise typer.Exit(1)
    if report.blocked:
        typer.echo("renewals are blocked: the TSA's certificate must be rolled over first", err=True)
        raise typer.Exit(2)


@status_app.command("publish")
def status_publish() -> None:
    """Re-sign every status list with a new validity period (7 days): run it daily, and after a
    token key rotation."""
    runtime = _runtime(_settings())
    now = _now()
    with runtime.write_sessions.begin() as s:
        n = runtime.status_lists.republish(s, now)
    typer.echo(f"re-signed {n} status lists, valid from {now.isoformat()}")


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="who the client is")],
    scopes: Annotated[str, typer.Option(help='space-separated, e.g. "registrations:write licenses:read"')],
    as_json: Annotated[bool, typer.Option("--json", help="print {client_id, client_secret} as JSON")] = False,
) -> None:
    """Register an API client; prints its id and secret (the secret is shown only now)."""
    from .oauth import create_client

    runtime = _runtime(_settings())
    try:
        client_id, secret = create_client(runtime.write_sessions, name, scopes.split(), at=_now())
    except ValueError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"client_id": client_id, "client_secret": secret, "scopes": scopes.split()}))
    else:
        typer.echo(f"client_id:     {client_id}\nclient_secret: {secret}\nscopes:        {scopes}")


@platforms_app.command("create")
def platforms_create(
    name: Annotated[str, typer.Option(help="the platform's name, as the holder sees it on the consent screen")],
    redirect_uri: Annotated[list[str], typer.Option(help="an exact redirect URI (repeat for several)")],
    jwks_uri: Annotated[str | None, typer.Option(help="the platform's JWKS URL: it authenticates with "
                                                      "private_key_jwt instead of its secret")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print {client_id, client_secret} as JSON")] = False,
) -> None:
    """Register a platform (an OpenID Connect client); prints its id and secret (shown only now)."""
    from .domain.errors import FieldError
    from .login.platforms import create_platform

    settings = _settings()
    runtime = _runtime(settings)
    try:
        client_id, secret = create_platform(runtime.write_sessions, name=name, redirect_uris=redirect_uri,
                                            jwks_uri=jwks_uri, development=settings.env == "development", at=_now())
    except FieldError as e:
        typer.echo(f"{e.field}: {e.detail}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        typer.echo(f"client_id:     {client_id}\nclient_secret: {secret}\ndiscovery:     "
                   f"{settings.public_base_url}/.well-known/openid-configuration")


@holders_app.command("invite")
def holders_invite(
    uscc: Annotated[str, typer.Option(help="the entity's unified social credit code")],
    name: Annotated[str, typer.Option(help="the person's name, as the registry holds it for the role")],
    role: Annotated[str, typer.Option(help="legal_representative (the window invites only the legal "
                                           "representative; administrators and handlers are invited by their "
                                           "grantor on the holder's pages)")] = "legal_representative",
    as_json: Annotated[bool, typer.Option("--json", help="print {invitation_url, code, expires_at, ...} as JSON")]
    = False,
) -> None:
    """A single-use invitation for a person whose identity card the clerk has checked in person: a link
    (and QR) for their phone and a short code, valid 24 h by default. Shown only now."""
    from .domain.errors import DomainError, InputError
    from .domain.holding import HolderRole
    from .holders.proofing import WindowProofing, invitation_answer

    settings = _settings()
    runtime = _runtime(settings)
    try:
        holder_role = HolderRole(role)
        with runtime.write_sessions.begin() as s:
            inv = WindowProofing("cli").invite(s, runtime.holders, uscc=uscc.strip().upper(), role=holder_role,
                                               name=name.strip(), at=_now())
    except ValueError:
        typer.echo(f"unknown role {role!r}: legal_representative", err=True)
        raise typer.Exit(2) from None
    except (DomainError, InputError) as e:  # a refusal: say which rule, exit 2
        typer.echo(f"refused ({e.code}): {e.detail}", err=True)
        raise typer.Exit(2) from None
    answer = invitation_answer(settings.public_base_url, inv, uscc=uscc.strip().upper(), role=holder_role,
                               name=name.strip())
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False))
        return
    typer.echo(f"invitation for {answer['name']} ({role}) of {answer['uscc']}, valid until {answer['expires_at']}:\n"
               f"  open on the person's phone: {answer['invitation_url']}\n"
               f"  or enter at {answer['enrol_url']}: the USCC and the code {answer['code']}")
    _print_qr(answer["invitation_url"])


@staff_app.command("invite")
def staff_invite(
    name: Annotated[str, typer.Option(help="the staff member's name")],
    role: Annotated[str, typer.Option(help="clerk, supervisor or auditor")],
    division: Annotated[str, typer.Option(help="GB/T 2260 division code (433101 吉首市; 433100 covers 湘西州)")],
    as_json: Annotated[bool, typer.Option("--json", help="print {staff_id, enrol_url, expires_at} as JSON")] = False,
) -> None:
    """A staff account and its single-use enrolment link (valid 24 h): the person opens it and creates
    a passkey, then signs in at /console/sign-in. Shown only now."""
    from .console.staff import StaffLedger
    from .domain.errors import DomainError, InputError
    from .domain.staff import Division, StaffRole
    from .holders.passkeys import RelyingParty

    settings = _settings()
    runtime = _runtime(settings)
    try:
        with runtime.write_sessions.begin() as s:
            inv = StaffLedger.invite(s, name=name, role=StaffRole.parse(role), division=Division(division.strip()),
                                     created_by="cli", at=_now())
    except (DomainError, InputError) as e:
        typer.echo(f"refused ({e.code}): {e.detail}", err=True)
        raise typer.Exit(2) from None
    url = f"{RelyingParty.of(settings.public_base_url).origin}/console/enrol?t={inv.secret}"
    if as_json:
        typer.echo(json.dumps({"staff_id": inv.staff_id, "enrol_url": url, "expires_at": inv.expires_at.isoformat()}))
        return
    typer.echo(f"staff {inv.staff_id} ({role}, {division}): enrol once, before {inv.expires_at.isoformat()}, "
               f"at\n  {url}")


@holders_app.command("demo")
def holders_demo(
    count: Annotated[int, typer.Option(min=1, max=20, help="how many demo companies")] = 3,
) -> None:
    """Invitations for the legal representatives of the first demo companies (new ones each run: an
    invitation is single-use), printed with how to try the holder's pages."""
    from sqlalchemy import select

    from .db.models import MarketEntity
    from .domain.holding import HolderRole
    from .holders.proofing import WindowProofing, invitation_answer

    settings = _settings()
    runtime = _runtime(settings)
    at = _now()
    answers = []
    with runtime.write_sessions.begin() as s:
        for entity in s.execute(select(MarketEntity).where(MarketEntity.status == "active",
                                                           MarketEntity.entity_kind == "company")
                                .order_by(MarketEntity.created_at, MarketEntity.uscc).limit(count)).scalars():
            _, person = runtime.holders.registered_representative(s, entity.uscc)
            inv = WindowProofing("demo").invite(s, runtime.holders, uscc=entity.uscc,
                                                role=HolderRole.LEGAL_REPRESENTATIVE, name=person, at=at)
            answers.append((entity.name, invitation_answer(settings.public_base_url, inv, uscc=entity.uscc,
                                                           role=HolderRole.LEGAL_REPRESENTATIVE, name=person)))
    typer.echo("holders to try (the legal representatives of demo companies; each link works once, for 24 h):")
    for name, a in answers:
        typer.echo(f"  {name} · 法定代表人 {a['name']}\n    {a['invitation_url']}\n    code {a['code']} for "
                   f"{a['uscc']} at {a['enrol_url']}")
    typer.echo("open a link in a browser that has a passkey (a phone, or Chrome's DevTools > WebAuthn > virtual "
               "authenticator); then sign in at /holder/sign-in and try 亮照 (show) and 授权 (grants)")


def _print_qr(data: str) -> None:
    """A QR in the terminal (two modules a character, with the quiet zone), for the clerk to show."""
    from .rendering.qr import qr_matrix

    m = qr_matrix(data)
    n = len(m)
    rows = [[False] * (n + 4) for _ in range(2)] + [[False, False, *row, False, False] for row in m] + \
        [[False] * (n + 4) for _ in range(3)]
    for top, bottom in zip(rows[0::2], rows[1::2], strict=False):
        typer.echo("".join(" " if not a and not b else "▀" if a and not b else "▄" if b and not a else "█"
                           for a, b in zip(top, bottom, strict=True)))


@clients_app.command("list")
def clients_list(
    as_json: Annotated[bool, typer.Option("--json", help="a JSON list of {client_id, name, scopes, created_at, "
                                                         "disabled}")] = False,
) -> None:
    """Every API client: id, name, scopes, when created, and whether disabled (never a secret)."""
    from .oauth import list_clients

    clients = list_clients(_runtime(_settings()).sessions)
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in clients], ensure_ascii=False))
        return
    import unicodedata

    def padded(text: str, width: int) -> str:  # by display width: a hanzi takes two columns
        shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
        return text + " " * max(0, width - shown)

    typer.echo(f"{'client_id':24s}  {'created (UTC)':19s}  {'disabled':8s}  {padded('name', 24)}  scopes")
    for c in clients:
        created = c.created_at.strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{c.client_id:24s}  {created:19s}  {'yes' if c.disabled else 'no':8s}  {padded(c.name, 24)}  "
                   f"{' '.join(c.scopes)}")


def _client_change(change: Callable[[sessionmaker[Session]], object]) -> object:
    """Run a change to the clients table; an unknown client id is a refusal (exit status 2)."""
    from .errors import NotFound

    try:
        return change(_runtime(_settings()).write_sessions)
    except NotFound as e:
        typer.echo(e.detail, err=True)
        raise typer.Exit(2) from None


@clients_app.command("disable")
def clients_disable(client_id: Annotated[str, typer.Argument(help="the client's id")]) -> None:
    """Cut a client off: it gets no new token, and the tokens it holds stop working in every service
    within ELICENSE_CLIENT_STATUS_MAX_AGE_SECONDS (default 5 s)."""
    from .oauth import set_disabled

    settings = _settings()
    _client_change(lambda s: set_disabled(s, client_id, True))
    typer.echo(f"client {client_id} disabled: its tokens stop working within "
               f"{settings.client_status_max_age_seconds:g} s")


@clients_app.command("enable")
def clients_enable(client_id: Annotated[str, typer.Argument(help="the client's id")]) -> None:
    """Let a disabled client in again (its tokens not yet expired work again too)."""
    from .oauth import set_disabled

    _client_change(lambda s: set_disabled(s, client_id, False))
    typer.echo(f"client {client_id} enabled")


@clients_app.command("rotate-secret")
def clients_rotate_secret(
    client_id: Annotated[str, typer.Argument(help="the client's id")],
    as_json: Annotated[bool, typer.Option("--json", help="print {client_id, client_secret} as JSON")] = False,
) -> None:
    """Give a client a new secret (shown only now); the old one is refused from now on. Tokens already
    issued live out their lifetime (ELICENSE_ACCESS_TOKEN_TTL_SECONDS): if the old secret leaked,
    disable the client, rotate, and enable it once that lifetime has passed (enabling it sooner
    revives the tokens got with the old secret)."""
    from .oauth import rotate_secret

    secret = _client_change(lambda s: rotate_secret(s, client_id))
    if as_json:
        typer.echo(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        typer.echo(f"client_id:     {client_id}\nclient_secret: {secret}")


@clients_app.command("delete")
def clients_delete(
    client_id: Annotated[str, typer.Argument(help="the client's id")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
) -> None:
    """Remove a client for good: it gets no token and its tokens stop working as a disabled client's
    do. Its past verifications keep its id but lose its name (disable keeps both)."""
    from .oauth import delete_client

    if not yes:
        typer.confirm(f"delete client {client_id}?", abort=True)
    _client_change(lambda s: delete_client(s, client_id))
    typer.echo(f"client {client_id} deleted")


@app.command()
def demo() -> None:
    """Load the demo workload (湘西, Jan-May 2018: 1,164 establishments, 362 changes)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .demo import demo_events, load_demo

    settings = _settings()
    if settings.is_dev:
        _ensure_dev_keys(settings)
    runtime = _runtime(settings)
    events = list(demo_events())
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]demo"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=False) as progress:
        task = progress.add_task("issuing", total=len(events))
        result = load_demo(runtime.issuance, events, clock=_now, legacy=settings.uscc_legacy_allowlist,
                           advance=lambda: progress.advance(task))
    elapsed = time.perf_counter() - t0
    total = sum(result.issued.values())
    typer.echo(f"licenses issued: {total} ({result.already_applied} events were already applied)")
    for key, n in sorted(result.issued.items()):
        typer.echo(f"  {key:40s} {n:5d}")
    typer.echo(f"elapsed: {elapsed:.1f} s; {total / elapsed if elapsed else 0:.1f} licenses/s")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="the address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="the TCP port to listen on")] = 8000,
    which: Annotated[str, typer.Option("--app", help="all: both services in one process (development); "
                                                     "issuing: the issuing service; verify: the public verifier, "
                                                     "with public keys only")] = "all",
    workers: Annotated[int, typer.Option(min=1, help="worker processes (one per core; each a whole service)")] = 1,
) -> None:
    """Serve the API: both apps (all), the issuing service, or the verification service alone.
    Generates development keys on first run in development. In development the public base URL
    (what QR codes and links point to) follows --host and --port unless ELICENSE_PUBLIC_BASE_URL is set."""
    import uvicorn

    if "ELICENSE_PUBLIC_BASE_URL" not in os.environ and os.environ.get("ELICENSE_ENV", "development") == "development":
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        os.environ["ELICENSE_PUBLIC_BASE_URL"] = f"http://{shown}:{port}"  # the workers read it from here
    settings = _settings()
    if which not in ("all", "issuing", "verify"):
        typer.echo("--app must be all, issuing or verify", err=True)
        raise typer.Exit(2)
    if settings.is_dev and which != "verify":  # the verifier never gets private keys, not even dev ones
        created = _ensure_dev_keys(settings)
        if created:
            typer.echo(f"generated development keys in {settings.keys_dir}: {', '.join(created)}")
    elif not settings.is_dev:
        from signing.keys.public import FilePublicKeys

        if FilePublicKeys(settings.keys_dir).is_dev():
            typer.echo("ELICENSE_ENV=production refuses the development PKI", err=True)
            raise typer.Exit(2)
    # the schema, once, before any worker starts: upgraded in development, else it must be current
    from .db.engine import make_engine
    from .db.migrate import SchemaNotCurrent, ensure_schema

    try:
        ensure_schema(make_engine(settings.database_url), may_upgrade=settings.is_dev and which != "verify")
    except SchemaNotCurrent as e:
        typer.echo(e.detail, err=True)
        raise typer.Exit(2) from None
    base = settings.public_base_url
    docs = f"  API docs:    {base}/docs\n" if settings.is_dev else ""  # production serves none
    typer.echo(f"elicense serving on http://{host}:{port} (public base URL {base})\n"
               f"  health:      {base}/healthz\n{docs}"
               f"  JWKS:        {base}/.well-known/jwks.json\n  trust root:  {base}/trust/roots.pem")
    sys.stdout.flush()
    os.environ.setdefault("ELICENSE_ENV", settings.env)
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # /metrics adds up every worker
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="elicense-metrics-")
    # factories named by string: the composition of both apps (devapp) is imported by nothing
    factory = {"all": "devapp:create_app", "issuing": "license_service.app:create_app",
               "verify": "verify_app.app:create_app"}[which]
    from .web.observability import log_config

    # JSON lines with request ids (our own access line per request replaces uvicorn's)
    uvicorn.run(factory, factory=True, host=host, port=port, workers=workers, log_config=log_config(),
                access_log=False, timeout_graceful_shutdown=20,
                server_header=False,  # no "server: uvicorn": what runs here is nobody's business
                # request heads bounded where they are read (httptools has no limit of its own; h11's is this knob)
                http="license_service.web.http_protocol:HeadLimitedHttpToolsProtocol",
                h11_max_incomplete_event_size=settings.max_header_bytes,
                # X-Forwarded-* believed only from the proxies configured; none by default (uvicorn's
                # default trusts loopback, so anything on this host could pick its client address)
                proxy_headers=bool(settings.trusted_proxies), forwarded_allow_ips=settings.trusted_proxies or None)


@witness_app.command("init")
def witness_init(
    state: Annotated[Path, typer.Option(help="the witness's folder (its key and state)")],
    name: Annotated[str, typer.Option(help="the witness's name, a schema-less URL (e.g. witness.example/w1)")],
) -> None:
    """Create a witness's Ed25519 key and empty state in STATE; prints its verifier key (a C2SP
    cosignature/v1 vkey) for the log's ELICENSE_WITNESSES. Refuses if STATE has a key already."""
    from signing.note import NoteError

    from .witness.state import init_witness

    try:
        cosigner = init_witness(state, name)
    except FileExistsError:
        typer.echo(f"{state} holds a witness key already: a witness's key is its identity", err=True)
        raise typer.Exit(2) from None
    except NoteError as e:
        typer.echo(f"--name: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(cosigner.verifier.vkey)


@witness_app.command("serve")
def witness_serve(
    state: Annotated[Path, typer.Option(help="the witness's folder (made by `elicense witness init`)")],
    log_vkey: Annotated[list[str], typer.Option(help="a log's verifier key (name+id+base64); the log's origin is "
                                                    "its key's name. Repeat for more logs or keys")],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8100,
) -> None:
    """Serve the witness: POST /add-checkpoint (C2SP tlog-witness), GET /<sha256(origin)>/checkpoint."""
    import uvicorn

    from signing.note import NoteError, NoteVerifier

    from .web.observability import log_config
    from .witness.server import create_witness_app
    from .witness.state import load_cosigner

    logs: dict[str, list[NoteVerifier]] = {}
    try:
        for v in log_vkey:
            verifier = NoteVerifier.from_vkey(v)
            logs.setdefault(verifier.name, []).append(verifier)
        cosigner = load_cosigner(state)
    except NoteError as e:
        typer.echo(f"--log-vkey: {e}", err=True)
        raise typer.Exit(2) from None
    except FileNotFoundError:
        typer.echo(f"{state} holds no witness key: run `elicense witness init --state {state} --name NAME`", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"witness {cosigner.verifier.vkey}\n  serving on http://{host}:{port} for {', '.join(logs)}")
    sys.stdout.flush()
    uvicorn.run(create_witness_app(state, cosigner, logs), host=host, port=port, log_config=log_config(),
                access_log=False, server_header=False)


@app.command()
def audit(
    base_url: Annotated[str, typer.Option(help="the verification service's public URL")],
    state: Annotated[Path, typer.Option(help="the auditor's state file (created on first run)")],
    client_id: Annotated[str | None, typer.Option(help="auditor credential (scope audit): reconcile")] = None,
    client_secret: Annotated[str | None, typer.Option()] = None,
    key: Annotated[str | None, typer.Option(help="pin this log key (name+id+base64); else trust on first use")]
    = None,
    pdfs: Annotated[str, typer.Option(help="with a credential, the stored PDFs to rehash: all, or new (those "
                                           "issued since the saved checkpoint)")] = "all",
    max_entries: Annotated[int, typer.Option(min=0, help="refuse to fetch a log larger than this")] = 10_000_000,
    timeout: Annotated[float, typer.Option(min=0.1, help="seconds for one whole answer from the server")] = 300.0,
    witness: Annotated[list[str] | None, typer.Option(help="a witness's verifier key (cosignature/v1 vkey); "
                                                          "repeat for each witness trusted")] = None,
    policy: Annotated[int | None, typer.Option(min=0, help="how many of the witnesses must have cosigned the "
                                                           "checkpoint (default: all of them)")] = None,
) -> None:
    """Audit the issuance log: the checkpoint's signature with the pinned key, consistency with the
    checkpoint saved in the state file, the entries counted before still served unchanged, the new
    entries against the new root, and (with an auditor credential) the registry reconciled with the
    log: records, lifecycle facts, entities, registration results, stored tokens and PDFs.

    Exit status: 0 all holds (the state file is updated); 1 AUDIT FAILED, something does not hold;
    3 AUDIT INCOMPLETE, something could not be checked (the server unreachable, too slow or
    overloaded, an answer too large, the credential refused); 2 a usage error. The state file is
    only written on 0."""
    from signing.note import NoteError

    from .audit.check import WitnessRequirement
    from .audit.client import Limits, LogClient
    from .audit.run import run_audit

    if pdfs not in ("all", "new"):
        raise typer.BadParameter("all or new", param_hint="--pdfs")
    witnesses = witness or []
    k = len(witnesses) if policy is None else policy
    if k > len(witnesses):
        raise typer.BadParameter(f"{k} needs at least {k} --witness keys", param_hint="--policy")
    try:
        required = WitnessRequirement.of(witnesses, k)
    except NoteError as e:
        raise typer.BadParameter(str(e), param_hint="--witness") from None
    limits = Limits(answer=timeout)
    with LogClient(base_url, client_id=client_id, client_secret=client_secret, limits=limits) as log:
        result = run_audit(log, state, pinned_key=key, reconcile=bool(client_id), at=datetime.now(UTC),
                           pdfs="all" if pdfs == "all" else "new", max_entries=max_entries, witnesses=required)
        staff = _staff_summary(log) if client_id and result.failure is None else []
    for line in result.lines:
        typer.echo(line)
    for line in staff:
        typer.echo(line)
    if result.failure is not None:
        typer.echo(f"AUDIT FAILED: {result.failure}", err=True)
        raise typer.Exit(1)
    if result.unchecked is not None:
        typer.echo(f"AUDIT INCOMPLETE: could not check: {result.unchecked}", err=True)
        raise typer.Exit(3)


def _staff_summary(log: LogClient) -> list[str]:
    """The window's staff actions per member and per day (China time), for ``elicense audit``."""
    from .audit.check import AuditFailure, CouldNotCheck

    try:
        counts = log.staff_actions()
    except (AuditFailure, CouldNotCheck) as e:
        return [f"staff actions: not listed ({e})"]
    if not counts:
        return ["staff actions (last 31 days): none"]
    lines = ["staff actions (last 31 days, per staff member and day, China time):"]
    days: dict[tuple[str, str], list[str]] = {}
    for c in counts:
        days.setdefault((c["day"], f"{c['staff_id']} ({c['role']}, {c['division_code']})"), []).append(
            f"{c['action']} {c['count']}")
    for (day, who), actions in sorted(days.items()):
        lines.append(f"  {day}  {who}: {', '.join(actions)}")
    return lines


@app.command()
def reissue(
    all_: Annotated[bool, typer.Option("--all", help="every entity in good standing")] = False,
    since: Annotated[str | None, typer.Option(help="entities whose current license was issued on or after "
                                                   "this date (YYYY-MM-DD, China time)")] = None,
    uscc: Annotated[list[str] | None, typer.Option(help="this entity (repeat for more)")] = None,
    campaign: Annotated[str | None, typer.Option(help="the campaign id; run it again to resume it (default: "
                                                      "named by the selection and today's date, China time, "
                                                      "e.g. reissue-2026-12-01-all)")] = None,
    reason: Annotated[str, typer.Option(help="why (kept on the superseded versions)")] = "换发",
    workers: Annotated[int, typer.Option(min=0, help="queue workers run by this command (PostgreSQL); 0: "
                                                     "only queue the jobs for `elicense worker` elsewhere")] = 1,
) -> None:
    """Re-issue licenses (换发): a new version with the same registered items, the current keys and
    template. Resumable and idempotent per campaign. PostgreSQL: jobs on procrastinate's queue,
    run by WORKERS processes here and by `elicense worker` anywhere; SQLite: in this process."""
    from datetime import date

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .domain.china_time import china_date
    from .domain.errors import InputError
    from .domain.uscc import Uscc
    from .reissue import Campaign, default_campaign_id, plan_campaign, run_campaign

    if sum((all_, since is not None, bool(uscc))) != 1:
        typer.echo("choose exactly one of --all, --since DATE, --uscc USCC", err=True)
        raise typer.Exit(2)
    try:
        since_day = date.fromisoformat(since) if since else None
    except ValueError:
        typer.echo(f"--since: not a date (YYYY-MM-DD): {since}", err=True)
        raise typer.Exit(2) from None
    settings = _settings()
    bad = []
    for code in uscc or ():
        try:
            Uscc.parse(code, legacy_allow=settings.uscc_legacy_allowlist)
        except InputError as e:
            bad.append(f"--uscc {code}: {e.detail}")
    if bad:
        typer.echo("\n".join(bad), err=True)
        raise typer.Exit(2)
    runtime = _runtime(settings)
    now = _now()
    c = Campaign(campaign or default_campaign_id(day=china_date(now), since=since_day, usccs=uscc), now, reason)
    plan = plan_campaign(runtime, c, since=since_day, usccs=uscc)
    for code, why in plan.passed_over.items():
        typer.echo(f"{code}: not re-issued: {why}", err=True)
    if uscc and len(plan.passed_over) == len(set(uscc)):
        typer.echo("none of the named entities can be re-issued", err=True)
        raise typer.Exit(1)
    typer.echo(f"campaign {c.id}: {plan.total} entities, {plan.before.done} already done, {plan.todo} to re-issue")
    t0 = time.perf_counter()
    with Progress(TextColumn(f"[bold]{c.id}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("reissue", total=plan.total, completed=plan.before.done)
        after = run_campaign(runtime, plan, workers=workers, clock=_now,
                             report=lambda done: bar.update(task, completed=done))
    elapsed = time.perf_counter() - t0
    issued = after.issued - plan.before.issued
    typer.echo(f"issued {issued}, skipped {after.skipped}, failed {after.failed}, of {plan.total}; "
               f"{elapsed:.1f} s, {issued / elapsed if elapsed else 0:.1f} licenses/s")
    if after.done < plan.total and workers == 0:
        typer.echo(f"queued {plan.todo} jobs: `elicense worker` processes run them; run this command again with "
                   f"--campaign {c.id} to follow or resume it")
    elif after.done < plan.total:
        typer.echo(f"not finished: run `elicense reissue ... --campaign {c.id}` again to resume", err=True)
        raise typer.Exit(1)


@app.command()
def worker() -> None:
    """Run a re-issuance queue worker (PostgreSQL) until stopped: start one per core, on any machine
    that reaches the registry's database, keys and templates."""
    from .reissue import run_worker

    settings = _settings()
    if not settings.database_url.startswith("postgresql"):
        typer.echo("the job queue needs PostgreSQL (on SQLite `elicense reissue` runs the jobs itself)", err=True)
        raise typer.Exit(2)
    _runtime(settings)  # refuses an un-migrated schema with the command to run
    run_worker(settings.database_url, wait=True)


def main() -> None:
    app()

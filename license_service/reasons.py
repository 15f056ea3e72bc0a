"""Every reason code a verification report can carry, in one place: the check it belongs to, its
effect on the verdict, and what it means (English and Chinese). ``docs/reason-codes.md`` is printed
from this table (``python -m license_service.reasons > docs/reason-codes.md``) and a test keeps the two
equal, and keeps the table complete both ways (every code the sources can emit is here, and every
code here can be emitted or is marked reserved).

A report entry is built from a :class:`Reason` (``report.Check``), never from a bare string, so no
code outside this table reaches a report. Codes raised below the verifier (``signing.tokens``'
``InvalidToken.reason``, ``signing.lta_validation``'s reasons, ``signing.pdf_validation``'s revision
problems) are looked up here (``Reason(code)``, :func:`lta_reason`).

To add a code: one line in :class:`Reason`, in its check's group; then regenerate the document.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["CHECK_LABELS", "ENTITY_STATUS", "LICENSE_STATUS", "Effect", "Reason", "lta_reason", "markdown"]


class Effect(enum.StrEnum):
    """What a check's outcome does to the verdict (``report.verdict_of``). Only ``passed`` is
    ``ok: true`` in a report."""

    PASSED = "passed"  # the check holds
    NOT_IN_FORCE = "not_in_force"  # genuine, but no longer in force (superseded, revoked, cancelled)
    INVALID = "invalid"  # not ours, or altered
    INDETERMINATE = "indeterminate"  # cannot be decided


_P, _N, _X, _U = Effect.PASSED, Effect.NOT_IN_FORCE, Effect.INVALID, Effect.INDETERMINATE


class Reason(enum.StrEnum):
    """A reason code: the string is the code (``token.signature``); ``checks`` the report check(s)
    it appears on (the first unless the caller names another of them), ``effect`` its effect on the
    verdict, ``en`` and ``zh`` its meaning, ``reserved`` true for a code no report carries today
    (kept so that its meaning is never given to another)."""

    checks: tuple[str, ...]
    effect: Effect
    en: str
    zh: str
    reserved: bool

    def __new__(cls, code: str, check: str | tuple[str, ...], effect: Effect, en: str, zh: str,
                reserved: bool = False) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.checks = (check,) if isinstance(check, str) else check
        member.effect, member.en, member.zh, member.reserved = effect, en, zh, reserved
        return member

    @classmethod
    def of(cls, code: str) -> Reason:
        """The reason with this code (a code raised below the verifier); ``ValueError`` if the catalogue
        has none: a test keeps every code the sources raise in the catalogue."""
        try:
            return _BY_CODE[code]
        except KeyError:
            raise ValueError(f"reason code {code!r} is not in the catalogue (license_service/reasons.py)") from None

    @property
    def ok(self) -> bool:
        """The check passed (the report's ``ok``)."""
        return self.effect is Effect.PASSED

    # -- the QR token (signing.tokens) -----------------------------------------------------------
    KEY_KNOWN = ("key.known", "key_known", _P, "The token names a key the registration authority published.",
                 "二维码所用的签名密钥是登记机关公布的密钥。")
    TOKEN_UNKNOWN_KID = ("token.unknown_kid", "key_known", _X,
                         "The token names a key the registration authority never published.",
                         "二维码所称的签名密钥不是登记机关公布的密钥。")
    TOKEN_SIGNATURE_OK = ("token.signature_ok", "token_signature", _P,
                          "The token's signature is intact and verifies with that key.",
                          "二维码签名完整，用该密钥验证通过。")
    TOKEN_OVERSIZED = ("token.oversized", "token_signature", _X,
                       "The token is longer than any token issued (2,048 characters); it was refused unread.",
                       "二维码内容超过签发时的最大长度（2048 个字符），未经读取即被拒绝。")
    TOKEN_MALFORMED = ("token.malformed", "token_signature", _X,
                       "The token is not spelled as issued: three canonical base64url parts, a JSON header and "
                       "payload, a 64-byte low-S ES256 signature, no embedded or referenced keys.",
                       "二维码内容不符合签发格式：三段规范 base64url、JSON 头部与载荷、64 字节低 S 值 ES256 签名，"
                       "且不得内嵌或引用密钥。")
    TOKEN_ALG = ("token.alg", "token_signature", _X,
                 "The token's header names an algorithm other than ES256 (none, HS256...): refused before any "
                 "key is used.",
                 "二维码头部声明的算法不是 ES256（如 none、HS256），在使用任何密钥之前即被拒绝。")
    TOKEN_TYP = ("token.typ", "token_signature", _X,
                 "The token is another kind of signed object (its typ is not JWT).",
                 "二维码是另一类签名对象（typ 不是 JWT）。")
    TOKEN_SIGNATURE = ("token.signature", "token_signature", _X,
                       "The signature does not verify: the token was altered, or not signed with that key.",
                       "签名验证未通过：二维码内容被改动，或并非用该密钥签名。")
    TOKEN_KEY_COMPROMISED = ("token.key_compromised", "token_signature", _X,
                             "The token claims to be signed at or after the time its key was declared compromised.",
                             "二维码声称的签发时间不早于其签名密钥被宣布泄露的时间。")
    TOKEN_KEY_RETIRED = ("token.key_retired", "token_signature", _X,
                         "The token claims to be signed after its key was retired by rotation.",
                         "二维码声称的签发时间晚于其签名密钥因轮换停用的时间。")
    TOKEN_EXPIRED = ("token.expired", "token_signature", _X,
                     "The token carries an expiry time (exp) that has passed.",
                     "二维码载明的失效时间（exp）已过。")
    TOKEN_NOT_YET_VALID = ("token.not_yet_valid", "token_signature", _X,
                           "The token carries a not-before time (nbf) that has not come.",
                           "二维码载明的生效时间（nbf）未到。")
    TOKEN_LIFETIME = ("token.lifetime", "token_signature", _X,
                      "A short-lived token's lifetime is missing or too long. Raised for API access tokens only; "
                      "license tokens are not held to it.",
                      "短期令牌的有效期缺失或过长。仅用于接口访问令牌，不适用于执照二维码。", True)
    TOKEN_ISSUED_IN_FUTURE = ("token.issued_in_future", "token_signature", _X,
                              "A short-lived token claims to be issued later than now. Raised for API access "
                              "tokens only; license tokens are not held to it.",
                              "短期令牌声称的签发时间晚于当前时间。仅用于接口访问令牌，不适用于执照二维码。", True)

    # -- the token's claims against the registry ---------------------------------------------------
    CLAIMS_MATCH_REGISTRY = ("claims.match_registry", "claims", _P,
                             "Every claim agrees with the license version the registry holds, and the token is "
                             "the very string issued.",
                             "二维码的各项内容与登记簿中该版本执照一致，且与签发的二维码逐字相同。")
    CLAIMS_MALFORMED = ("claims.malformed", "claims", _X,
                        "A required claim is missing or of the wrong type (the detail names which).",
                        "二维码缺少必需的内容项，或其类型不符（详情列出具体项）。")
    CLAIMS_REGISTRY_MISMATCH = ("claims.registry_mismatch", "claims", _X,
                                "The token verifies with our key but disagrees with the registry's record of that "
                                "license version (the detail names what differs).",
                                "二维码签名有效，但其内容与登记簿中该版本执照的记录不一致（详情列出不同之处）。")

    # -- the registry's status of the license version, or of the entity -----------------------------
    REGISTRY_CURRENT = ("registry.current", "registry_status", _P,
                        "The registry holds this license version and it is in force.",
                        "登记簿中有该版本执照，且现行有效。")
    REGISTRY_SUPERSEDED = ("registry.superseded", "registry_status", _N,
                           "Genuine, but replaced by a newer version (变更, 换发 or 补发): the detail says when "
                           "and by which version.",
                           "执照真实，但已被新版本替代（变更、换发或补发）；详情载明替代时间和新版本。")
    REGISTRY_REVOKED = ("registry.revoked", "registry_status", _N,
                        "Genuine, but revoked (吊销): the detail says when.",
                        "执照真实，但已被吊销；详情载明吊销时间。")
    REGISTRY_CANCELLED = ("registry.cancelled", "registry_status", _N,
                          "Genuine, but the entity was deregistered (注销): the detail says when.",
                          "执照真实，但该主体已注销；详情载明注销时间。")
    REGISTRY_UNKNOWN_LICENSE = ("registry.unknown_license", "registry_status", _U,
                                "The token verifies with our key, but the registry holds no such license version.",
                                "二维码签名有效，但登记簿中没有该版本执照。")
    ENTITY_ACTIVE = ("entity.active", "registry_status", _P,
                     "The entity is registered and active (存续).",
                     "该主体已登记，处于存续状态。")
    ENTITY_REVOKED = ("entity.revoked", "registry_status", _N,
                      "The entity is registered, but its license was revoked (吊销).",
                      "该主体已登记，但其营业执照已被吊销。")
    ENTITY_CANCELLED = ("entity.cancelled", "registry_status", _N,
                        "The entity was deregistered (注销).",
                        "该主体已注销。")
    ENTITY_UNKNOWN = ("entity.unknown", "registry_status", _X,
                      "No entity is registered with this unified social credit code.",
                      "没有以该统一社会信用代码登记的主体。")

    # -- the name asked about ---------------------------------------------------------------------------
    ENTITY_NAME_MATCHES = ("entity.name_matches", "name", _P,
                           "The name given is the entity's registered name.",
                           "所提供的名称与该主体的登记名称一致。")
    ENTITY_FORMER_NAME = ("entity.former_name", "name", _N,
                          "The name given was the entity's name once (曾用名), but no longer is: the detail says "
                          "until when, and its name now.",
                          "所提供的名称是该主体的曾用名，现已不再使用；详情载明使用至何时及现用名称。")
    ENTITY_NAME_MISMATCH = ("entity.name_mismatch", "name", _X,
                            "The name given is not the entity's name, now or before.",
                            "所提供的名称既不是该主体的现用名称，也不是其曾用名。")

    # -- the PDF (signing.pdf_validation, pyHanko's model) -----------------------------------------------
    PDF_INTACT = ("pdf.intact", "pdf_integrity", _P,
                  "The signed bytes are intact and the signature verifies.",
                  "签名所覆盖的内容完整，签名验证通过。")
    PDF_NOT_INTACT = ("pdf.not_intact", "pdf_integrity", _X,
                      "The signed bytes were changed, or the signature does not verify.",
                      "签名所覆盖的内容已被改动，或签名验证未通过。")
    PDF_MALFORMED = ("pdf.malformed", "pdf_integrity", _X,
                     "The file cannot be read as a signed PDF (the detail says why).",
                     "无法作为带签名的 PDF 文件读取（详情说明原因）。")
    PDF_TRUSTED = ("pdf.trusted", "trust_chain", _P,
                   "The signer's certificate chains to the published root.",
                   "签名证书可追溯至登记机关公布的根证书。")
    PDF_UNTRUSTED = ("pdf.untrusted", "trust_chain", _X,
                     "The signer's certificate does not chain to the published root.",
                     "签名证书无法追溯至登记机关公布的根证书。")
    PDF_ENTIRE_FILE = ("pdf.entire_file", "coverage", _P,
                       "The signature covers the whole file (a long-term form: its issued revision, then only "
                       "long-term validation updates).",
                       "签名覆盖整个文件（长期验证版本：签发时的版本，其后仅有长期验证数据的更新）。")
    PDF_PARTIAL_COVERAGE = ("pdf.partial_coverage", "coverage", _X,
                            "The signature does not cover the whole file.",
                            "签名未覆盖整个文件。")
    PDF_TRAILING_BYTES = ("pdf.trailing_bytes", ("coverage", "long_term"), _X,
                          "Bytes follow the last revision's end (%%EOF): they are part of no signed revision.",
                          "文件最后一个版本的结束标记（%%EOF）之后还有内容，不属于任何已签名的版本。")
    PDF_UNMODIFIED = ("pdf.unmodified", "modification", _P,
                      "Nothing was changed after signing but long-term validation updates (DSS, document "
                      "timestamps).",
                      "签名后除长期验证数据（DSS、文档时间戳）外未作任何修改。")
    PDF_MODIFIED = ("pdf.modified", "modification", _X,
                    "The file was changed after signing (the detail says how).",
                    "签名后文件被修改（详情说明修改之处）。")
    PDF_TIMESTAMP_OK = ("pdf.timestamp_ok", "timestamp", _P,
                        "The signature carries a trusted timestamp.",
                        "签名带有可信时间戳。")
    PDF_TIMESTAMP_MISSING_OR_UNTRUSTED = ("pdf.timestamp_missing_or_untrusted", "timestamp", _X,
                                          "The signature carries no timestamp, or one that is not trusted.",
                                          "签名没有时间戳，或时间戳不可信。")
    PDF_SIGNER_NOT_REVOKED = ("pdf.signer_not_revoked", "signer_status", _P,
                              "The signer's certificate was not revoked for key compromise before it signed.",
                              "签名证书在签名之前未因密钥泄露被吊销。")
    PDF_SIGNER_COMPROMISED = ("pdf.signer_compromised", "signer_status", _X,
                              "The file was sealed after the signer's certificate was revoked for key compromise.",
                              "文件是在签名证书因密钥泄露被吊销之后签署的。")
    PDF_LONG_TERM_OK = ("pdf.long_term_ok", "long_term", _P,
                        "The long-term form's document timestamps and validation data prove the signature.",
                        "长期验证版本的文档时间戳和验证数据足以证明签名有效。")
    PDF_LTA_NO_SIGNATURE = ("pdf.lta.no_signature", "long_term", _X,
                            "The long-term form has no certification signature before its document timestamps.",
                            "长期验证版本在文档时间戳之前没有认证签名。")
    PDF_LTA_NO_DOCUMENT_TIMESTAMP = ("pdf.lta.no_document_timestamp", "long_term", _X,
                                     "The long-term form carries no document timestamp.",
                                     "长期验证版本没有文档时间戳。")
    PDF_LTA_TIMESTAMP_INVALID = ("pdf.lta.timestamp_invalid", "long_term", _X,
                                 "A document timestamp is not intact, not trusted at the time the next one proves, "
                                 "or does not cover the file.",
                                 "某个文档时间戳不完整、在后一时间戳证明的时间不可信，或未覆盖整个文件。")
    PDF_LTA_NO_VALIDATION_DATA = ("pdf.lta.no_validation_data", "long_term", _X,
                                  "The long-term form carries no validation data (no DSS).",
                                  "长期验证版本没有验证数据（无 DSS）。")
    PDF_LTA_UNREADABLE = ("pdf.lta.unreadable", "long_term", _X,
                          "The long-term form's signatures or validation data cannot be read.",
                          "无法读取长期验证版本的签名或验证数据。")
    PDF_LTA_SIGNATURE_INVALID_AT_PROVEN_TIME = ("pdf.lta.signature_invalid_at_proven_time", "long_term", _X,
                                                "The signature does not hold at the time the document timestamps "
                                                "prove, with the validation data the file carries.",
                                                "依文件所载验证数据，签名在文档时间戳所证明的时间并不有效。")
    PDF_INFO_CHANGED = ("pdf.info_changed", "long_term", _X,
                        "A revision after the seal changes the document information dictionary.",
                        "签章之后的某个版本修改了文档信息字典。")
    PDF_METADATA_CHANGED = ("pdf.metadata_changed", "long_term", _X,
                            "A revision after the seal changes the XMP metadata.",
                            "签章之后的某个版本修改了 XMP 元数据。")
    PDF_TRAILER_CHANGED = ("pdf.trailer_changed", "long_term", _X,
                           "A revision after the seal names another catalog or adds encryption.",
                           "签章之后的某个版本指向了另一个目录对象，或增加了加密。")

    # -- the PDF against its token and the registry ---------------------------------------------------
    PDF_TOKEN_MISSING = ("pdf.token_missing", "agreement", _X,
                         "The PDF carries no license token in its signed revision.",
                         "PDF 已签名的版本中没有执照二维码内容。")
    PDF_MATCHES_REGISTRY = ("pdf.matches_registry", "agreement", _P,
                            "The file is, byte for byte, the document issued for this license (a long-term form: "
                            "its issued revision is).",
                            "该文件与为该执照签发的文件逐字节相同（长期验证版本：其签发时的版本相同）。")
    PDF_REGISTRY_MISMATCH = ("pdf.registry_mismatch", "agreement", _X,
                             "The file is not the document issued for the license its token names.",
                             "该文件不是为其二维码所指执照签发的文件。")

    # -- the issuance log (verify_app/evidence.py): the verdict rests on the license's leaf ----------------
    LOG_INCLUDED = ("log.included", "log_inclusion", _P,
                    "The license's leaf names it (id, version, record and PDF digests) and is proven in a checkpoint "
                    "that meets the witness policy.",
                    "该执照的日志条目与其相符（编号、版本、登记记录与 PDF 摘要），且已被满足见证策略的检查点证明收录。")
    LOG_PENDING_GRACE = ("log.pending_grace", "log_inclusion", _P,
                         "Proven only in the log's own newer checkpoint, not yet cosigned, within the grace period "
                         "the operator configured.",
                         "仅被日志自身较新的检查点证明收录，尚未获见证人联署，但在运营方设定的宽限期内。")
    LOG_PENDING = ("log.pending", "log_inclusion", _U,
                   "Proven only in the log's own newer checkpoint, not yet cosigned by enough witnesses: ask again "
                   "shortly.",
                   "仅被日志自身较新的检查点证明收录，尚未获足够见证人联署，请稍后再查。")
    LOG_CHECKPOINT_UNVERIFIED = ("log.checkpoint_unverified", "log_inclusion", _U,
                                 "The published checkpoint's signatures do not verify, or it has fewer cosignatures "
                                 "than the policy requires.",
                                 "公布的检查点签名验证未通过，或联署数少于见证策略的要求。")
    LOG_NO_LEAF = ("log.no_leaf", "log_inclusion", _X,
                   "The issuance log holds no leaf for this license: it was never recorded.",
                   "签发日志中没有该执照的条目：该执照从未被记录。")
    LOG_BEYOND_LOG = ("log.beyond_log", "log_inclusion", _X,
                      "The license's leaf index lies beyond the log (a truncated log).",
                      "该执照的日志序号超出日志范围（日志被截断）。")
    LOG_LEAF_OTHER_LICENSE = ("log.leaf_other_license", "log_inclusion", _X,
                              "The leaf at the license's index records another license (id or version).",
                              "该序号处的日志条目记录的是另一份执照（编号或版本不同）。")
    LOG_LEAF_DIGEST_MISMATCH = ("log.leaf_digest_mismatch", "log_inclusion", _X,
                                "The leaf records another record digest or PDF digest than the registry holds.",
                                "日志条目记录的登记记录摘要或 PDF 摘要与登记簿不同。")
    LOG_LEAF_MALFORMED = ("log.leaf_malformed", "log_inclusion", _X,
                          "The leaf at the license's index is not a JSON object.",
                          "该序号处的日志条目不是 JSON 对象。")
    LOG_INCLUSION_FAILED = ("log.inclusion_failed", "log_inclusion", _X,
                            "The stored tree does not prove the leaf is in the checkpoint.",
                            "存储的日志树不能证明该条目被检查点收录。")

    # -- a presented code (亮照, license_service.holders.presentations) --------------------------------
    PRESENTATION_OK = ("presentation.ok", "presentation", _P,
                       "A holder of the license showed this code, and this is its one scan, within its two minutes.",
                       "持照人出示的亮照二维码，此为其唯一一次扫描，且在两分钟有效期内。")
    PRESENTATION_UNKNOWN = ("presentation.unknown", "presentation", _X,
                            "No holder showed a code with this handle.", "没有持照人出示过这个二维码。")
    PRESENTATION_REDEEMED = ("presentation.redeemed", "presentation", _X,
                             "The code was already scanned: a presented code is good for one scan.",
                             "该二维码已被扫描过：亮照二维码只能使用一次。")
    PRESENTATION_EXPIRED = ("presentation.expired", "presentation", _X,
                            "The code's two minutes are over: the holder refreshes it.",
                            "该二维码已超过两分钟有效期，请出示人刷新。")
    PRESENTATION_HOLDER_REVOKED = ("presentation.holder_revoked", "presentation", _X,
                                   "The person who showed it no longer holds the license: their grant was revoked.",
                                   "出示人的持照授权已被撤销。")
    PRESENTATION_HOLDER_SUSPENDED = ("presentation.holder_suspended", "presentation", _X,
                                     "The person who showed it is suspended: the legal representative changed and "
                                     "the new one has not confirmed them.",
                                     "出示人的持照授权已暂停：法定代表人已变更，新任尚未确认。")
    PRESENTATION_HOLDER_EXPIRED = ("presentation.holder_expired", "presentation", _X,
                                   "The grant of the person who showed it has ended.", "出示人的授权已到期。")
    PRESENTATION_HOLDER_NOT_YET = ("presentation.holder_not_yet", "presentation", _X,
                                   "The grant of the person who showed it has not begun.", "出示人的授权尚未生效。")
    PRESENTATION_HOLDER_ENDED = ("presentation.holder_ended", "presentation", _X,
                                 "The person who showed it no longer holds the license: the entity was deregistered "
                                 "or revoked, or another legal representative replaced them.",
                                 "出示人已不再持有该执照：主体已注销或被吊销，或已由新任法定代表人取代。")
    PRESENTATION_LICENSE_NOT_IN_FORCE = ("presentation.license_not_in_force", "presentation", _X,
                                         "The license shown is not in force: a presentation vouches for nothing "
                                         "then.",
                                         "所出示的执照不在有效状态，亮照不予认可。")


_BY_CODE: dict[str, Reason] = {r.value: r for r in Reason}

#: the registry_status check's code for each license status (``LicenseStatus``)
LICENSE_STATUS: Mapping[str, Reason] = MappingProxyType({
    "current": Reason.REGISTRY_CURRENT, "superseded": Reason.REGISTRY_SUPERSEDED,
    "revoked": Reason.REGISTRY_REVOKED, "cancelled": Reason.REGISTRY_CANCELLED})
#: the registry_status check's code for each entity status (``EntityStatus``)
ENTITY_STATUS: Mapping[str, Reason] = MappingProxyType({
    "active": Reason.ENTITY_ACTIVE, "revoked": Reason.ENTITY_REVOKED, "cancelled": Reason.ENTITY_CANCELLED})


#: each check's name for people, (Chinese, English): the public page, the console and any other page say
#: the same (a test keeps a label here for every check the catalogue names)
CHECK_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "key_known": ("签名密钥为登记机关公布的密钥", "Signed with a key the authority published"),
    "token_signature": ("二维码签名完整", "QR code signature intact"),
    "claims": ("二维码内容与登记信息一致", "QR code agrees with the registry"),
    "registry_status": ("登记簿中的状态", "Status in the registry"),
    "pdf_integrity": ("文件未被篡改", "File not tampered with"),
    "trust_chain": ("签名证书可信", "Signing certificate trusted"),
    "coverage": ("签名覆盖整个文件", "Signature covers the whole file"),
    "modification": ("签名后未被修改", "Not modified after signing"),
    "timestamp": ("可信时间戳", "Trusted timestamp"),
    "signer_status": ("签名证书未被吊销", "Signing certificate not revoked"),
    "long_term": ("长期验证数据", "Long-term validation data"),
    "agreement": ("文件与登记簿一致", "File agrees with the registry"),
    "name": ("名称一致", "Name matches"),
    "presentation": ("亮照二维码有效（一次、两分钟内）", "Presented code good (once, within two minutes)"),
    "log_inclusion": ("已记入公开的签发日志", "Recorded in the public issuance log"),
})

def lta_reason(reason: str | None) -> Reason:
    """The long_term check's code for ``signing.lta_validation``'s reason: ``lta.ok`` is
    ``pdf.long_term_ok``; a revision problem (``pdf.*``) is itself; any other ``lta.x`` is
    ``pdf.lta.x``. Raises ``ValueError`` for a reason not in the catalogue."""
    if reason == "lta.ok":
        return Reason.PDF_LONG_TERM_OK
    return Reason.of(reason if reason and reason.startswith("pdf.") else f"pdf.{reason}")


_EFFECTS = {
    Effect.PASSED: "passed: the check holds",
    Effect.NOT_IN_FORCE: "not_in_force: genuine, but no longer in force",
    Effect.INVALID: "invalid: not ours, or altered",
    Effect.INDETERMINATE: "indeterminate: cannot be decided",
}


def markdown() -> str:
    """``docs/reason-codes.md``: every code, grouped by check, with its effect and meaning."""
    out = [
        "# Verification reason codes",
        "",
        "<!-- generated by `python -m license_service.reasons > docs/reason-codes.md`; do not edit by hand "
        "(a test keeps it equal to license_service/reasons.py) -->",
        "",
        "Every check in a verification REPORT is `{\"name\", \"ok\", \"reason\", \"detail\"}`. `reason` is one "
        "of the stable codes below; `ok` is true only when the check passed; `detail` is a sentence for people "
        "(what was found: dates, versions, expected and found values) and may change wording at any time: "
        "program against `reason`, never `detail`.",
        "",
        "Each code's effect decides the verdict (`verify_app/report.py`, `verdict_of`): any `invalid` check "
        "makes the verdict `invalid`; else any `indeterminate` check (or no registry status) makes it "
        "`indeterminate`; else any `not_in_force` check, or a registry status other than `current`, makes it "
        "`not_in_force`; else it is `valid`.",
        "",
        "Effects: " + "; ".join(f"`{text.split(':')[0]}` ({text.split(': ')[1]})" for text in _EFFECTS.values())
        + ".",
        "",
        "Codes marked *reserved* are raised by shared code for other purposes and never appear in a report; "
        "their meaning is not given to another code.",
        "",
    ]
    checks: dict[str, list[Reason]] = {}
    for reason in Reason:
        for check in reason.checks:
            checks.setdefault(check, []).append(reason)
    for check, reasons in checks.items():
        out += [f"## `{check}`", "", "| reason | ok | effect | meaning | 含义 |", "|---|---|---|---|---|"]
        for r in reasons:
            code = f"`{r.value}`" + (" (*reserved*)" if r.reserved else "")
            out.append(f"| {code} | {str(r.ok).lower()} | {r.effect.value} | {r.en} | {r.zh} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(markdown())

"""The public page behind the QR code: one glance tells genuine-and-in-force, genuine-but-not-in-force
or not genuine. Chinese by default, English on request (``?lang=en``). Shows only what the public
credit system shows; every value goes through Jinja's autoescaping."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from license_service.domain.china_time import CHINA
from license_service.domain.entity import EntityDetails
from license_service.domain.numerals import format_date
from license_service.printed import printed_lines
from license_service.reasons import CHECK_LABELS, Reason

from .report import Check, VerificationReport

__all__ = ["PageRenderer"]

_EN_LABELS = {
    "名称": "Name", "类型": "Type", "法定代表人": "Legal representative", "负责人": "Person in charge",
    "执行事务合伙人": "Managing partner", "投资人": "Investor", "经营者": "Operator", "组成形式": "Form of operation",
    "经营范围": "Business scope", "注册资本": "Registered capital", "成员出资总额": "Total member contributions",
    "成立日期": "Established on", "注册日期": "Registered on", "营业期限": "Business term",
    "合伙期限": "Partnership term",
    "住所": "Domicile", "营业场所": "Business premises", "主要经营场所": "Principal place of business",
    "经营场所": "Place of business",
}

TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "html_lang": "zh-CN", "other_lang": "en", "other_html_lang": "en", "switch": "English",
        "title": "电子营业执照核验", "registered_items": "登记事项", "this_license": "本执照",
        "uscc": "统一社会信用代码",
        "authority": "登记机关", "serial": "证照编号", "version": "版本", "registered_on": "登记日期",
        "issued_at": "签发时间", "beijing_time": "（北京时间 UTC+8）",
        "status": "状态", "how": "核验项目", "checked_at": "核验时间：",
        "see_current": "查看现行有效的执照 →", "see_latest": "查看该主体的最新执照 →",
        "statuses": {"current": "现行有效", "superseded": "已被替代", "revoked": "已吊销", "cancelled": "已注销"},
        "entity_status": "主体登记状态",
        "entity_statuses": {"active": "存续", "revoked": "吊销", "cancelled": "注销"},
        "historical": "以下为本版执照的登记事项（历史）；与现行登记不同之处注明现值。", "now": "现为：",
        # a check's outcome, by its effect on the verdict (license_service/reasons.py): a license no longer in
        # force is genuine, so its failed status check is not worded as a forgery is
        "colon": "：",
        "outcomes": {"passed": ("✓", "通过"), "not_in_force": ("!", "真实，但已失效"),
                     "invalid": ("✕", "未通过"), "indeterminate": ("?", "无法确认")},
        "checks": {name: zh for name, (zh, _) in CHECK_LABELS.items()},
        "valid": ("✓", "真实有效", "本执照由登记机关签发，现行有效。"),
        "superseded": ("!", "真实，但已被新版替代", "本执照已于 {on} 被第 {n} 版执照替代，本页登记事项为历史记录。"),
        "revoked": ("!", "真实，但已吊销", "本执照已于 {on} 被吊销。"),
        "cancelled": ("!", "真实，但已注销", "该主体已于 {on} 注销。"),
        "reason": "原因：",
        "invalid": ("✕", "不是真实有效的执照", "该二维码或文件不是登记机关签发的电子营业执照，或已被篡改。请勿信任。"),
        "indeterminate": ("?", "暂时无法判断", "无法确认该执照的真伪或状态，请稍后再试或联系登记机关。"),
        "live": "现场亮照", "presented_by": "出示人", "presented_at": "出示时间",
        "live_note": "此二维码只能扫描一次，两分钟内有效。",
        "presentation_failed": ("✕", "亮照二维码无效", "请出示人刷新二维码后重新扫描。"),
    },
    "en": {
        "html_lang": "en", "other_lang": "zh", "other_html_lang": "zh-CN", "switch": "中文",
        "title": "Electronic business license check", "registered_items": "Registered items",
        "this_license": "This license", "uscc": "Unified social credit code", "authority": "Registration authority",
        "serial": "License serial", "version": "Version", "registered_on": "Registered on", "issued_at": "Issued at",
        "beijing_time": " (Beijing time, UTC+8)",
        "status": "Status", "how": "What was checked", "checked_at": "Checked at",
        "see_current": "See the license in force →", "see_latest": "See the entity's latest license →",
        "statuses": {"current": "in force", "superseded": "superseded", "revoked": "revoked", "cancelled": "cancelled"},
        "entity_status": "Registration status of the entity",
        "entity_statuses": {"active": "active (存续)", "revoked": "license revoked (吊销)",
                            "cancelled": "deregistered (注销)"},
        "historical": "The registered items of this version (historical); where they have changed, the current "
                      "value is noted.", "now": "now: ",
        "colon": ": ",
        "outcomes": {"passed": ("✓", "passed"), "not_in_force": ("!", "genuine, but not in force"),
                     "invalid": ("✕", "failed"), "indeterminate": ("?", "could not be decided")},
        "checks": {name: en for name, (_, en) in CHECK_LABELS.items()},
        "valid": ("✓", "Genuine and in force", "Issued by the registration authority and in force."),
        "superseded": ("!", "Genuine, but replaced by a newer version",
                       "Superseded on {on} by version {n}; the items below are historical."),
        "revoked": ("!", "Genuine, but revoked", "Revoked on {on}."),
        "cancelled": ("!", "Genuine, but cancelled", "The entity was deregistered on {on}."),
        "reason": " Reason: ",
        "invalid": ("✕", "Not a genuine license", "This code or file was not issued by the registration authority, "
                    "or it was altered. Do not rely on it."),
        "indeterminate": ("?", "Cannot be decided now", "The license could not be checked; try again later or ask "
                          "the registration authority."),
        "live": "Live presentation", "presented_by": "Shown by", "presented_at": "Shown at",
        "live_note": "This code can be scanned once, within two minutes.",
        "presentation_failed": ("✕", "This presented code is no good", "Ask the person to refresh the code and "
                                                                       "scan again."),
    },
}


def _local_date(iso: str) -> str:
    """An ISO date (``2019-01-02``) or instant -> ``2019年01月02日`` (Beijing date), as the license prints dates."""
    if len(iso) == 10:
        return format_date(date.fromisoformat(iso))
    return format_date(datetime.fromisoformat(iso).astimezone(CHINA).date())


def _local_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


class PageRenderer:
    def __init__(self, templates_dir: Path) -> None:
        self._env = Environment(loader=FileSystemLoader(templates_dir / "verify"),
                                autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self._env.filters["local_date"] = _local_date
        self._env.filters["local_time"] = _local_time
        self._templates_dir = templates_dir

    def render_audit(self, **context: Any) -> str:
        return self._env.get_template("audit.html").render(**context)

    def render(self, report: VerificationReport, lang: str) -> str:
        t = TEXT["en" if lang == "en" else "zh"]
        data = report.as_json()
        lic = data["license"]
        verdict = data["verdict"]
        key = verdict if verdict != "not_in_force" else (lic["status"] if lic else "indeterminate")
        mark, headline, explain = t[key]
        refused = next((c for c in data["checks"] if c["name"] == "presentation" and not c["ok"]), None)
        if refused is not None:  # a presented code that is used up, expired, or shown by someone who no longer may
            key = "presentation_failed"
            mark, headline, explain = t[key]
            meaning = Reason.of(refused["reason"])
            explain = meaning.en if lang == "en" else meaning.zh
        live = None
        if data.get("presentation") and refused is None:
            who = data["presentation"]
            live = {"role": who["role_label"]["en" if lang == "en" else "zh"], "name": who["name"],
                    "at": _local_time(who["presented_at"]) + t["beijing_time"]}
        current_url = current_label = None
        reason = None
        rows: list[tuple[str, str | None, str | None]] = []  # label, this version's value, the current one
        if lic:
            on = _local_date(lic["status_changed_at"]) if lic["status_changed_at"] else "—"
            successor = lic["successor"] or {}
            explain = explain.format(on=on, n=successor.get("version", "?"))
            if key in ("revoked", "cancelled"):  # the reason, entered by a person, goes in a <bdi> of its own
                reason = lic["status_reason"] or "—"
            current = lic["current"]
            if current:
                current_url = current["verify_url"] + ("?lang=en" if lang == "en" else "")  # stay in the language
                # never call a void license 现行有效: the link names the latest version for what it is
                current_label = t["see_current"] if current["status"] == "current" else t["see_latest"]
            rows = self._rows(lic, current, lang)
        return self._env.get_template("license.html").render(
            t=t, verdict=verdict, status=key, banner={"mark": mark, "headline": headline, "explain": explain,
                                                      "reason": reason},
            lic=lic, rows=rows, checks=[self._check(c, t) for c in report.checks], checked_at=data["checked_at"],
            current_url=current_url, current_label=current_label, live=live,
            entity_status=t["entity_statuses"].get(lic["entity_status"]) if lic else None)

    def _rows(self, lic: dict[str, Any], current: dict[str, Any] | None,
              lang: str) -> list[tuple[str, str | None, str | None]]:
        """Each printed line of this version, as the license prints it, with the current version's value
        where that differs (a superseded version's items are history)."""
        lines = self._printed(lic)
        now = dict(self._printed({**lic, **current["items"]})) if current else {}
        return [(label if lang != "en" else _EN_LABELS.get(label, label), value,
                 now.get(label) if current and now.get(label) != value else None) for label, value in lines]

    def _printed(self, items: dict[str, Any]) -> list[tuple[str, str | None]]:
        left, right = printed_lines(EntityDetails.from_record(items), self._templates_dir / "license")
        return [(line.label, line.value) for line in left + right if line.value]

    @staticmethod
    def _check(check: Check, t: dict[str, Any]) -> dict[str, Any]:
        """A check in words: its name, and its outcome by the effect of its reason, in the page's language
        (the codes are in the JSON)."""
        mark, outcome = t["outcomes"][check.effect.value]
        return {"effect": check.effect.value, "mark": mark, "label": t["checks"].get(check.name, check.name),
                "outcome": outcome}

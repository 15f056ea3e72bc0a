"""The login pages' words (Chinese first) and the refusals a person may meet there."""

from __future__ import annotations

from typing import Any

__all__ = ["LOGIN_MESSAGES", "LOGIN_TEXT"]

LOGIN_TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "login_title": "用电子营业执照登录", "scan_title": "用手机扫码登录",
        "login_lead": "平台请求以您所持执照的主体身份登录：",
        "scan_lead": "请用存有电子营业执照通行密钥的手机扫描二维码，或在手机上打开下方地址并输入登录码。",
        "number_label": "核对数字", "number_lead": "手机上会要求您输入此数字，请勿告诉他人。",
        "code_label": "登录码", "waiting": "等待手机确认……", "same_device": "在本设备上用通行密钥登录",
        "asks": "该平台将获得：", "asks_entity": "主体名称、统一社会信用代码和主体类型",
        "asks_role": "您的身份（法定代表人、执照管理员或经办人）及授权范围",
        "asks_name": "您的姓名（仅在您同意时）", "share_name": "同意向该平台提供我的姓名",
        "enter_number": "输入电脑上显示的两位数字", "approve": "用通行密钥确认登录", "deny": "拒绝",
        "approved": "已确认。请回到电脑继续。", "declined": "已拒绝本次登录。",
        "code_title": "输入登录码", "code_lead": "输入电脑上显示的登录码。", "go": "继续",
        "expired_now": "二维码已过期，请在平台上重新发起登录。", "logins": "登录记录",
        "login_ok": "已登录", "login_refused": "被拒绝",
    },
    "en": {
        "login_title": "Log in with the e-license", "scan_title": "Scan with your phone to log in",
        "login_lead": "This platform asks to log you in as the entity whose license you hold:",
        "scan_lead": "Scan the QR code with the phone that holds your e-license passkey, or open the address "
                     "below on the phone and type the login code.",
        "number_label": "Number to match", "number_lead": "Your phone will ask for this number. Tell it to nobody.",
        "code_label": "Login code", "waiting": "Waiting for your phone…",
        "same_device": "Log in with a passkey on this device",
        "asks": "The platform will receive:", "asks_entity": "the entity's name, USCC and kind",
        "asks_role": "your role (legal representative, administrator or handler) and your grant",
        "asks_name": "your name (only if you agree)", "share_name": "Share my name with this platform",
        "enter_number": "Type the two-digit number your computer shows", "approve": "Approve with my passkey",
        "deny": "Decline", "approved": "Approved. Go back to your computer.", "declined": "You declined this log-in.",
        "code_title": "Enter the login code", "code_lead": "Type the login code your computer shows.", "go": "Continue",
        "expired_now": "The QR code has expired: start again on the platform.", "logins": "Log-ins",
        "login_ok": "logged in", "login_refused": "refused",
    },
}

LOGIN_MESSAGES: dict[str, tuple[str, str]] = {
    "login.unknown": ("找不到该登录请求，请重新扫码。", "No such login request: scan the code again."),
    "login.expired": ("该登录请求已过期，请在平台上重新发起。",
                      "This login request has expired: start again on the platform."),
    "login.used": ("该登录请求已被使用。", "This login request was already used."),
    "login.denied": ("该登录请求已被拒绝。", "This login request was declined."),
    "login.refused": ("该登录请求已被拒绝。", "This login request was refused."),
    "login.pending": ("持照人尚未确认。", "The holder has not decided yet."),
    "login.wrong_number": ("数字不符，本次登录已取消。请在平台上重新发起。",
                           "The number did not match: this log-in is cancelled. Start again on the platform."),
    "holders.login_not_in_scope": ("您的授权不包括登录该平台。",
                                   "Your grant does not cover logging in to this platform."),
    "holders.login_suspended": ("您的持照身份已暂停。", "Your holding is suspended."),
    "holders.login_revoked": ("您的授权已被撤销。", "Your grant has been revoked."),
    "holders.login_expired": ("您的授权已过期。", "Your grant has expired."),
    "holders.login_ended": ("您的持照身份已终止。", "Your holding has ended."),
    "holders.login_entity_cancelled": ("该主体已注销。", "The entity is deregistered."),
    "holders.login_entity_revoked": ("该主体已被吊销营业执照。", "The entity's license is revoked."),
}

"""The holder's pages in words: Chinese first, English on request. Refusals by code, so a person reads
what happened and what to do, never a developer code alone."""

from __future__ import annotations

from typing import Any

__all__ = ["MESSAGES", "TEXT", "message"]

TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "html_lang": "zh-CN", "other_lang": "en", "other_html_lang": "en", "switch": "English",
        "site": "电子营业执照 · 持照人", "home": "我的执照", "show": "亮照", "grants": "授权管理",
        "passkeys": "通行密钥", "activity": "使用记录", "sign_out": "退出",
        "sign_in_title": "使用通行密钥登录",
        "sign_in_lead": "用您手机上的通行密钥（指纹、面容或锁屏密码）登录，无需密码。",
        "sign_in_button": "使用通行密钥登录", "no_passkey": "还没有通行密钥？请使用登记机关或授权人给您的邀请。",
        "enrol_title": "领取电子营业执照",
        "enrol_lead": "您受邀成为以下主体的持照人。确认信息无误后，在本手机上创建通行密钥。",
        "enrol_button": "创建通行密钥并领取", "enrol_code_title": "输入邀请码",
        "enrol_code_lead": "请输入主体的统一社会信用代码和您收到的邀请码。",
        "code": "邀请码", "continue": "继续", "entity": "主体名称", "uscc": "统一社会信用代码", "role": "身份",
        "person": "姓名", "scope": "授权范围", "valid_until": "有效期至", "valid_from": "生效时间",
        "invitation_expires": "邀请有效期至",
        "current_license": "现行执照", "history": "执照版本", "version": "第 {n} 版", "status": "状态",
        "download": "下载执照 PDF", "download_lt": "下载长期验证版 PDF（PAdES B-LTA）", "verify_link": "公开核验页",
        "statuses": {"current": "现行有效", "superseded": "已被替代", "revoked": "已吊销", "cancelled": "已注销"},
        "holder_statuses": {"active": "有效", "suspended": "已暂停", "revoked": "已撤销", "ended": "已终止",
                            "expired": "已过期", "not_yet": "未生效"},
        "you_are": "我的持照身份", "all_matters": "全部业务（全业务）", "this_version": "版本与证照编号",
        "show_title": "亮照", "show_lead": "请对方扫描下面的二维码。二维码 {s} 秒内有效，只能使用一次，截图无效。",
        "seconds_left": "剩余 {s} 秒", "expired_qr": "二维码已过期，请刷新。", "refresh": "刷新二维码",
        "show_url": "二维码内容",
        "grants_title": "授权管理", "grants_lead": "授权须有期限（最长一年），不能超出您自己的范围和期限。"
                                                 "撤销某人，其授出的授权同时失效。",
        "grants_list": "已授出的授权", "none_yet": "暂无。", "granted_by": "授权人", "actions": "操作",
        "revoke": "撤销", "confirm": "确认保留", "narrow": "缩小范围",
        "suspended_note": "法定代表人已变更：以下授权已暂停，请确认保留或撤销。",
        "new_grant": "新增授权", "grant_role": "授权身份", "administrator": "执照管理员（可再授权经办人，最多五人）",
        "handler": "经办人", "matters": "授权事项", "expires_on": "截止日期", "grant_button": "生成邀请",
        "reauth_note": "授权和撤销需要用通行密钥再次确认身份。",
        "invitation_made": "邀请已生成",
        "invitation_give": "请将下面的链接或二维码交给被授权人，由其在自己的手机上打开；也可以在 {url} 输入邀请码。"
                           "邀请只能使用一次。",
        "passkeys_title": "通行密钥", "passkeys_lead": "可在另一部手机上添加通行密钥；至少保留一个。",
        "add_passkey": "在本设备添加通行密钥", "remove": "删除", "created": "添加时间", "last_used": "最近使用",
        "activity_title": "使用记录", "verifications": "平台核验（谁查验了我的执照）", "presentations": "亮照记录",
        "platform": "平台", "time": "时间", "result": "结果", "channel": "方式", "redeemed": "已被扫描",
        "not_redeemed": "未被扫描", "by_public": "公众扫码", "presented_by": "出示人",
        "working": "请在手机上确认……", "failed": "操作未完成：", "back": "返回",
        "beijing_time": "（北京时间）",
        "message_title": "无法完成",
        "logins": "平台登录记录", "login_ok": "已登录", "login_refused": "被拒绝",
    },
    "en": {
        "html_lang": "en", "other_lang": "zh", "other_html_lang": "zh-CN", "switch": "中文",
        "site": "E-business license · Holder", "home": "My license", "show": "Show", "grants": "Grants",
        "passkeys": "Passkeys", "activity": "Activity", "sign_out": "Sign out",
        "sign_in_title": "Sign in with a passkey",
        "sign_in_lead": "Use the passkey on your phone (fingerprint, face or screen lock): no password.",
        "sign_in_button": "Sign in with a passkey",
        "no_passkey": "No passkey yet? Use the invitation the registration authority or your grantor gave you.",
        "enrol_title": "Receive the e-business license",
        "enrol_lead": "You are invited to hold the license of the entity below. Check the details, then create a "
                      "passkey on this phone.",
        "enrol_button": "Create a passkey and receive it", "enrol_code_title": "Enter an invitation code",
        "enrol_code_lead": "Enter the entity's unified social credit code and the code you were given.",
        "code": "Invitation code", "continue": "Continue", "entity": "Entity", "uscc": "Unified social credit code",
        "role": "Role", "person": "Name", "scope": "Scope", "valid_until": "Valid until", "valid_from": "Valid from",
        "invitation_expires": "Invitation valid until",
        "current_license": "License in force", "history": "Versions", "version": "Version {n}", "status": "Status",
        "download": "Download the license PDF", "download_lt": "Download the long-term PDF (PAdES B-LTA)",
        "verify_link": "Public check page",
        "statuses": {"current": "in force", "superseded": "superseded", "revoked": "revoked", "cancelled": "cancelled"},
        "holder_statuses": {"active": "active", "suspended": "suspended", "revoked": "revoked", "ended": "ended",
                            "expired": "expired", "not_yet": "not yet valid"},
        "you_are": "My holding", "all_matters": "All matters", "this_version": "Version and serial",
        "show_title": "Show the license",
        "show_lead": "Let the other party scan this code. It is valid for {s} seconds and once only; a screenshot "
                     "is worthless.",
        "seconds_left": "{s} s left", "expired_qr": "The code has expired: refresh it.", "refresh": "Refresh the code",
        "show_url": "What the code holds",
        "grants_title": "Grants", "grants_lead": "Every grant has an end date (a year at most) and stays within your "
                                                 "own scope and dates. Revoking someone voids what they granted.",
        "grants_list": "Grants made", "none_yet": "None yet.", "granted_by": "Granted by", "actions": "Actions",
        "revoke": "Revoke", "confirm": "Keep", "narrow": "Narrow",
        "suspended_note": "The legal representative has changed: the grants below are suspended. Keep or revoke "
                          "each.",
        "new_grant": "New grant", "grant_role": "Role", "administrator": "License administrator (names handlers; five "
                                                                         "at most)",
        "handler": "Handler", "matters": "Matters", "expires_on": "Ends on", "grant_button": "Make an invitation",
        "reauth_note": "Grants and revocations ask for your passkey again.",
        "invitation_made": "Invitation made",
        "invitation_give": "Give the link or code below to the person, who opens it on their own phone, or enters "
                           "the code at {url}. It can be used once.",
        "passkeys_title": "Passkeys", "passkeys_lead": "Add a passkey on another phone; keep at least one.",
        "add_passkey": "Add a passkey on this device", "remove": "Remove", "created": "Added", "last_used": "Last used",
        "activity_title": "Activity", "verifications": "Platform checks (who checked my license)",
        "presentations": "Presentations",
        "platform": "Platform", "time": "Time", "result": "Result", "channel": "How", "redeemed": "Scanned",
        "not_redeemed": "Not scanned", "by_public": "Public scan", "presented_by": "Presented by",
        "working": "Confirm on your phone…", "failed": "Not done: ", "back": "Back",
        "beijing_time": " (Beijing time)",
        "message_title": "Could not be done",
        "logins": "Log-ins to platforms", "login_ok": "logged in", "login_refused": "refused",
    },
}

#: refusals a person may meet on these pages, by code: (Chinese, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "holders.invitation_unknown": ("邀请不存在：请核对邀请码，或向登记机关申请新的邀请。",
                                   "No such invitation: check the code, or ask for a new one."),
    "holders.invitation_used": ("该邀请已被使用。请向登记机关或授权人申请新的邀请。",
                                "This invitation has been used. Ask for a new one."),
    "holders.invitation_expired": ("该邀请已过期。请向登记机关或授权人申请新的邀请。",
                                   "This invitation has expired. Ask for a new one."),
    "holders.invitation_other_entity": ("该邀请不是发给这个主体的。", "This invitation is for another entity."),
    "holders.entity_not_active": ("该主体已注销或被吊销，执照不再有持照人。",
                                  "The entity is deregistered or revoked: its license has no holders now."),
    "holders.name_not_registered": ("登记簿中该身份的姓名与邀请不符。",
                                    "The registry names another person for this role."),
    "holders.passkey_unknown": ("此通行密钥未在本系统登记。", "This passkey is not registered here."),
    "holders.passkey_other_holder": ("此通行密钥属于另一位持照人。", "This passkey belongs to another holder."),
    "holders.passkey_rejected": ("通行密钥验证未通过。", "The passkey check failed."),
    "holders.passkey_known": ("此通行密钥已登记。", "This passkey is already registered."),
    "holders.ceremony_expired": ("请求已过期，请重试。", "The request has expired: try again."),
    "holders.reauth_required": ("请先用通行密钥确认身份。", "Confirm with your passkey first."),
    "holders.handler_cannot_grant": ("经办人不能再授权。", "A handler cannot grant."),
    "holders.beyond_grantor_scope": ("授权范围不能超出您自己的范围。", "A grant cannot exceed your own scope."),
    "holders.beyond_grantor_expiry": ("授权期限不能超过您自己的期限。", "A grant cannot outlast your own."),
    "holders.too_many_administrators": ("执照管理员最多五人。", "An entity has at most five administrators."),
    "holders.too_long": ("授权最长一年。", "A grant lasts a year at most."),
    "holders.expiry_past": ("截止日期已过。", "The end date is past."),
    "holders.not_yours": ("您只能管理自己授出的授权。", "You may manage only grants you made."),
    "holders.last_passkey": ("至少保留一个通行密钥。", "Keep at least one passkey."),
    "holders.not_active": ("您的持照身份当前无效。", "Your holding is not active now."),
    "holders.signed_out": ("请先登录。", "Please sign in."),
    "holders.origin": ("请求来源不符。", "The request did not come from this site."),
}


def message(code: str, detail: str, lang: str) -> str:
    pair = MESSAGES.get(code)
    if pair is None:
        return detail
    return pair[1] if lang == "en" else pair[0]

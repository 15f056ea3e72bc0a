"""The console in words: Chinese first, English on request; refusals by code."""

from __future__ import annotations

from typing import Any

__all__ = ["MESSAGES", "TEXT", "message"]

TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "html_lang": "zh-CN", "other_lang": "en", "other_html_lang": "en", "switch": "English",
        "site": "电子营业执照 · 登记窗口", "search": "查询", "replacements": "补发审批", "verify": "核验",
        "activity": "工作记录", "sign_out": "退出",
        "sign_in_title": "工作人员登录", "sign_in_lead": "使用您的通行密钥登录。", "sign_in_button": "使用通行密钥登录",
        "enrol_title": "工作人员注册", "enrol_lead": "为以下账号创建通行密钥。注册链接只能使用一次。",
        "enrol_button": "创建通行密钥", "name": "姓名", "role": "角色", "division": "行政区划",
        "roles": {"clerk": "窗口办事员", "supervisor": "审核负责人", "auditor": "审计员"},
        "q": "统一社会信用代码（或其开头）或名称中的文字", "kind": "主体类型", "status": "状态", "any": "全部",
        "search_button": "查询", "next_page": "下一页", "no_results": "没有找到。", "results": "查询结果",
        "uscc": "统一社会信用代码", "entity_name": "名称",
        "kinds": {"company": "公司", "branch": "分公司", "partnership": "合伙企业",
                  "sole_proprietorship": "个人独资企业", "individual_business": "个体工商户",
                  "cooperative": "农民专业合作社"},
        "statuses": {"active": "存续", "revoked": "吊销", "cancelled": "注销", "current": "现行有效",
                     "superseded": "已被替代", "pending": "待审批", "approved": "已批准", "rejected": "已驳回",
                     "invited": "待注册", "disabled": "已停用"},
        "registered_items": "登记事项",
        "versions": "执照版本", "version": "版本", "serial": "证照编号", "issued_at": "签发时间",
        "superseded_by": "被替代为", "download": "下载", "download_lt": "长期验证版", "verify_report": "核验报告",
        "checks": "平台核验记录", "platform": "平台", "time": "时间", "result": "结果",
        "print": "打印纸质执照", "form": "版式", "forms": {"original": "正本（A3 横向）", "duplicate": "副本（A4）"},
        "copies": "份数（副本）", "test_print": "试打（画出版框以便对位，不编号）", "offset_x": "水平偏移（毫米）",
        "offset_y": "垂直偏移（毫米）", "print_button": "生成打印文件", "prints": "打印记录", "by": "经办人",
        "replacement": "补发", "reason": "补发原因（如：遗失、损坏）", "request_button": "提交补发申请",
        "requests": "补发申请", "requested_by": "申请人", "decided_by": "审批人", "approve": "批准", "reject": "驳回",
        "invitation": "持照人邀请", "invite_lead": "核验法定代表人的身份证原件后，为其生成领取邀请。",
        "person": "法定代表人姓名（与登记一致）", "id_checked": "已当面核验身份证原件", "invite_button": "生成邀请",
        "invitation_give": "请法定代表人用自己的手机扫描二维码或打开链接。邀请只能使用一次。", "code": "邀请码",
        "valid_until": "有效期至", "verify_title": "核验执照", "token": "粘贴二维码内容（令牌或核验网址）",
        "pdf": "或上传执照 PDF", "verify_button": "核验", "verdict": "结论",
        "verdicts": {"valid": "有效", "invalid": "无效", "indeterminate": "无法确定"},
        "check": "检查项", "no_verifier": "本服务未提供核验，请使用核验服务。",
        "activity_title": "工作记录", "mine": "我的", "division_all": "本辖区", "action": "操作", "target": "对象",
        "detail": "详情", "staff": "工作人员", "disable": "停用", "actions": "操作",
        "message_title": "无法完成", "failed": "操作未完成：", "working": "请确认……", "back": "返回",
        "beijing_time": "（北京时间）", "pending_for_you": "待您审批",
    },
    "en": {
        "html_lang": "en", "other_lang": "zh", "other_html_lang": "zh-CN", "switch": "中文",
        "site": "E-business license · Window", "search": "Search", "replacements": "Replacements", "verify": "Verify",
        "activity": "Activity", "sign_out": "Sign out",
        "sign_in_title": "Staff sign-in", "sign_in_lead": "Sign in with your passkey.",
        "sign_in_button": "Sign in with a passkey",
        "enrol_title": "Staff enrolment", "enrol_lead": "Create a passkey for this account. The link works once.",
        "enrol_button": "Create a passkey", "name": "Name", "role": "Role", "division": "Division",
        "roles": {"clerk": "Clerk", "supervisor": "Supervisor", "auditor": "Auditor"},
        "q": "USCC (or its start) or part of the name", "kind": "Entity kind", "status": "Status", "any": "Any",
        "search_button": "Search", "next_page": "Next page", "no_results": "Nothing found.", "results": "Results",
        "uscc": "Unified social credit code", "entity_name": "Name",
        "kinds": {"company": "Company", "branch": "Branch", "partnership": "Partnership",
                  "sole_proprietorship": "Sole proprietorship", "individual_business": "Individual business",
                  "cooperative": "Cooperative"},
        "statuses": {"active": "active", "revoked": "revoked", "cancelled": "cancelled", "current": "in force",
                     "superseded": "superseded", "pending": "pending", "approved": "approved", "rejected": "rejected",
                     "invited": "invited", "disabled": "disabled"},
        "registered_items": "Registered items",
        "versions": "License versions", "version": "Version", "serial": "Serial",
        "issued_at": "Issued", "superseded_by": "Superseded by", "download": "Download",
        "download_lt": "Long-term form", "verify_report": "Verification report", "checks": "Platform checks",
        "platform": "Platform", "time": "Time", "result": "Result",
        "print": "Print the paper license", "form": "Form",
        "forms": {"original": "Original (正本, A3 landscape)", "duplicate": "Duplicate (副本, A4)"},
        "copies": "Copies (duplicates)", "test_print": "Test print (draws the frame for alignment, no numbers)",
        "offset_x": "Horizontal offset (mm)", "offset_y": "Vertical offset (mm)", "print_button": "Make the print file",
        "prints": "Prints", "by": "By",
        "replacement": "Replacement (补发)", "reason": "Reason (lost, damaged...)",
        "request_button": "File the request",
        "requests": "Replacement requests", "requested_by": "Requested by", "decided_by": "Decided by",
        "approve": "Approve", "reject": "Reject",
        "invitation": "Holder invitation",
        "invite_lead": "After checking the legal representative's identity card in person, make their invitation.",
        "person": "Legal representative's name (as registered)", "id_checked": "Identity card checked in person",
        "invite_button": "Make the invitation",
        "invitation_give": "Let the legal representative scan the code or open the link on their own phone. It "
                           "works once.", "code": "Code",
        "valid_until": "Valid until", "verify_title": "Verify a license",
        "token": "Paste what the QR holds (token or verify URL)", "pdf": "or upload the license PDF",
        "verify_button": "Verify", "verdict": "Verdict",
        "verdicts": {"valid": "valid", "invalid": "invalid", "indeterminate": "indeterminate"},
        "check": "Check", "no_verifier": "This service does not verify: use the verification service.",
        "activity_title": "Activity", "mine": "Mine", "division_all": "Division", "action": "Action",
        "target": "Target", "detail": "Detail", "staff": "Staff", "disable": "Disable", "actions": "Actions",
        "message_title": "Could not be done", "failed": "Not done: ", "working": "Confirm…", "back": "Back",
        "beijing_time": " (Beijing time)", "pending_for_you": "Waiting for you",
    },
}

#: refusals a clerk may meet, by code: (Chinese, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "staff.other_division": ("该主体不在您的辖区。", "This entity is registered in another division."),
    "staff.role": ("您的角色不能进行此操作。", "Your role does not allow this."),
    "staff.csrf": ("表单已过期，请刷新页面。", "The form is out of date: reload the page."),
    "staff.signed_out": ("请先登录。", "Please sign in."),
    "staff.origin": ("请求来源不符。", "The request did not come from this site."),
    "staff.self": ("不能停用自己的账号。", "You cannot disable your own account."),
    "staff.enrolment_used": ("该注册链接已被使用。", "This enrolment link has been used."),
    "staff.enrolment_unknown": ("注册链接无效。", "No such enrolment link."),
    "staff.enrolment_expired": ("注册链接已过期。", "This enrolment link has expired."),
    "staff.disabled": ("该账号已停用。", "This account is disabled."),
    "replacement.own_request": ("不能审批自己提交的申请。", "A request is decided by someone other than who filed it."),
    "replacement.decided": ("该申请已处理。", "This request has been decided."),
    "replacement.pending": ("该主体已有待审批的补发申请。", "A request for this entity is already waiting."),
    "replacement.not_active": ("该主体已注销或吊销。", "The entity is not in good standing."),
    "holders.name_not_registered": ("姓名与登记的法定代表人不符。", "The registry names another legal representative."),
    "entity.unknown": ("没有这个主体。", "No such entity."),
}


def message(code: str, detail: str, lang: str) -> str:
    pair = MESSAGES.get(code)
    if pair is None:
        return detail
    return pair[1] if lang == "en" else pair[0]

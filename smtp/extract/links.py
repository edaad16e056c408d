"""Pick the verification / magic / reset link out of a mail, or none.

A link qualifies when its URL or its anchor text says verify/confirm/activate/sign-in/reset
and it carries something specific to this mail (a query, a long path, a high-entropy token),
or when it is a button carrying a high-entropy token. Unsubscribe, revoke, "this wasn't me",
mailto, homepages, payment, legal and social links never qualify.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from smtp.extract.normalize import Anchor

_TEXT_URL = re.compile(r"https?://[^\s<>\"'\])}]+", re.I)
_TRAILING_PUNCT = ".,;:!?'\"»›>)]}"

_URL_SAYS_VERIFY = re.compile(
    r"verif|confirm|activat|reset|log-?in|sign-?in|sign_in|magic|token|auth|validat|"
    r"self-service|email[-_]?confirm|callback|otp|approve|passwordless|onboard|invit|accept|"
    r"register|recover|password|key=|code=|session",
    re.I,
)
_TEXT_SAYS_VERIFY = re.compile(
    r"verif|confirm|activ|sign in|log ?in|reset|magic link|get started|continue|join|accept"
    r"|iniciar sesión|entrar|redefinir|restablecer|vérifi|se connecter|réinitialiser|bestätig"
    r"|verifizier|aktivier|anmelden|zurücksetzen|conferm|attiva|accedi|reimposta|bevestig"
    r"|activeren|inloggen|potwierd|zweryfikuj|aktywuj|zaloguj|doğrula|onayla|etkinleştir"
    r"|giriş yap|подтверд|активир|войти|сбросить|підтверд|увійти|تأكيد|تفعيل|تحقق|تسجيل الدخول"
    r"|تایید|تأیید|فعال|ورود|אמת|אשר|הפעל|היכנס|सत्यापित|पुष्टि|सक्रिय|लॉग इन|যাচাই|নিশ্চিত"
    r"|সক্রিয়|লগইন|verifikasi|konfirmasi|aktifkan|masuk|xác nhận|xác minh|kích hoạt|đăng nhập"
    r"|ยืนยัน|เปิดใช้งาน|เข้าสู่ระบบ|验证|驗證|确认|確認|激活|啟用|登录|登入|認証|ログイン|有効化"
    r"|인증|확인|활성화|로그인|bekräfta|verifiera|aktivera|logga in|vahvista|aktivoi|kirjaudu"
    r"|επιβεβαίω|επαλήθευ|ενεργοποί|σύνδεση|ověř|potvrd|aktivovat|přihlás|verifică|confirmă"
    r"|activează|conectea|megerősít|ellenőriz|aktivál|bejelentkez",
    re.I,
)
# Checked against path and query only, so a host like blog.example.com is not "/blog".
_NEVER_PATH = re.compile(
    r"unsubscribe|opt-?out|/optout|email-?preferences|notification-?settings|/preferences"
    r"|manage[-_]?(?:subscription|preferences|notifications)|revoke|not-?me|wasnt-?me|/deny"
    r"|report|abuse|privacy|/terms|/legal|/help|/support|/faq|/contact|/careers|/blog"
    r"|/pay(?:ment)?s?(?:/|$|\?)|billing|invoice|checkout|donat|/track(?:ing)?[/?]"
    r"|webversion|view-?(?:in-?)?browser|view[-_]?online|/open\.(?:gif|png)|pixel"
    r"|\.(?:png|gif|jpe?g)(?:$|\?)",
    re.I,
)
_NEVER_HOST = re.compile(
    r"(?:^|\.)(?:facebook\.com|twitter\.com|x\.com|linkedin\.com|instagram\.com|youtube\.com"
    r"|tiktok\.com|apps\.apple\.com|play\.google\.com|t\.me|wa\.me)$|^pay\.|^billing\.",
    re.I,
)
_TEXT_NEVER = re.compile(
    r"unsubscribe|wasn'?t (?:me|you)|not (?:me|you)|didn'?t request|secure your account"
    r"|revoke|report|privacy|terms|help|support|view (?:it )?(?:in|online)|abmelden"
    r"|désinscri|darse de baja|отписаться|退订|配信停止|수신\s?거부",
    re.I,
)
_TOKENISH = re.compile(r"[A-Za-z0-9_\-.~%]{16,}")


@dataclass(frozen=True)
class LinkChoice:
    url: str
    score: float
    reason: str


def find_link(anchors: list[Anchor], texts: list[str]) -> LinkChoice | None:
    best: LinkChoice | None = None
    seen: set[str] = set()
    for url, label, button in _all_links(anchors, texts):
        if url in seen:
            continue
        seen.add(url)
        choice = _judge(url, label, button)
        if choice is not None and (best is None or choice.score > best.score):
            best = choice
    return best


def link_values(anchors: list[Anchor], texts: list[str]) -> set[str]:
    """Query values of every link (a code repeated as `?code=123456` is extra evidence)."""
    values: set[str] = set()
    for url, _, _ in _all_links(anchors, texts):
        try:
            values.update(value for _, value in parse_qsl(urlsplit(url).query))
        except ValueError:
            continue
    return values


def _all_links(anchors: list[Anchor], texts: list[str]) -> list[tuple[str, str, bool]]:
    links = [(_clean(a.href), a.text, a.button_like) for a in anchors]
    for text in texts:
        for match in _TEXT_URL.finditer(text):
            # The label of a bare URL is the text before it on its line, or the line above
            # when the URL stands alone ("Confirm your address:\nhttps://...").
            line_start = text.rfind("\n", 0, match.start()) + 1
            label = text[line_start : match.start()]
            if not label.strip():
                prev_start = text.rfind("\n", 0, max(0, line_start - 1)) + 1
                label = text[prev_start:line_start]
            label = label[-120:]
            links.append((_clean(match.group(0)), label, False))
    return links


def _clean(url: str) -> str:
    return url.strip().replace("&amp;", "&").rstrip(_TRAILING_PUNCT)


def _judge(url: str, label: str, button: bool) -> LinkChoice | None:
    if not url.lower().startswith(("http://", "https://")):
        return None  # mailto:, tel:, javascript:, #anchors
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    path_and_query = parts.path + ("?" + parts.query if parts.query else "")
    if _NEVER_HOST.search(parts.hostname or "") or _NEVER_PATH.search(path_and_query):
        return None
    if _TEXT_NEVER.search(label):
        return None
    if parts.path.strip("/") == "" and not parts.query:
        return None  # a homepage
    url_says = bool(_URL_SAYS_VERIFY.search(path_and_query))
    text_says = bool(_TEXT_SAYS_VERIFY.search(label))
    token = _has_token(parts.path, parts.query)
    specific = token or bool(parts.query) or len(parts.path) >= 12
    if not ((url_says or text_says) and specific) and not (button and token):
        return None
    score = 3.0 * url_says + 3.0 * text_says + 1.5 * button + 1.5 * token
    reasons = [
        why
        for why, present in (
            ("url says verify", url_says),
            ("anchor text says verify", text_says),
            ("button", button),
            ("carries a token", token),
        )
        if present
    ]
    return LinkChoice(url, score, ", ".join(reasons))


def _has_token(path: str, query: str) -> bool:
    """A long, varied string in the path or query: the ote heuristic for one-off links."""
    for piece in [*path.split("/"), *(v for _, v in parse_qsl(query))]:
        if not _TOKENISH.fullmatch(piece):
            continue
        distinct = len(set(piece))
        mixed = bool(re.search(r"\d", piece)) and bool(re.search(r"[A-Za-z]", piece))
        if distinct > 10 and (mixed or len(piece) >= 30):
            return True
    return False

"""Multilingual words that announce a one-time code (and words that look like them but don't).

Matching is case-insensitive and mostly by substring, on purpose: German, Dutch, Finnish,
Swedish, Hungarian and Greek glue "code" into compounds (Bestätigungscode, vahvistuskoodi),
and CJK/Thai have no spaces at all. Short Latin stems that would hit inside other words (pin,
otp, tan, kod, cod, mã) get a left word boundary instead.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from smtp.extract.alternation import CaselessWords, by_first_char

# Words that name the code itself. A candidate near one of these is probably the code.
STRONG: dict[str, tuple[str, ...]] = {
    "en": ("code", "passcode", "one-time", "one time password", "otp", "2fa", "two-factor",
           "pin", "security key", "token", "verification number"),
    "es": ("código", "codigo", "clave", "contraseña temporal", "contraseña de un solo uso"),
    "pt": ("código", "codigo", "senha temporária", "senha de uso único", "senha única"),
    "fr": ("code", "mot de passe à usage unique", "mot de passe temporaire"),
    "de": ("code", "tan", "einmalpasswort", "einmal-passwort", "einmalkennwort", "pin"),
    "it": ("codice", "password monouso", "otp"),
    "nl": ("code", "eenmalig wachtwoord", "pincode"),
    "pl": ("kod", "hasło jednorazowe", "jednorazowe hasło"),
    "tr": ("kod", "tek kullanımlık şifre", "doğrulama şifre", "şifreniz"),
    "ru": ("код", "одноразовый пароль", "пароль для входа", "временный пароль"),
    "uk": ("код", "одноразовий пароль", "тимчасовий пароль"),
    "ar": ("رمز", "كود", "كلمة المرور لمرة واحدة", "الرقم السري"),
    "fa": ("کد", "رمز", "رمز یکبار مصرف"),
    "he": ("קוד", "סיסמה חד פעמית", "סיסמה זמנית"),
    "hi": ("कोड", "ओटीपी", "पासकोड"),
    "bn": ("কোড", "ওটিপি"),
    "id": ("kode", "sandi sekali pakai"),
    "vi": ("mã", "ma xac", "ma otp", "mật khẩu một lần"),
    "th": ("รหัส", "โค้ด"),
    "zh": ("验证码", "驗證碼", "校验码", "校驗碼", "动态码", "動態碼", "确认码", "確認碼", "代码",
           "代碼", "安全码", "安全碼", "认证码", "認證碼", "登录码", "登入碼", "动态密码",
           "一次性密码", "一次性密碼", "验证代码", "驗證代碼"),
    "ja": ("コード", "認証番号", "確認番号", "ワンタイムパスワード", "暗証番号", "パスコード",
           "認証キー", "確認キー"),
    "ko": ("인증번호", "인증 번호", "코드", "일회용 비밀번호", "확인번호", "보안번호", "OTP"),
    "sv": ("kod", "engångslösenord"),
    "fi": ("koodi", "kertakäyttösalasana"),
    "el": ("κωδικ", "κωδ.", "otp"),
    "cs": ("kód", "kod", "jednorázové heslo"),
    "ro": ("cod", "parolă unică"),
    "hu": ("kód", "egyszer használatos jelszó"),
}  # fmt: skip

# Words about verifying or signing in. They support a candidate that also stands out
# (alone on a line, emphasised) but are not enough on their own: link mails use them too.
WEAK: dict[str, tuple[str, ...]] = {
    "en": ("verif", "confirm", "sign in", "sign-in", "log in", "login", "authenticat",
           "enter", "use", "activat"),
    "es": ("verific", "confirm", "iniciar sesión", "introduce", "ingresa", "autentic"),
    "pt": ("verific", "confirm", "entrar", "digite", "insira", "autentic"),
    "fr": ("vérif", "verif", "confirm", "connexion", "saisissez", "entrez", "authentif"),
    "de": ("bestätig", "verifizier", "anmeld", "login", "eingeben", "authentifizier"),
    "it": ("verific", "conferm", "accesso", "inserisci", "autentic"),
    "nl": ("verifi", "bevestig", "inloggen", "aanmelden", "voer"),
    "pl": ("weryfik", "potwierdz", "potwierdź", "logowani", "wpisz", "wprowadź"),
    "tr": ("doğrula", "onay", "giriş", "girin"),
    "ru": ("подтвержд", "подтверд", "вход", "введите", "верифика"),
    "uk": ("підтвердж", "вхід", "введіть", "верифіка"),
    "ar": ("تحقق", "التحقق", "تأكيد", "أدخل", "الدخول"),
    "fa": ("تایید", "تأیید", "ورود", "وارد کنید"),
    "he": ("אימות", "אמת", "כניסה", "הזן"),
    "hi": ("सत्यापन", "पुष्टि", "लॉगिन", "दर्ज"),
    "bn": ("যাচাই", "নিশ্চিত", "লগইন", "লিখুন"),
    "id": ("verifikasi", "konfirmasi", "masuk", "masukkan"),
    "vi": ("xác thực", "xác minh", "xác nhận", "đăng nhập", "nhập"),
    "th": ("ยืนยัน", "เข้าสู่ระบบ", "กรอก"),
    "zh": ("验证", "驗證", "确认", "確認", "登录", "登入", "输入", "輸入"),
    "ja": ("認証", "確認", "ログイン", "入力"),
    "ko": ("인증", "확인", "로그인", "입력"),
    "sv": ("verifier", "bekräfta", "logga in", "ange"),
    "fi": ("vahvist", "kirjaudu", "syötä", "tunnist"),
    "el": ("επαλήθευση", "επιβεβαίωση", "σύνδεση", "εισάγετε"),
    "cs": ("ověř", "potvrz", "přihláš", "zadejte"),
    "ro": ("verific", "confirm", "autentific", "introduce"),
    "hu": ("ellenőrz", "megerősít", "bejelentkez", "ír be", "add meg"),
}  # fmt: skip

# Phrases that contain a strong keyword but name something that is not a one-time code.
# A keyword occurrence inside one of these does not count.
NOT_AN_OTP = (
    "barcode", "bar code", "qr code", "qr-code", "promo code", "promo-code", "promocode",
    "discount code", "coupon code", "voucher code", "gift code", "gift card code",
    "referral code", "invite code", "zip code", "zipcode", "postal code", "post code",
    "postcode", "area code", "country code", "source code", "error code", "status code",
    "dress code", "code of conduct", "tracking code", "product code", "reason code",
    "swift code", "sort code", "bank code", "vscode", "unicode", "recovery codes",
    "backup codes", "unsubscribe", "code postal", "code promo", "codice fiscale",
    "codice sconto", "codice promozionale", "código postal", "código promocional",
    "código de barras", "código de rastreio", "código de rastreamento", "código de desconto",
    "código de descuento", "gutscheincode", "rabattcode", "aktionscode", "kortingscode",
    "kod pocztowy", "kod rabatowy", "kod promocyjny", "indirim kodu", "promosyon kodu",
    "posta kodu", "промокод", "почтовый индекс", "код купона", "код скидки", "промо-код",
    "رمز الخصم", "كود الخصم", "کد تخفیف", "کد پستی", "קוד קופון", "קוד הנחה", "कूपन कोड",
    "kode promo", "kode voucher", "kode pos", "mã giảm giá", "mã khuyến mãi", "mã bưu",
    "mã đơn", "mã vận đơn", "โค้ดส่วนลด", "รหัสไปรษณีย์", "优惠码", "優惠碼", "邮政编码",
    "郵遞區號", "クーポンコード", "プロモーションコード", "쿠폰 코드", "쿠폰코드", "할인 코드",
    "할인코드", "우편번호", "rabattkod", "alennuskoodi", "postinumero", "κωδικός έκπτωσης",
    "ταχυδρομικός κωδικός", "slevový kód", "poštovní", "cod promoțional", "cod poștal",
    "kuponkód", "irányítószám", "kód kupónu", "promóciós kód", "codice promo",
    "code editor", "code review", "codebase", "code base", "cupón", "cupom",
    "code de réduction", "kod zniżkowy",
)  # fmt: skip

# A code keyword in a sentence about discounts names a promo code, whatever the wording
# ("30% de descuento con el código VERANO24").
_PROMO_WORDS = CaselessWords(
    (
        "discount", "descuento", "desconto", "rabatt", "promo", "sconto", "réduction", "remise",
        "скидк", "знижк", "kupon", "coupon", "voucher", "gutschein", "cupón", "cupom",
        "indirim", "zniżk", "korting", r"s(?<!\w.)ale\b", "checkout", "خصم", "تخفیف", "הנחה",
        "छूट", "ছাড়", "diskon", "giảm giá", "ส่วนลด", "优惠", "優惠", "折扣", "割引", "クーポン",
        "할인", "쿠폰", "alennus", "έκπτωση", "sleva", "reducere", "kedvezmény",
    )
)  # fmt: skip
_PROMO_PRICE = re.compile(r"\d\s?% off", re.I)


def _is_promo_context(text: str) -> bool:
    # "s(?<!\w.)ale\b" is "\bsale\b" written to start with its first letter (alternation.py).
    return bool(_PROMO_WORDS.search(text) or _PROMO_PRICE.search(text))


# Stems that are too short to match as substrings of arbitrary words.
_NEEDS_LEFT_BOUNDARY = frozenset(
    {"pin", "otp", "tan", "cod", "mã", "use", "enter", "token", "clave", "onay", "login", "2fa"}
)  # fmt: skip
# Stems that must also end at a word boundary ("pin" not "pink", "tan" not "tanto").
_NEEDS_RIGHT_BOUNDARY = frozenset({"pin", "tan", "use", "mã", "onay", "enter", "token"})
_CASE_SENSITIVE = frozenset({"tan", "pin"})


# Real mails have a handful of keywords; hostile ones could have thousands.
MAX_HITS = 200


@dataclass(frozen=True)
class KeywordHit:
    start: int
    end: int
    word: str
    strong: bool


def _alternation(words: set[str], lowercase: bool) -> str:
    """One regex for a word list.

    Python's re is not fast with IGNORECASE on Unicode, so the fast variant (lowercase=True)
    matches lowercased text with lowercase literals, grouped by first character (see
    alternation.py); as every alternative then starts with a literal, re also skips ahead in
    C to the next possible first character. The case-sensitive stems (TAN, PIN) are left to
    _CASE_SENSITIVE_RE in that variant.
    """
    if lowercase:
        words = words - _CASE_SENSITIVE
        ordered = sorted(words, key=len, reverse=True)
        return "(?:" + by_first_char(_first_char_first(word) for word in ordered) + ")"
    first = {w[0].lower() for w in words} | {w[0].upper() for w in words} | {"m"}
    lead = "(?=[" + "".join(re.escape(ch) for ch in sorted(first)) + "])"
    parts = []
    for word in sorted(words, key=len, reverse=True):
        body = re.escape(word).replace(r"\ ", r"\s+")
        if word in _CASE_SENSITIVE:
            body = f"(?-i:{body.upper()}|{body.capitalize()}|m{body.upper()})"
        if word in _NEEDS_LEFT_BOUNDARY:
            body = r"(?<![^\W\d_])" + body
        if word in _NEEDS_RIGHT_BOUNDARY:
            body += r"(?![^\W\d_])"
        parts.append(body)
    return lead + "(?:" + "|".join(parts) + ")"


def _first_char_first(word: str) -> str:
    """The pattern for a lowercase word, written to start with its first character.

    The left boundary is checked after that character ("p(?<![^\\W\\d_].)in" rather than
    "(?<![^\\W\\d_])pin": same matches) so that by_first_char can group the word.
    """
    first, rest = re.escape(word[0]), re.escape(word[1:]).replace(r"\ ", r"\s+")
    if word in _NEEDS_LEFT_BOUNDARY:
        rest = r"(?<![^\W\d_].)" + rest
    if word in _NEEDS_RIGHT_BOUNDARY:
        rest += r"(?![^\W\d_])"
    return first + rest


def _all(table: dict[str, tuple[str, ...]]) -> set[str]:
    return {word.lower() for words in table.values() for word in words}


@dataclass(frozen=True)
class _WordList:
    any_case: re.Pattern[str]  # for text whose lowercase form changes length (rare)
    lowercase: re.Pattern[str]  # for text.lower()

    @classmethod
    def of(cls, words: set[str]) -> _WordList:
        return cls(
            re.compile(_alternation(words, lowercase=False), re.I),
            re.compile(_alternation(words, lowercase=True)),
        )

    def finditer(self, text: str, lowered: str | None) -> Iterator[re.Match[str]]:
        if lowered is None:
            return self.any_case.finditer(text)
        return self.lowercase.finditer(lowered)


_STRONG = _WordList.of(_all(STRONG))
_WEAK = _WordList.of(_all(WEAK) - _all(STRONG))
_NOT_AN_OTP = _WordList.of(set(NOT_AN_OTP))
# "(?<![^\W\d_])(?:m?TAN|Tan|PIN|Pin)(?![^\W\d_])" with the left boundary checked after the
# first letter (as in _first_char_first): same matches, but re can skip to the next m, T or P.
_CASE_SENSITIVE_RE = re.compile(
    r"(?:m(?<![^\W\d_].)TAN|T(?<![^\W\d_].)(?:AN|an)|P(?<![^\W\d_].)(?:IN|in))(?![^\W\d_])"
)


def _lowered(text: str) -> str | None:
    """text.lower() when it keeps offsets valid (it does except for a few letters like İ)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else None


def not_an_otp_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _NOT_AN_OTP.finditer(text, _lowered(text))]


def find_keywords(text: str, anti: list[tuple[int, int]] | None = None) -> list[KeywordHit]:
    """All keyword occurrences, minus those that sit inside a NOT_AN_OTP phrase.

    ``anti`` is ``not_an_otp_spans(text)`` when the caller already has it.
    """
    lowered = _lowered(text)
    excluded = (not_an_otp_spans(text) if anti is None else anti)[:MAX_HITS]

    def allowed(start: int, end: int) -> bool:
        if any(s <= start < e or s < end <= e for s, e in excluded):
            return False
        floor, ceiling = max(0, start - 60), min(len(text), end + 60)
        line_start = text.rfind("\n", floor, start) + 1 or floor
        line_end = text.find("\n", end, ceiling)
        context = text[max(line_start, floor) : ceiling if line_end < 0 else line_end]
        return not _is_promo_context(context)

    hits = [
        KeywordHit(m.start(), m.end(), m.group(0).lower(), True)
        for m in itertools.islice(_STRONG.finditer(text, lowered), MAX_HITS)
        if allowed(*m.span())
    ]
    if lowered is not None:
        hits += [
            KeywordHit(m.start(), m.end(), m.group(0).lower(), True)
            for m in itertools.islice(_CASE_SENSITIVE_RE.finditer(text), MAX_HITS)
        ]
    hits += [
        KeywordHit(m.start(), m.end(), m.group(0).lower(), False)
        for m in itertools.islice(_WEAK.finditer(text, lowered), MAX_HITS)
        if allowed(*m.span())
    ]
    hits.sort(key=lambda hit: hit.start)
    return hits


def mentions_a_keyword(text: str) -> bool:
    """Whether any strong or weak keyword occurs at all: without one no code is accepted.

    A cheap superset test (NOT_AN_OTP phrases and promo context are not looked at) that
    stops at the first hit, so mails without any keyword skip masking and scoring.
    """
    lowered = _lowered(text)
    if lowered is not None and _CASE_SENSITIVE_RE.search(text):
        return True
    return any(next(words.finditer(text, lowered), None) is not None for words in (_STRONG, _WEAK))

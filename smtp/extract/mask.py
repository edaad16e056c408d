"""Blank out spans that look like numbers but are not one-time codes.

Every span is replaced by spaces of the same length (newlines kept), so offsets stay valid
and a blanked span can never glue two neighbours into a new candidate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from smtp.extract.alternation import CaselessWords, by_first_char, for_lowered_ascii

_NUM = r"\d{1,3}(?:[ .,'’]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_NUM_REST = (
    r"\d{0,2}(?:[ .,'’]\d{3})+(?:[.,]\d{1,2})?|\d*(?:[.,]\d{1,2})?"  # _NUM past its 1st digit
)
_CURRENCY_BEFORE = (
    r"[$€£¥₹₽₩₺₪฿₫₴₦₱]|US\$|R\$|A\$|C\$|HK\$|S\$|NT\$|zł|Kč|Rp\.?|Rs\.?|₨|"
    r"(?<![A-Za-z])(?:USD|EUR|GBP|JPY|CNY|RMB|INR|RUB|UAH|TRY|PLN|CZK|HUF|RON|SEK|NOK|DKK|CHF"
    r"|BRL|MXN|IDR|VND|THB|KRW|ILS|AED|SAR|IRR|BDT|TL)(?![A-Za-z])"
)
_CURRENCY_AFTER = (
    r"[$€£¥₹₽₩₺₪฿₫₴]|元|円|원|块|руб\.?|р\.|грн\.?|zł|Kč|Ft|lei|kr\.?|лв|đ(?:ồng)?|VNĐ|บาท"
    r"|ريال|تومان|دينار|درهم|جنيه|ش\"ח|টাকা|रुपये|(?<![A-Za-z])(?:USD|EUR|GBP|JPY|CNY|RMB|INR|RUB"
    r"|UAH|TRY|PLN|CZK|HUF|RON|SEK|NOK|DKK|CHF|BRL|MXN|IDR|VND|THB|KRW|ILS|AED|SAR|IRR|BDT|TL"
    r"|euros?|dollars?|pesos?|reais|rupees?|rubles?)(?![A-Za-z])"
)
_MONTH_NAMES = (
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mär|mai|okt|dez|janv|févr|avr|juil"
    r"|août|déc|ene|abr|ago|dic|fev|set|out|gen|mag|giu|lug|ott|mei|maa|sty|lut|kwi|maj|cze|lip"
    r"|sie|wrz|paź|lis|gru|oca|şub|nis|haz|tem|ağu|eyl|eki|kas|ara|янв|фев|мар|апр|мая|июн|июл"
    r"|авг|сен|окт|ноя|дек|січ|лют|бер|кві|тра|чер|лип|сер|вер|жов|лис|гру|tammi|helmi|maalis"
    r"|huhti|touko|kesä|heinä|elo|syys|loka|marras|joulu|ian|ιαν|φεβ|μαρ|απρ|μαΐ|ιουν|ιουλ|αυγ"
    r"|σεπ|οκτ|νοε|δεκ|led|úno|bře|dub|kvě|čvn|čvc|srp|zář|říj|lis|pro|febr|márc|ápr|máj|jún"
    r"|júl|szept|január|február"
)
# Month names are all letters, so a month followed by a number (all the mask needs) starts
# where a word is followed by space and a digit: checking that first skips most words.
_MONTH_THEN_NUMBER = r"(?=[^\W\d_]+\.?,?\s+\d)"
_MONTH = rf"(?:{by_first_char(_MONTH_NAMES.split('|'), re.I)})[^\W\d_]*\.?"
_ASCII_MONTH = "(?:" + by_first_char(for_lowered_ascii(_MONTH_NAMES.split("|"))) + ")"

# Labels that introduce an identifier that is not a code: orders, invoices, tickets, bookings,
# shipments, accounts. The identifier right after the label (and only it) is blanked.
_ID_LABELS_LATIN = (
    r"order|orders|invoice|ticket|tracking|shipment|parcel|package|reference|ref|booking"
    r"|reservation|transaction|txn|case|account|acct|customer|member|client|sku|ean|isbn|item"
    r"|article|receipt|request|incident|policy|contract|serial|awb|confirmation number|pnr"
    r"|pedido|factura|referencia|reserva|transacción|cuenta|encomenda|fatura|nota fiscal"
    r"|referência|transação|conta|commande|facture|référence|réservation|dossier|compte"
    r"|bestellung|bestellnummer|rechnung|rechnungsnummer|sendungsnummer|sendung|kundennummer"
    r"|auftrag|auftragsnummer|buchung|buchungsnummer|vorgang|vorgangsnummer|referenz|konto"
    r"|ordine|fattura|riferimento|prenotazione|transazione|pratica|spedizione|bestelling"
    r"|bestelnummer|factuur|referentie|boeking|transactie|klantnummer|rekening|zending"
    r"|zamówienie|zamówienia|faktura|faktury|rezerwacja|transakcja|przesyłka|przesyłki"
    r"|sipariş|siparişiniz|fatura|referans|rezervasyon|işlem|hesap|kargo|takip"
    r"|pesanan|faktur|referensi|pemesanan|transaksi|resi|đơn hàng|hóa đơn|tham chiếu"
    r"|đặt chỗ|giao dịch|vận đơn|tài khoản|ordernummer|kundnummer|bokning|referens"
    r"|tilaus|tilausnumero|lasku|varaus|viite|asiakasnumero|objednávka|objednávky|rezervace"
    r"|transakce|comanda|comandă|factură|rezervare|referință|tranzacție|rendelés|számla"
    r"|foglalás|hivatkozás|tranzakció|rendelésszám|id"
)
_ID_LABELS_OTHER = (
    r"заказ[а-я]*|сч[её]т[а-я]*|накладн[а-я]*|бронировани[а-я]*|транзакци[а-я]*|операци[а-я]*"
    r"|договор[а-я]*|трек|отправлени[а-я]*|замовлення|рахун[а-я]*|бронювання|посилк[а-я]*"
    r"|طلب|الطلب|فاتورة|الفاتورة|مرجع|المرجع|حجز|الحجز|معاملة|المعاملة|العملية|الشحنة"
    r"|سفارش|فاکتور|پیگیری|تراکنش|مرسوله|הזמנה|חשבונית|אסמכתא|משלוח|ऑर्डर|चालान|संदर्भ"
    r"|बुकिंग|लेनदेन|অর্ডার|চালান|রেফারেন্স|বুকিং|লেনদেন|คำสั่งซื้อ|ใบแจ้งหนี้|อ้างอิง"
    r"|การจอง|ธุรกรรม|พัสดุ|订单号?|訂單編?號?|发票|發票|运单号?|運單號?|单号|單號|交易号?"
    r"|流水号|参考号|預訂|预订|账号|帳號|尾号|尾號|快递|注文番号|ご注文|請求書|伝票番号|予約番号"
    r"|取引|お問い合わせ番号|会員番号|受付番号|주문번호|주문|송장|운송장|예약번호|거래|청구서"
    r"|회원번호|계좌|παραγγελία[ς]?|τιμολόγιο|κράτηση[ς]?|αποστολή[ς]?"
)


def _grouped(alternatives: str) -> str:
    """An IGNORECASE ``a|b|c`` word list, grouped by first character (alternation.py)."""
    return by_first_char(alternatives.split("|"), re.I)


_NUMBER_WORD = (
    r"(?:number|num|no|nr|id|número|numéro|nummer|numer|numero|numara|номер|nomor|số|číslo"
    r"|szám|număr|αριθμός|รหัส|번호|番号|号|號|رقم|شماره|מספר|č|čís)[^\W\d_]*"
)
_ID_LABEL = re.compile(
    rf"(?=[^\W\d_])(?:(?<![^\W\d_])(?:{_grouped(_ID_LABELS_LATIN)})(?![^\W\d_])"
    rf"|{_grouped(_ID_LABELS_OTHER)})"
    rf"(?:\s*(?:{_NUMBER_WORD})\.?)?\s*(?:[:#№]|n[°º]|\(|-)?\s*(?:#\s*)?"
    r"(?P<id>(?=[A-Za-z-]{0,6}\d)[A-Za-z0-9][A-Za-z0-9-]{2,30}(?:[ ]\d{3,6}){0,3})",
    re.I,
)
# An OTP keyword right before an ID label means the label is part of the code's name
# ("mã xác thực giao dịch: 572123", "Transaktions-TAN"), so the label must not blank it.
_OTP_RIGHT_BEFORE = re.compile(r"(?:otp|tan|code|mã|xác thực|код|kod|codice|código)\W{0,3}$", re.I)

# What _ID_LABEL needs on lowercased ASCII text: a Latin label (the other scripts cannot occur
# there), at most one more word (the number word), separators, then an ID with a digit in its
# first seven characters. A superset of its matches, so no hit means no ID to blank.
if for_lowered_ascii(_ID_LABELS_OTHER.split("|")):
    raise ValueError("_ID_LABELS_OTHER has labels that ASCII text can hold: extend _ID_HINT")
_ID_HINT = re.compile(
    rf"(?:{by_first_char(for_lowered_ascii(_ID_LABELS_LATIN.split('|')))})(?![a-z])"
    r"(?:\s*[a-z]+\.?)?\s*[:#(-]?\s*(?:#\s*)?[a-z-]{0,6}\d"
)

# Company and tax registry numbers: a registry code (case-sensitive, a whole word) or label,
# then the number.
_REGISTRY_CODES = (
    "HRB|HRA|KvK|SIRET|SIREN|RCS|CNPJ|CPF|NIP|KRS|REGON|VAT|UID|CIF|NIF|IČO?|DIČ|CUI|ABN|ACN"
    "|EIN|GSTIN|CIN|NPWP|MST|BTW|ΑΦΜ|ИНН|ОГРН|КПП|ОКПО|БИК|ЄДРПОУ"
)
_REGISTRY_LABELS = (
    r"Org\.?\s?nr", "Y-tunnus", "USt-?IdNr", r"P\.?\s?IVA", "Partita IVA",
    "Company (?:No|number|registration)", "Registered (?:in [A-Za-z ]{3,20} )?(?:No|number)",
    r"Reg\.? ?No", "Steuernummer", "Handelsregister", "Cégjegyzékszám", "Adószám", r"ח\.פ",
    r"ע\.מ", "Mã số thuế", "เลขประจำตัวผู้เสียภาษี", "Tax ID", "統一編號", "统一社会信用代码",
    "사업자등록번호", "사업자 등록번호", "法人番号", "통신판매업", "登録番号", "Registro",
    r"Reg\. No",
)  # fmt: skip
_REGISTRY_NUMBER = r"[\s.:#№-]*(?:[A-Z]{1,3}[\s-]?)?\d[\d\s./-]{2,}\d(?:[A-Z]{1,3}\d*)?"
_COMPANY_REGISTRY = re.compile(
    rf"(?:(?<![^\W\d_])(?-i:{_REGISTRY_CODES})(?![^\W\d_])"
    rf"|{'|'.join(_REGISTRY_LABELS)}){_REGISTRY_NUMBER}",
    re.I,
)

# Phone numbers after a label; the Latin labels are whole words.
_PHONE_LABELS_LATIN = (
    "tel|phone|call us|fax|mobile|hotline|helpline|whatsapp|teléfono|telefone|téléphone|telefon"
    "|telefono|puhelin|τηλ|tlf|asiakaspalvelu|kundtjänst|klantenservice|kundenservice|hotline"
    "|infolinia|ügyfélszolgálat"
)
_PHONE_LABELS_OTHER = (
    r"телефон|тел\.|линия|лінія|電話|专线|專線|客服|전화|고객센터|โทร|هاتف|تلفن|טלפון|फ़ोन|फोन"
    "|ফোন|হেল্পলাইন|điện thoại|sđt|お問い合わせ"
)
_PHONE_LABELLED = re.compile(
    rf"(?=[^\W\d_])(?:(?<![^\W\d_])(?:{_PHONE_LABELS_LATIN})(?![^\W\d_])"
    rf"|{_PHONE_LABELS_OTHER})[^\d\n]{{0,16}}"
    r"\+?[\d][\d\s().-]{4,18}\d",
    re.I,
)

_CSS_RULE_BODY = re.compile(r"\{[^{}]{0,2000}:[^{}]{0,2000}\}")

# Masks for spans without digits (URLs, addresses, CSS), each with the substrings of which one
# must occur in the lowercased text for it to match at all: most mails skip most of them.
_ANYWHERE: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    # URLs and bracketed URLs; e-mail addresses.
    (re.compile(r"(?:https?://|www\.)[^\s<>\"']+|<[a-z]+:[^\s<>]+>", re.I), ("http", "www.", "<")),
    (re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+"), ("@",)),
    # Inline CSS that leaked into a text part: rule bodies (selectors: _blank_css_rules), colours.
    (_CSS_RULE_BODY, ("{",)),
    (
        re.compile(
            r"(?:color|background|border)[\w-]*\s*:\s*#[0-9a-f]{3,8}"
            r"|#(?=[0-9]{0,7}[a-f])[0-9a-f]{3,8}(?![0-9a-z])",
            re.I,
        ),
        ("#",),
    ),
]


@dataclass(frozen=True)
class _Hinted:
    """A mask that most ASCII text can skip.

    ``ascii_hint`` finds something in lowercased ASCII text wherever ``pattern`` would match
    that text: a necessary condition, cheap because it leaves out the non-ASCII alternatives
    and the IGNORECASE matching. On ASCII text, no hit means the pass would blank nothing.
    """

    pattern: re.Pattern[str]
    ascii_hint: re.Pattern[str]


def _lowered_alternation(*alternatives: list[str]) -> str:
    """One lowercase alternation of what in these IGNORECASE lists can match ASCII text."""
    return (
        "(?:"
        + by_first_char(word for words in alternatives for word in for_lowered_ascii(words))
        + ")"
    )


# Masks whose every match contains a digit. They run only on the lines around digits (see
# _digit_regions). Patterns that start with a digit are written "\d(?<!X\d)..." rather than
# "(?<!X)\d...": same matches, but a leading character class lets the regex engine skip
# non-digit positions in C instead of trying a match at every character (~10x faster).
# The others, which must try every position, carry an ASCII hint (_Hinted).
_NEAR_DIGITS: list[re.Pattern[str] | _Hinted] = [
    _Hinted(
        _COMPANY_REGISTRY,
        # The codes are case-sensitive: their lowercase form is a superset here.
        re.compile(
            _lowered_alternation(_REGISTRY_CODES.split("|"), list(_REGISTRY_LABELS))
            + r"[\s.:#-]*(?:[a-z]{1,3}[\s-]?)?\d"
        ),
    ),
    # Masked card and account numbers: 123456******6789, **** 1234, XX1245.
    _Hinted(
        re.compile(
            r"\d{4,6}[*•xX·]{2,}[\d*•xX· -]*\d|(?<![A-Za-z])(?:[*•xX·]{2,}[\s-]?){1,4}\d{2,6}"
            r"|(?:ending|endet|terminant|terminada|que termina|заканчивающ\w*|закінчується|尾号"
            r"|尾號|末尾|끝자리)(?:\s+(?:in|on|mit|par|en|на))?\s*[:-]?\s*\d{2,6}",
            re.I,
        ),
        re.compile(r"[*x]{2}|ending|endet|termina"),
    ),
    # Prices and amounts, with the currency before or after the number.
    re.compile(rf"(?:{_CURRENCY_BEFORE})\s?-?(?:{_NUM})(?:[.,]-)?"),
    re.compile(rf"\d(?<![\dA-Za-z]\d)(?:{_NUM_REST})\s?(?:{_CURRENCY_AFTER})", re.I),
    _Hinted(
        re.compile(
            r"(?<![\d.,])(?:%\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?(?:%|٪|percent|pct))", re.I
        ),
        re.compile(r"%|percent|pct"),
    ),
    # Phone numbers: international, US, labelled, and long runs of small digit groups.
    re.compile(
        r"\+(?<![\w+]\+)\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}"
    ),
    re.compile(r"\(\d{2,5}\)\s?\d{2,4}(?:[\s.-]?\d{2,4}){1,2}"),
    re.compile(r"\d(?<![\d-]\d)\d{2}([.\s-])\d{3}\1\d{4}(?![\d-])"),
    re.compile(r"\d(?<![\d.-]\d)\d{1,3}(?:[ .-]\d{2,4}){3,}(?![\d-])"),
    re.compile(
        r"\d(?<![\d-]\d)(?:(?<=[01])[89]00[ -]\d{3}[ -]\d{3,4}|(?<=0)\d{1,3}[ -]\d{3,4}[ -]\d{4})"
        r"(?![\d-])"
    ),
    _Hinted(
        _PHONE_LABELLED,
        re.compile(
            _lowered_alternation(_PHONE_LABELS_LATIN.split("|"), _PHONE_LABELS_OTHER.split("|"))
            + r"[^\d\n]{0,16}\+?\d"
        ),
    ),
    # Dates and times in the common numeric and written forms.
    re.compile(r"\d(?<!\d\d)\d{0,3}([./-])\d{1,2}\1\d{1,4}(?!\d)"),
    _Hinted(
        re.compile(
            r"\d{2,4}\s?[年년]\s?\d{1,2}\s?[月월](?:\s?\d{1,2}\s?[日일])?"
            r"|\d{1,2}\s?[月월]\s?\d{1,2}\s?[日일]"
        ),
        re.compile("[月월]"),  # never in ASCII text
    ),
    _Hinted(
        re.compile(
            rf"(?<!\d)\d{{1,2}}(?:st|nd|rd|th|er|º|\.)?\s*(?=[^\W\d_])(?:de\s+)?{_MONTH}(?:,?\s*(?:de\s+)?\d{{4}})?"
            rf"|(?<![^\W\d_]){_MONTH_THEN_NUMBER}{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
            rf"|(?<![^\W\d_]){_MONTH_THEN_NUMBER}{_MONTH},?\s+\d{{4}}",
            re.I,
        ),
        # A digit, then a month name; or a month word, then space and a digit.
        re.compile(
            rf"\d(?:st|nd|rd|th|er|\.)?\s*(?:de\s+)?{_ASCII_MONTH}"
            rf"|{_ASCII_MONTH}[a-z]*\.?,?\s+\d"
        ),
    ),
    re.compile(
        r"\d(?:(?<!\d\d)\d?[:h]\d{2}(?::\d{2})?(?:\s?[ap]\.?\s?m\.?)?|(?<!\d\d)\d?\s?[ap]\.?m\.?(?![a-z])"
        r"|\d?\s?[時시]\s?\d{1,2}\s?[分분])",
        re.I,
    ),
    # IP addresses, version numbers and decimals.
    re.compile(r"[vV\d](?<![\w.].)(?:(?<=[vV])\d+|(?<=\d)\d*)(?:[.,]\d+)+(?![\w])"),
]

# A footer starts at a line that opens with a sign-off marker, or at any line that offers to
# unsubscribe or says why the mail was sent. cut_footer wants the first of either.
_FOOTER_START = re.compile(r"^(?:--\s*$|©|\(c\)\s*\d|copyright|all rights reserved)", re.I | re.M)
_FOOTER_WORDS = CaselessWords(
    (
        "unsubscribe", "abmelden", "désinscri", "désabonne", "darse de baja", "darte de baja",
        "cancelar (?:a )?inscrição", "descadastr", "отписаться", "відписатися", "disiscriv",
        "afmelden", "uitschrijven", "wypisz", "abonelikten çık", "退订", "取消订阅", "退訂",
        "配信停止", r"수신\s?거부", "إلغاء الاشتراك", "لغو اشتراک", "להסרה",
        "avsluta prenumeration", "avregistrera", "peruuta tilaus", "odhlásit", "dezabon",
        "leiratkoz", "hủy đăng ký", "berhenti berlangganan", "ยกเลิกการรับ",
        "απεγγραφ", "सदस्यता समाप्त", "আনসাবস্ক্রাইব",
        "this (?:e-?mail|message) was sent to", "you (?:are )?receiv(?:ed|ing) this",
        "all rights reserved",
    )
)  # fmt: skip


def _blank(match: re.Match[str]) -> str:
    return "".join("\n" if ch == "\n" else " " for ch in match.group(0))


def cut_footer(text: str) -> str:
    """Blank everything from the first footer line on, if it sits in the lower part of the mail.

    A footer marker in the first third is more likely a "view online | unsubscribe" header,
    so the search starts at the first line that begins past that third.
    """
    threshold = math.ceil(len(text) * 0.35)
    start = (
        threshold
        if threshold == 0 or text[threshold - 1] == "\n"
        else _line_end(text, threshold) + 1
    )
    if start >= len(text):
        return text
    found = [
        m.start()
        for m in (_FOOTER_START.search(text, start), _FOOTER_WORDS.search(text, start))
        if m
    ]
    if not found:
        return text
    line_start = text.rfind("\n", 0, min(found)) + 1
    return text[:line_start] + _blank_str(text[line_start:])


def _blank_str(text: str) -> str:
    return "".join("\n" if ch == "\n" else " " for ch in text)


def _blank_css_selectors(text: str) -> str:
    """Blank the selector in front of each CSS rule body ("#123456 {", "p.x, td {")."""
    spans = []
    for match in _CSS_RULE_BODY.finditer(text):
        floor = max(0, match.start() - 200)
        start = max(text.rfind("\n", floor, match.start()), text.rfind("}", floor, match.start()))
        spans.append((max(start + 1, floor), match.start()))
    return _blank_spans(text, spans)


def _blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def mask(text: str) -> str:
    """Blank every non-code span (see module docstring); the result has the same length."""
    if "{" in text:
        text = _blank_css_selectors(text)
    lowered = text.lower()
    for pattern, needles in _ANYWHERE:
        if any(needle in lowered for needle in needles):
            text = pattern.sub(_blank, text)
    regions = _digit_regions(text)
    if not regions:
        return text
    pieces = []
    done = 0
    for start, end in regions:
        pieces += [text[done:start], _mask_near_digits(text[start:end])]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


_DIGIT = re.compile(r"\d")
# Lines of context around a line with a digit: a label two lines up ("Order number:", a blank
# line, "12345") still belongs to it. Normalised text has at most one blank line in a row.
_CONTEXT_LINES = 2


def _digit_regions(text: str) -> list[tuple[int, int]]:
    """Spans of whole lines within _CONTEXT_LINES of a line that holds a digit, merged."""
    regions: list[tuple[int, int]] = []
    line_end = -1
    for match in _DIGIT.finditer(text):
        if match.start() <= line_end:
            continue  # another digit on a line already handled
        start = text.rfind("\n", 0, match.start()) + 1
        for _ in range(_CONTEXT_LINES):
            if start > 0:
                start = text.rfind("\n", 0, start - 1) + 1
        line_end = end = _line_end(text, match.start())
        for _ in range(_CONTEXT_LINES):
            if end < len(text):
                end = _line_end(text, end + 1)
        if regions and start <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(end, regions[-1][1]))
        else:
            regions.append((start, end))
    return regions


def _line_end(text: str, pos: int) -> int:
    found = text.find("\n", pos)
    return len(text) if found < 0 else found


def _mask_near_digits(chunk: str) -> str:
    # Blanking writes only spaces, so ASCII text stays ASCII; the hints must see the text as
    # the earlier passes left it, hence the fresh lowercase copy after each change.
    ascii_text = chunk.isascii()
    lowered = chunk.lower()
    for mask_pass in _NEAR_DIGITS:
        if isinstance(mask_pass, _Hinted):
            if ascii_text and not mask_pass.ascii_hint.search(lowered):
                continue
            mask_pass = mask_pass.pattern
        masked = mask_pass.sub(_blank, chunk)
        if masked != chunk:
            chunk, lowered = masked, masked.lower()
    if ascii_text and not _ID_HINT.search(lowered):
        return chunk
    return _mask_labelled_ids(chunk)


def _mask_labelled_ids(text: str) -> str:
    spans = []
    for match in _ID_LABEL.finditer(text):
        if _OTP_RIGHT_BEFORE.search(text, max(0, match.start() - 20), match.start()):
            continue
        spans.append(match.span("id"))
    return _blank_spans(text, spans)

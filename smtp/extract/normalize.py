"""Turn subject, text and HTML parts into one normalised visible text.

Everything downstream (masking, candidates, scoring, customer regexes) works on the output of
this module, so it is the single place that decides what "the text of the mail" is.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from dataclasses import dataclass, field

# Hostile mail must not cost more than a few milliseconds: nothing past these caps is read.
MAX_TEXT_CHARS = 200_000
MAX_HTML_CHARS = 400_000

# Zero-width and invisible formatting characters that senders sprinkle between digits to
# defeat scrapers (or that editors leave behind): ZWSP, ZWNJ, ZWJ, LRM/RLM, word joiner, BOM,
# soft hyphen, and the bidi embedding/isolate controls.
_INVISIBLE = (
    "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff"
    + "".join(chr(c) for c in range(0x202A, 0x202F))
    + "".join(chr(c) for c in range(0x2066, 0x206A))
)


def _digit_table() -> dict[int, str]:
    """Map every non-ASCII decimal digit we expect in mail to its ASCII digit.

    NFKC already folds full-width digits; Arabic-Indic, Persian, Devanagari, Bengali and Thai
    digits survive NFKC, so they are mapped here.
    """
    table: dict[int, str] = {}
    for zero in (0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x07C0, 0x0AE6, 0x0BE6, 0x1040):
        for offset in range(10):
            table[zero + offset] = str(offset)
    for ch in _INVISIBLE:
        table[ord(ch)] = ""
    # Arabic thousands/decimal separators become their Latin counterparts.
    table[0x066C] = ","
    table[0x066B] = "."
    return table


_TRANSLATE = _digit_table()
# Horizontal whitespace runs other than a lone space (replacing those changes nothing, and
# each replacement costs a Python-level step: a 2 KB mail has hundreds).
_HSPACE = re.compile(r"[^\S\n](?:(?<! )|(?=[^\S\n]))[^\S\n]*")
_SPACE_AROUND_NL = re.compile(r" *\n[ \n]*")


def normalize_text(raw: str) -> str:
    """NFKC, drop invisibles, ASCII digits, collapse horizontal space, at most one blank line."""
    text = unicodedata.normalize("NFKC", raw[:MAX_TEXT_CHARS]).translate(_TRANSLATE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HSPACE.sub(" ", text)
    text = _SPACE_AROUND_NL.sub(_keep_one_blank_line, text)
    return text.strip()


def _keep_one_blank_line(match: re.Match[str]) -> str:
    return "\n\n" if match.group(0).count("\n") > 1 else "\n"


# --- HTML -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<![^>]*>|<\?[^>]*>"
    # Attribute text may not contain "<" and quoted values are bounded, so a tag that never
    # closes costs at most a few thousand characters of scanning, not the rest of the mail.
    r"|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^<>\"']|\"[^\"<]{0,4000}\"|'[^'<]{0,4000}')*)>",
    re.S,
)
_ATTR = re.compile(r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*(?:=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
# Elements whose content is never shown to the reader.
_SKIP = frozenset({"head", "style", "script", "title", "template", "noscript", "svg", "xml"})
_VOID = frozenset(
    {"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "wbr", "source"}
)
_BLOCK = frozenset(
    {
        "p", "div", "br", "tr", "table", "tbody", "li", "ul", "ol", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "blockquote", "pre", "section", "article", "header", "footer",
        "center", "dd", "dt", "dl", "address", "body", "html", "form", "fieldset",
    }
)  # fmt: skip
_CELL = frozenset({"td", "th"})
# Deeper nesting than this is never layout, only hostility; deeper tags are ignored.
_MAX_DEPTH = 256
# An element with more text than this is not a code nor a button label.
_MAX_INNER = 120
_EMPHASIS_TAGS = frozenset({"b", "strong", "h1", "h2", "h3", "code", "kbd", "tt", "big", "mark"})
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|max-height\s*:\s*0|font-size\s*:\s*0"
    r"|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)|mso-hide\s*:\s*all"
)
# Codes are usually shown big, bold, spaced or monospaced: any of these marks an emphasis.
_EMPHASIS_STYLE = re.compile(
    r"letter-spacing\s*:\s*[1-9]|font-weight\s*:\s*(?:bold|[6-9]00)|font-size\s*:\s*(?:"
    r"(?:[2-9]\d|1[89])px|(?:1[4-9]|[2-9]\d)pt|[2-9](?:\.\d+)?em|1\.[5-9]\d*em|x+-large)"
    r"|monospace|courier"
)
_EMPHASIS_CLASS = re.compile(r"otp|code|pin|token|verification")
_BUTTON_STYLE = re.compile(r"background(?:-color)?\s*:|border-radius|padding\s*:")
_BUTTON_CLASS = re.compile(r"btn|button|cta")


@dataclass
class Anchor:
    href: str
    text: str
    button_like: bool


@dataclass
class HtmlDoc:
    text: str = ""
    preheader: str = ""
    emphasized: list[str] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)


@dataclass
class _Frame:
    tag: str
    hidden: bool
    emphasized: bool
    start: int  # index into the output parts where this element's text begins
    anchor: Anchor | None = None


def parse_attrs(raw: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for name, value in _ATTR.findall(raw):
        if value[:1] in "\"'":
            value = value[1:-1]
        attrs.setdefault(name.lower(), html_lib.unescape(value))
    return attrs


def render_html(markup: str) -> HtmlDoc:
    """Visible text of an HTML body plus the signals scoring needs.

    A small regex tokenizer is used instead of html.parser: it is several times faster on
    mail-sized documents, and mail HTML is too broken for strictness to buy anything.
    """
    markup = markup[:MAX_HTML_CHARS]
    doc = HtmlDoc()
    visible: list[str] = []
    hidden: list[str] = []
    stack: list[_Frame] = []
    skip_depth = 0
    skip_tag = ""
    pos = 0

    def add_text(chunk: str) -> None:
        if not chunk:
            return
        chunk = html_lib.unescape(chunk)
        if stack and stack[-1].hidden:
            hidden.append(chunk)
        else:
            visible.append(chunk)

    for token in _TOKEN.finditer(markup):
        if skip_depth == 0:
            add_text(markup[pos : token.start()])
        pos = token.end()
        closing, tag, raw_attrs = token.group(1), token.group(2), token.group(3)
        if not tag:
            continue  # comment, doctype, CDATA
        tag = tag.lower()
        if skip_depth:
            # Inside <style>/<script>/...: only the matching close tag matters.
            if tag == skip_tag:
                skip_depth += -1 if closing else 1
            continue
        if tag in _SKIP and not closing and not raw_attrs.rstrip().endswith("/"):
            skip_depth, skip_tag = 1, tag
            continue
        if closing:
            _close(tag, stack, visible, doc)
        else:
            self_closing = tag in _VOID or raw_attrs.rstrip().endswith("/")
            if not self_closing and len(stack) < _MAX_DEPTH:
                stack.append(_open(tag, raw_attrs, stack, len(visible)))
        if tag in _BLOCK:
            (hidden if stack and stack[-1].hidden else visible).append("\n")
        elif tag in _CELL:
            visible.append(" ")
    if skip_depth == 0:
        add_text(markup[pos:])
    while stack:
        _close(stack[-1].tag, stack, visible, doc)
    doc.text = normalize_text("".join(visible))
    doc.preheader = normalize_text(" ".join(hidden))
    return doc


def _open(tag: str, raw_attrs: str, stack: list[_Frame], start: int) -> _Frame:
    attrs = parse_attrs(raw_attrs) if raw_attrs.strip() else {}
    # Lowercased once so the style patterns can skip IGNORECASE (slow on long inline styles).
    style = attrs.get("style", "").lower()
    klass = (attrs.get("class", "") + " " + attrs.get("id", "")).lower()
    parent_hidden = bool(stack) and stack[-1].hidden
    hidden = parent_hidden or bool(_HIDDEN_STYLE.search(style)) or "hidden" in attrs
    emphasized = (
        tag in _EMPHASIS_TAGS
        or bool(_EMPHASIS_STYLE.search(style))
        or bool(_EMPHASIS_CLASS.search(klass))
    )
    frame = _Frame(tag, hidden, emphasized, start)
    if tag == "a" and "href" in attrs:
        button_like = bool(_BUTTON_STYLE.search(style) or _BUTTON_CLASS.search(klass))
        frame.anchor = Anchor(attrs["href"].strip(), "", button_like)
    elif tag in _CELL or tag == "table":
        # A button is often a cell with a background wrapping the <a>.
        frame.emphasized = emphasized or "background" in style
    return frame


def _close(tag: str, stack: list[_Frame], visible: list[str], doc: HtmlDoc) -> None:
    # Tolerate unclosed elements: pop up to the matching open tag, ignore stray closes.
    for depth in range(len(stack) - 1, max(-1, len(stack) - 12), -1):
        if stack[depth].tag == tag:
            break
    else:
        return
    while len(stack) > depth:
        frame = stack.pop()
        if frame.anchor is None and not frame.emphasized:
            continue
        inner = _inner_text(visible, frame.start)
        if frame.anchor is not None:
            frame.anchor.text = inner
            if any(f.emphasized and f.tag in _CELL for f in stack[-3:]):
                frame.anchor.button_like = True
            doc.anchors.append(frame.anchor)
        if frame.emphasized and not frame.hidden and 0 < len(inner) <= 40:
            doc.emphasized.append(normalize_text(inner))


def _inner_text(parts: list[str], start: int) -> str:
    """The element's text, or "" when it is longer than _MAX_INNER (keeps closing linear)."""
    total = 0
    for index in range(start, len(parts)):
        total += len(parts[index])
        if total > _MAX_INNER * 4:
            return ""
    inner = " ".join("".join(parts[start:]).split())
    return inner if len(inner) <= _MAX_INNER else ""


def text_from_html(markup: str) -> str:
    return render_html(markup).text

"""HTML mail is hostile: this is the one place that turns it into something showable.

nh3 (ammonia, html5ever: the browser's own parsing rules) with an e-mail allow-list:
no scripts, event handlers, forms, frames, SVG/MathML or ``<style>`` blocks (their
content is dropped, not shown as text); ``javascript:``/``vbscript:`` URLs never pass
and ``data:`` only as a raster image; inline ``style`` keeps only layout-safe
properties (nothing that can carry ``url()``, nor ``position``). Remote images are
dropped unless the reader asked for them. The result is still rendered only inside a
sandboxed, script-less iframe under its own CSP (see ``web/orders.py``): the
sanitiser is one of two independent walls, never the only one.

Never post-process the sanitised output with regexes (Roundcube CVE-2024-42009).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3

TAGS = {
    "a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "caption",
    "center", "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt",
    "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
    "var", "wbr",
}  # fmt: skip
# Dropped together with their content: text inside them is code or invisible chrome.
CONTENT_DROPPED = {"script", "style", "title", "head", "noscript", "template", "svg", "math"}
COMMON = {
    "align", "bgcolor", "class", "dir", "height", "lang", "style", "title", "valign", "width",
}  # fmt: skip
ATTRIBUTES = {
    "*": COMMON,
    "a": {"href", "name"},
    "img": {"src", "alt", "border", "hspace", "vspace"},
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
}
# Properties that take no URL and cannot lift content out of the message's box.
STYLE_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-collapse", "border-color",
    "border-left", "border-radius", "border-right", "border-spacing", "border-style",
    "border-top", "border-width", "color", "direction", "display", "font", "font-family",
    "font-size", "font-style", "font-variant", "font-weight", "height", "letter-spacing",
    "line-height", "margin", "margin-bottom", "margin-left", "margin-right", "margin-top",
    "max-height", "max-width", "min-height", "min-width", "padding", "padding-bottom",
    "padding-left", "padding-right", "padding-top", "table-layout", "text-align",
    "text-decoration", "text-indent", "text-transform", "vertical-align", "white-space",
    "width", "word-break", "word-spacing", "word-wrap",
}  # fmt: skip
# cid: is dropped: inline parts are not served (yet), and the browser would try to load it.
URL_SCHEMES = {"http", "https", "mailto", "data"}
# data: URLs are images only, and only raster formats: an SVG can carry script.
_RASTER_DATA = re.compile(r"^data:image/(png|gif|jpe?g|webp|bmp);base64,[a-z0-9+/=\s]*$", re.I)
_REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
# Even in allowed properties, a value must not smuggle a function call or an escape.
_STYLE_VALUE_BAD = re.compile(r"url\s*\(|expression|image-set|@import|\\|/\*", re.I)


@dataclass(frozen=True)
class CleanHtml:
    html: str
    blocked_images: int  # remote images removed because the reader did not ask for them


def clean_mail_html(html: str, *, remote_images: bool = False) -> CleanHtml:
    """Sanitise one HTML body; remote images only when ``remote_images``."""
    if not html:
        return CleanHtml("", 0)
    blocked = 0

    def keep(tag: str, attr: str, value: str) -> str | None:
        nonlocal blocked
        if attr == "src":
            if value.lower().startswith("data:"):
                return value if tag == "img" and _RASTER_DATA.match(value) else None
            if _REMOTE.match(value) and not remote_images:
                blocked += 1
                return None
            return value
        if attr == "href" and value.strip().lower().startswith(("data:", "cid:")):
            return None
        if attr == "style" and _STYLE_VALUE_BAD.search(value):
            return None
        return value

    cleaned = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=CONTENT_DROPPED,
        attributes=ATTRIBUTES,
        attribute_filter=keep,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties=STYLE_PROPERTIES,
        # A relative URL would resolve against our own origin, with the reader's cookies.
        url_relative="deny",
    )
    return CleanHtml(cleaned, blocked)


def sanitize_html(html: str) -> str:
    """The sanitised HTML with remote images kept (the JSON API leaves that choice to clients)."""
    return clean_mail_html(html, remote_images=True).html

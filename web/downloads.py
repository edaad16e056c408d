"""Serving stored mail back safely: download headers and the message-body CSP.

Attachments and raw messages are always downloads, never rendered from our origin:
a declared ``text/html`` or ``image/svg+xml`` served inline would run in our origin
(Roundcube CVE-2024-42008, Mailpit 1.30.6). Only inert types keep their declared type.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Response

# Types a browser will not execute; anything else is served as opaque bytes.
INERT_TYPES = {
    "application/pdf", "application/zip", "application/gzip", "application/json",
    "application/msword", "application/vnd.ms-excel", "message/rfc822", "text/plain",
    "text/csv", "text/calendar", "image/png", "image/jpeg", "image/gif", "image/webp",
    "image/bmp", "audio/mpeg", "audio/ogg", "video/mp4",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}  # fmt: skip


def download_type(declared: str) -> str:
    kind = (declared or "").split(";", 1)[0].strip().lower()
    return kind if kind in INERT_TYPES else "application/octet-stream"


def _ascii_fallback(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in plain).strip(" .")
    return safe[:100] or "download"


def _clean_name(name: str) -> str:
    """No control characters (header injection), no path (traversal on save)."""
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "download"


def download(response: Response, filename: str) -> Response:
    """Mark ``response`` as a download named ``filename`` that nothing may render or sniff."""
    name = _clean_name(filename)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def body_csp(*, remote_images: bool) -> str:
    """The policy of a sanitised message body: no script, no fetch, no form, no navigation
    of the page that frames it; images only inline unless the reader asked for remote ones."""
    images = "data: https: http:" if remote_images else "data:"
    return (
        f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; "
        "script-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; "
        "sandbox allow-popups allow-popups-to-escape-sandbox"
    )

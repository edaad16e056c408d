"""One-time code and verification-link extraction (issue 5).

Pipeline: normalise (normalize.py) -> origin-bound `@domain #code` line -> blank non-code
spans (mask.py) -> code-shaped candidates (candidates.py) -> multilingual keyword evidence and
scoring with a hard gate (keywords.py, scoring.py); links are judged separately (links.py).
See docs/extraction.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import regex

from smtp.extract.candidates import find_candidates
from smtp.extract.focus import focus
from smtp.extract.keywords import mentions_a_keyword
from smtp.extract.links import find_link, link_values
from smtp.extract.mask import cut_footer, mask
from smtp.extract.normalize import HtmlDoc, normalize_text, render_html
from smtp.extract.scoring import Segment, best_code

__all__ = ["Extraction", "apply_regex", "extract", "validate_regex", "visible_text"]

REGEX_TIMEOUT_SECONDS = 0.2
# Codes sit near the top of a mail; reading more visible text than this only costs time (and
# lets hostile mail cost more). Customer regexes still see the whole visible_text().
MAX_ANALYSED_CHARS = 12_000
MAX_REGEX_LENGTH = 500

# WebKit/WICG origin-bound one-time codes: the last line is "@example.com #123456", optionally
# followed by " @embedding.example" or a "%" iframe origin.
_ORIGIN_BOUND = re.compile(
    r"^@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+)"
    r"\s+#(?P<code>[A-Za-z0-9-]{4,12})(?:\s+[@%]\S+)?\s*$",
    re.M,
)


@dataclass(frozen=True)
class Extraction:
    code: str | None  # the one-time code as the user types it (see docs/extraction.md)
    link: str | None  # best verification/magic link, &amp; decoded
    confidence: float  # 0..1, of the code if there is one, else of the link
    reason: str  # short human-readable explanation


NOTHING = Extraction(None, None, 0.0, "no code or verification link found")


def extract(subject: str | None, text: str | None, html: str | None) -> Extraction:
    subject_text = normalize_text(subject or "")
    doc = render_html(html) if html and html.strip() else HtmlDoc()
    text_body = normalize_text(text)[:MAX_ANALYSED_CHARS] if text and text.strip() else ""
    doc.text = doc.text[:MAX_ANALYSED_CHARS]
    doc.preheader = doc.preheader[:1000]
    subject_text = subject_text[:1000]
    bodies = [body for body in (doc.text, text_body) if body]

    choice = find_link(doc.anchors, bodies)
    link = choice.url if choice else None

    origin_bound = _origin_bound_code([subject_text, *bodies])
    if origin_bound is not None:
        code, domain = origin_bound
        return Extraction(code, link, 0.99, f"origin-bound line '@{domain} #{code}'")

    url_values = link_values(doc.anchors, bodies)
    # The HTML part carries emphasis and the pre-header, so it is read first; a text part is
    # the fallback for mails whose HTML is a stub (or absent).
    attempts = []
    if doc.text:
        attempts.append((doc.text, doc.preheader, doc.emphasized))
    if text_body:
        attempts.append((text_body, "", []))
    for body, preheader, emphasized in attempts:
        head = f"{subject_text}\n{preheader}"
        body = focus(cut_footer(body), from_start=bool(find_candidates(head)))
        if not mentions_a_keyword(f"{head}\n{body}"):
            continue  # the hard gate: no keyword, no code
        masked, segments = _masked_document(subject_text, preheader, body)
        scored = best_code(masked, segments, emphasized, url_values)
        if scored is not None:
            confidence = round(min(0.99, 0.4 + scored.score / 14), 2)
            return Extraction(scored.candidate.value, link, confidence, "; ".join(scored.reasons))
    if choice is not None:
        return Extraction(None, link, round(min(0.95, 0.3 + choice.score / 15), 2), choice.reason)
    return NOTHING


def _masked_document(subject: str, preheader: str, body: str) -> tuple[str, list[Segment]]:
    """Subject, pre-header and (footer-less, focused) body, masked, joined by blank lines."""
    parts = [("subject", mask(subject)), ("preheader", mask(preheader)), ("body", mask(body))]
    segments: list[Segment] = []
    chunks: list[str] = []
    offset = 0
    for kind, chunk in parts:
        segments.append(Segment(kind, offset, offset + len(chunk)))
        chunks.append(chunk)
        offset += len(chunk) + 2
    return "\n\n".join(chunks), segments


def _origin_bound_code(texts: list[str]) -> tuple[str, str] | None:
    for text in texts:
        # The spec puts the line last, so the last one wins.
        matches = list(_ORIGIN_BOUND.finditer(text))
        if matches:
            return matches[-1].group("code"), matches[-1].group("domain")
    return None


def visible_text(subject: str | None, text: str | None, html: str | None) -> str:
    """Subject line, then the text body or, when there is none, the HTML's visible text."""
    body = normalize_text(text) if text and text.strip() else ""
    if not body and html:
        body = render_html(html).text
    return f"{normalize_text(subject or '')}\n{body}"


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def validate_regex(pattern: str) -> None:
    """Raise ValueError unless `pattern` is a usable customer regex."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("regex must be a non-empty string")
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ValueError(f"regex longer than {MAX_REGEX_LENGTH} characters")
    try:
        _compiled(pattern)
    except regex.error as exc:
        raise ValueError(f"invalid regex: {exc}") from exc


def apply_regex(
    pattern: str, subject: str | None, text: str | None, html: str | None
) -> str | None:
    """First match of a customer regex over visible_text(): group 1 if it has groups.

    The `regex` module's timeout bounds catastrophic patterns, so one customer cannot stall
    the SMTP daemon; a timed-out or invalid pattern yields None.
    """
    try:
        validate_regex(pattern)
        match = _compiled(pattern).search(
            visible_text(subject, text, html), timeout=REGEX_TIMEOUT_SECONDS
        )
    except (ValueError, TimeoutError):
        return None
    if match is None:
        return None
    return match.group(1) if match.re.groups else match.group(0)

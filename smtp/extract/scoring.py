"""Score code candidates and decide whether any of them is convincing.

Additive evidence, each piece with a reason string so a wrong answer can be explained:
keyword proximity (the strongest signal), standing alone on a line, HTML emphasis, appearing
in the subject, repetition, and the code's shape. A candidate with no keyword evidence is
never accepted, however good it looks: that gate is what keeps newsletters, invoices and
"your password was changed" notices at code=None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from smtp.extract.candidates import Candidate, Shape, find_candidates
from smtp.extract.keywords import KeywordHit, find_keywords, not_an_otp_spans

ACCEPT_SCORE = 2.5
# Bounds that keep scoring linear on hostile mail; real mails have a few dozen candidates.
MAX_CANDIDATES = 300
KEYWORD_HORIZON = 400  # keywords further than this many raw characters are never close enough
_WHITESPACE = re.compile(r"\s+")
_WORDISH = re.compile(r"[^\W_]")
# All-letter words that show up alone on a line (headings, buttons) and are not codes.
_LETTER_STOPWORDS = frozenset(
    {"WELCOME", "VERIFY", "CONFIRM", "ACTIVATE", "ACCOUNT", "SECURITY", "PASSWORD", "LOGIN",
     "SIGNIN", "IMPORTANT", "NOTICE", "REMINDER", "HELLO", "THANKS", "SUPPORT", "WARNING",
     "ATTENTION", "BITTE", "ACHTUNG", "HINWEIS", "ALERT", "URGENT", "UPDATE", "CONTINUE"}
)  # fmt: skip


@dataclass(frozen=True)
class Segment:
    kind: str  # "subject", "preheader" or "body"
    start: int
    end: int


@dataclass
class Scored:
    candidate: Candidate
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    rejected: str | None = None

    def add(self, points: float, reason: str) -> None:
        self.score += points
        self.reasons.append(reason)


def best_code(
    masked: str,
    segments: list[Segment],
    emphasized: list[str],
    url_values: set[str],
) -> Scored | None:
    """The highest-scoring accepted candidate, or None when nothing is convincing."""
    candidates = find_candidates(masked)[:MAX_CANDIDATES]
    if not candidates:
        return None
    anti = not_an_otp_spans(masked)
    hits = find_keywords(masked, anti)
    values = [c.value for c in candidates]
    listed = _listed_values(masked, candidates)
    best: Scored | None = None
    for candidate in candidates:
        scored = _score(candidate, masked, segments, hits, anti, emphasized, url_values, values)
        if candidate.value in listed:
            scored.rejected = "one of a list of codes (recovery/backup codes)"
        if scored.rejected or scored.score < ACCEPT_SCORE:
            continue
        if best is None or scored.score > best.score:
            best = scored
    return best


def _score(
    cand: Candidate,
    masked: str,
    segments: list[Segment],
    hits: list[KeywordHit],
    anti: list[tuple[int, int]],
    emphasized: list[str],
    url_values: set[str],
    values: list[str],
) -> Scored:
    scored = Scored(cand)
    segment = _segment_of(cand.start, segments)
    line = _line_of(masked, cand.start, cand.end)
    alone = not _WORDISH.search(line.replace(cand.raw, "", 1))
    emph = any(cand.raw in text and len(text) <= len(cand.raw) + 24 for text in emphasized)

    if any(start <= cand.start and 0 <= cand.start - end <= 25 for start, end in anti):
        scored.rejected = "follows a promo/zip/… code phrase"
        return scored
    if cand.shape in (Shape.LETTERS, Shape.MIXED_CASE):
        if not (alone or emph) or cand.raw.replace("-", "") in _LETTER_STOPWORDS:
            scored.rejected = "letters-only token not standing alone"
            return scored
        if find_keywords(cand.raw.lower()):
            scored.rejected = "token is itself a keyword"
            return scored

    strong = _nearest(cand, hits, masked, segments, strong=True)
    weak = _nearest(cand, hits, masked, segments, strong=False)
    standout = alone or emph
    keyword_ok = (strong is not None and (strong[0] <= 40 or (strong[0] <= 160 and standout))) or (
        weak is not None and weak[0] <= 40 and standout
    )
    if not keyword_ok:
        scored.rejected = "no code keyword close enough"
        return scored

    if strong is not None and strong[0] <= 160:
        distance, word = strong
        scored.add(4.0 * max(0.15, 1 - distance / 120), f"keyword '{word}' {distance} chars away")
    if weak is not None and weak[0] <= 60:
        distance, word = weak
        scored.add(1.5 * max(0.0, 1 - distance / 60), f"weak keyword '{word}' {distance} away")
    if alone:
        scored.add(2.0, "alone on line")
    if emph:
        scored.add(1.5, "emphasised")
    if segment.kind == "subject":
        scored.add(1.0, "in subject")
    elif segment.kind == "preheader":
        scored.add(-0.5, "only in pre-header")
    if values.count(cand.value) > 1:
        scored.add(1.0, "repeated")
    if cand.value in url_values:
        scored.add(1.0, "also in a link")
    _score_shape(scored, masked)
    return scored


def _score_shape(scored: Scored, masked: str) -> None:
    cand = scored.candidate
    if cand.shape is Shape.DIGITS:
        if len(cand.value) == 6:
            scored.add(0.7, "6 digits")
        elif len(cand.value) == 4 and 1900 <= int(cand.value) <= 2099:
            scored.add(-1.0, "looks like a year")
        else:
            scored.add(0.3, f"{len(cand.value)} digits")
    elif cand.shape is Shape.GROUPED:
        scored.add(0.5, "digit groups")
    elif cand.shape is Shape.PREFIXED:
        scored.add(1.0, "letter-prefixed code")
    elif cand.shape is Shape.LETTERS:
        scored.add(-1.0, "letters only")
    elif cand.shape is Shape.MIXED_CASE:
        scored.add(-1.5, "mixed-case token")
    before = masked[max(0, cand.start - 2) : cand.start]
    if "#" in before or "№" in before:
        scored.add(-2.0, "'#' before it (an ID)")


def _segment_of(pos: int, segments: list[Segment]) -> Segment:
    for segment in segments:
        if segment.start <= pos < segment.end:
            return segment
    return segments[-1]


def _line_of(text: str, start: int, end: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return text[line_start : len(text) if line_end < 0 else line_end]


def _nearest(
    cand: Candidate,
    hits: list[KeywordHit],
    masked: str,
    segments: list[Segment],
    strong: bool,
) -> tuple[int, str] | None:
    """Minimum distance over all occurrences of a keyword class, in collapsed characters.

    Whitespace runs (including blanked spans) count as one character, a paragraph break adds
    10 and crossing from subject/pre-header to body adds 30: a keyword in another block is
    weaker evidence than one in the same sentence.
    """
    best: tuple[int, str] | None = None
    cand_segment = _segment_of(cand.start, segments)
    for hit in hits:
        if hit.strong is not strong:
            continue
        if cand.start <= hit.start < cand.end or abs(hit.start - cand.start) > KEYWORD_HORIZON:
            continue
        if hit.end <= cand.start:
            between = masked[hit.end : cand.start]
        elif hit.start >= cand.end:
            between = masked[cand.end : hit.start]
        else:
            continue
        distance = len(_WHITESPACE.sub(" ", between))
        if "\n\n" in between:
            distance += 10
        if hit.start >= cand.end:
            distance += 5  # "123456 is your code" is fine, but "code: X" is the usual order
        if _segment_of(hit.start, segments) is not cand_segment:
            distance += 30
        if best is None or distance < best[0]:
            best = (distance, hit.word)
    return best


def _listed_values(masked: str, candidates: list[Candidate]) -> set[str]:
    """Values that stand alone on three or more consecutive lines: a list of recovery codes."""
    alone_lines: list[tuple[int, str]] = []
    for cand in candidates:
        line = _line_of(masked, cand.start, cand.end)
        if not _WORDISH.search(line.replace(cand.raw, "", 1)):
            alone_lines.append((masked.count("\n", 0, cand.start), cand.value))
    listed: set[str] = set()
    run: list[tuple[int, str]] = []
    for line_no, value in alone_lines:
        if run and line_no - run[-1][0] > 2:
            run = []
        run.append((line_no, value))
        if len({v for _, v in run}) >= 3:
            listed.update(v for _, v in run)
    return listed

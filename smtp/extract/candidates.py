"""Find strings shaped like one-time codes in masked text.

Boundaries are ASCII-only on purpose: `\b` and `\\w` treat CJK, Hangul and Thai as word
characters, which would hide codes glued to particles (27961116를) or ideographs (码482910).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum


class Shape(Enum):
    DIGITS = "digits"  # 4-8 digits
    GROUPED = "grouped"  # 123 456, 123-456, 1234-5678, 123 456 789, 1 2 3 4 5 6
    PREFIXED = "prefixed"  # G-123456
    ALNUM = "alnum"  # 4-10 uppercase letters and digits, at least one of each
    LETTERS = "letters"  # all letters (BCDF-GHJK, QWERTY); only trusted when standing alone
    MIXED_CASE = "mixed_case"  # aB3dE9xQ; only trusted when standing alone


@dataclass(frozen=True)
class Candidate:
    value: str  # what the user types
    raw: str  # as it appears in the text
    start: int
    end: int
    shape: Shape


_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9_])(?<![A-Za-z0-9][-./])"
    r"(?:"
    r"(?P<prefixed>[A-Z]{1,3}-\d{4,8})"
    r"|(?P<grouped>\d{3}(?P<s1>[ -])\d{3}(?:(?P=s1)\d{3})?|\d{4}[ -]\d{4}"
    r"|\d{2}(?P<s2>[ -])\d{2}(?P=s2)\d{2}|\d(?: \d){3,7})"
    r"|(?P<digits>\d{4,8})"
    r"|(?P<alnum>[A-Z0-9]{3,5}-[A-Z0-9]{3,5}|[A-Z0-9]{4,10})"
    r"|(?P<mixed>[A-Za-z0-9]{6,10})"
    r")"
    r"(?![A-Za-z0-9_])(?![-./][A-Za-z0-9])"
)
_HAS_DIGIT = re.compile(r"\d")
_HAS_LETTER = re.compile(r"[A-Za-z]")
_UPPER_OR_DIGIT = re.compile(r"[A-Z\d]")
_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_")  # _CANDIDATE's lookbehind


def find_candidates(masked: str) -> list[Candidate]:
    found: list[Candidate] = []
    for match in _matches(masked):
        raw = match.group(0)
        shape = _shape_of(match)
        if shape is None:
            continue
        found.append(Candidate(_typed_value(raw, shape), raw, match.start(), match.end(), shape))
    return found


def _matches(text: str) -> Iterator[re.Match[str]]:
    """_CANDIDATE.finditer(text), less (most) matches with no uppercase letter or digit.

    Those are lowercase words that _shape_of drops anyway, and no other match can overlap
    them (only `mixed` takes lowercase letters, and its boundaries are those of the word).
    Every other match starts at, or at the start of the word of, an uppercase letter or
    digit, so the pattern (two lookbehinds first: re cannot skip ahead) is tried only there,
    and re skips in C from one such character to the next. Each try is the same pattern at
    the same position of the same string, so the matches are exactly finditer's.
    """
    pos = 0
    while (hit := _UPPER_OR_DIGIT.search(text, pos)) is not None:
        start = hit.start()
        while start > pos and text[start - 1] in _WORD_CHARS:
            start -= 1  # inside a word only its start can match (the lookbehind)
        match = _CANDIDATE.match(text, start)
        if match is None:
            pos = hit.start() + 1
        else:
            yield match
            pos = match.end()


def _shape_of(match: re.Match[str]) -> Shape | None:
    kind = match.lastgroup
    raw = match.group(0)
    if kind == "prefixed":
        return Shape.PREFIXED
    if kind == "grouped":
        return Shape.GROUPED
    if kind == "digits":
        return Shape.DIGITS
    has_digit = bool(_HAS_DIGIT.search(raw))
    if kind == "alnum":
        if not has_digit:
            return Shape.LETTERS if len(raw.replace("-", "")) >= 6 else None
        return Shape.ALNUM if _HAS_LETTER.search(raw) else None
    # Mixed case needs both letters and digits; plain words ("Welcome") are dropped here.
    if kind == "mixed" and has_digit and _HAS_LETTER.search(raw):
        return Shape.MIXED_CASE
    return None


def _typed_value(raw: str, shape: Shape) -> str:
    """The code as the user types it into the form.

    Digit groups are a display aid, so separators go; the letter prefix of `G-123456` is a
    sender label that forms don't accept, so it goes too. Letter/digit codes with a dash
    (BCDF-GHJK, A8D-291) keep it: the services that show them accept it as shown.
    """
    if shape is Shape.GROUPED:
        return re.sub(r"[ -]", "", raw)
    if shape is Shape.PREFIXED:
        return raw.split("-", 1)[1]
    return raw

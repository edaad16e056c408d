"""Find strings shaped like one-time codes in masked text.

Boundaries are ASCII-only on purpose: `\b` and `\\w` treat CJK, Hangul and Thai as word
characters, which would hide codes glued to particles (27961116를) or ideographs (码482910).
"""

from __future__ import annotations

import re
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


def find_candidates(masked: str) -> list[Candidate]:
    found: list[Candidate] = []
    for match in _CANDIDATE.finditer(masked):
        raw = match.group(0)
        shape = _shape_of(match)
        if shape is None:
            continue
        found.append(Candidate(_typed_value(raw, shape), raw, match.start(), match.end(), shape))
    return found


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

"""Word-list alternations that Python's re can search quickly.

re tries the alternatives of ``a|b|c`` one after the other at every position it searches
from, so a list of a hundred words costs a hundred attempts per character of mail: with
IGNORECASE not even the first character is checked before an attempt starts. Grouping the
alternatives by first character (``c(?:ode|lave)|p(?:in|asscode)``) makes all but one group
fail at that first character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_QUANTIFIERS = ("?", "*", "+", "{")


def by_first_char(alternatives: Iterable[str], flags: int = 0) -> str:
    """``|``-join regex alternatives, grouped by first character; the matches are the same.

    Alternatives with different first characters never match at the same position, and the
    order inside a group is kept, so the alternative that wins is the one the plain join
    would pick. That needs each alternative to start with a literal character that no
    quantifier applies to; under IGNORECASE, two different first characters that match each
    other (k and K, i and ı) are refused, since merging or splitting them could reorder.
    """
    groups: dict[str, list[str]] = {}
    for alternative in alternatives:
        first, rest = alternative[:1], alternative[1:]
        if not first or re.escape(first) != first or rest.startswith(_QUANTIFIERS):
            raise ValueError(f"{alternative!r} does not start with a plain literal character")
        groups.setdefault(first, []).append(rest)
    if flags & re.IGNORECASE:
        _refuse_case_twins(list(groups), flags)
    return "|".join(
        first + (rests[0] if len(rests) == 1 else "(?:" + "|".join(rests) + ")")
        for first, rests in groups.items()
    )


def _refuse_case_twins(firsts: list[str], flags: int) -> None:
    for index, first in enumerate(firsts):
        for other in firsts[index + 1 :]:
            if re.fullmatch(first, other, flags) or re.fullmatch(other, first, flags):
                raise ValueError(f"first characters {first!r} and {other!r} match each other")


class CaselessWords:
    """An IGNORECASE search for a list of words (regex alternatives), fast on ASCII text.

    IGNORECASE literals are compared one by one at every position, while case-sensitive
    literal-first alternatives let re skip in C to the next possible first character: on
    ASCII text, lowercase alternatives matched against text.lower() find exactly what
    IGNORECASE finds, about ten times faster. Other text, where lower() can change lengths
    or fold differently from re, gets the IGNORECASE pattern. Either way only the positions
    of a match are meant to be used (on ASCII text its string is lowercased).
    """

    def __init__(self, alternatives: Iterable[str]) -> None:
        alternatives = list(alternatives)
        self.any_case = re.compile(by_first_char(alternatives, re.I), re.I)
        self.lowercase_ascii = re.compile(by_first_char(map(_for_lowered_ascii, alternatives)))

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        if text.isascii():
            return self.lowercase_ascii.search(text.lower(), pos)
        return self.any_case.search(text, pos)


def _for_lowered_ascii(alternative: str) -> str:
    """The alternative without IGNORECASE, for lowercased ASCII text.

    Uppercase literals would never match there, so they are refused. A non-ASCII letter that
    IGNORECASE matches to ASCII letters (ı matches i and I) matches their lowercase too.
    """
    if re.search("[A-Z]", re.sub(r"\\.", "", alternative)):
        raise ValueError(f"{alternative!r} has uppercase literals")
    pieces = []
    for char in alternative:
        twins = [] if char.isascii() else _ascii_twins(char)
        if not twins:
            pieces.append(char)
        elif "[" in alternative:
            raise ValueError(f"{alternative!r}: {char!r} in a character class")
        else:
            pieces.append("(?:" + "|".join([char, *twins]) + ")")
    return "".join(pieces)


def _ascii_twins(char: str) -> list[str]:
    return [a for a in "abcdefghijklmnopqrstuvwxyz" if re.fullmatch(re.escape(char), a, re.I)]


def for_lowered_ascii(alternatives: Iterable[str]) -> list[str]:
    """The IGNORECASE alternatives that can match ASCII text, rewritten for text.lower().

    An alternative with a non-ASCII character that must occur and that no ASCII letter
    matches (é, ж, 号) can never match ASCII text, so it is left out. The others are
    lowercased (escapes like ``\\S`` kept) and go through _for_lowered_ascii. Meant for
    hints that decide whether a pattern is worth running on ASCII text.
    """
    kept = []
    for alternative in alternatives:
        if _mandatory_non_ascii(alternative):
            continue
        lowered = re.sub(
            r"\\.|[A-Z]",
            lambda m: m.group(0) if m.group(0)[0] == "\\" else m.group(0).lower(),
            alternative,
        )
        kept.append(_for_lowered_ascii(lowered))
    return kept


def _mandatory_non_ascii(alternative: str) -> bool:
    """Whether a non-ASCII character without ASCII twins must occur in every match.

    Only characters outside groups and classes and not followed by a quantifier count; an
    alternative that has non-ASCII characters but none that count is refused.
    """
    depth = 0
    escaped = False
    has_non_ascii = False
    for index, char in enumerate(alternative):
        if escaped:
            escaped = False
            continue
        if char == "\\":
            escaped = True
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif not char.isascii():
            has_non_ascii = True
            optional = alternative[index + 1 : index + 2] in ("?", "*", "{")
            if depth == 0 and not optional and not _ascii_twins(char):
                return True
    if has_non_ascii:
        raise ValueError(f"{alternative!r}: its non-ASCII characters are all optional")
    return False

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

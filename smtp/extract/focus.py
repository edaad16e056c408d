"""Cut a body down to the lines that can matter for a one-time code.

Scoring never accepts a candidate without a keyword within ``KEYWORD_HORIZON`` raw
characters, so text further than that from every code-shaped token cannot change the answer.
Masking and keyword matching are the expensive steps (a few dozen regex passes each), so they
run only on windows of ``REACH`` characters around each candidate, snapped to whole lines.
Windows are joined by blank lines; as each keeps more than ``KEYWORD_HORIZON`` characters on
both sides of its candidates, a keyword in one window is always too far from a candidate in
another, exactly as in the full text.
"""

from __future__ import annotations

from smtp.extract.candidates import find_candidates
from smtp.extract.scoring import KEYWORD_HORIZON

# The keyword horizon plus room for masks whose match starts before a candidate's window.
REACH = KEYWORD_HORIZON + 120
SEPARATOR = "\n\n\n\n"


def focus(body: str, *, from_start: bool = False) -> str:
    """The windows of ``body`` around its candidates (and its start when ``from_start``)."""
    spans = [(cand.start, cand.end) for cand in find_candidates(body)]
    if from_start:
        spans.insert(0, (0, 0))
    windows: list[tuple[int, int]] = []
    for start, end in spans:
        low = body.rfind("\n", 0, max(0, start - REACH)) + 1
        high = body.find("\n", min(len(body), end + REACH))
        high = len(body) if high < 0 else high
        if windows and low <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], high))
        else:
            windows.append((low, high))
    if len(windows) == 1 and windows[0] == (0, len(body)):
        return body
    return SEPARATOR.join(body[low:high] for low, high in windows)

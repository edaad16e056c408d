"""Benchmark code extraction against a naive "first 4-8 digit run" extractor.

Usage: .venv/bin/python bench/bench_extract.py [--repeat N]

Over the labelled corpus (tests/data/extraction/corpus.py) it prints, for both extractors,
per-message time (median, p99) and accuracy: right / wrong (another code) / missed (no code
where one was expected) / false positives (a code where none was expected). It also times one
synthetic ~20 KB HTML mail. Nothing here asserts timing; it is a measuring tool.
"""

from __future__ import annotations

import argparse
import re
import runpy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smtp.extract import extract  # noqa: E402
from smtp.extract.normalize import render_html  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "extraction" / "corpus.py"
_NAIVE = re.compile(r"\d{4,8}")


def naive(subject: str | None, text: str | None, html: str | None) -> str | None:
    """What test harnesses do: the first 4-8 digit run of the text part (or of the raw HTML)."""
    match = _NAIVE.search("\n".join(part for part in (subject, text or html) if part))
    return match.group(0) if match else None


def ours(subject: str | None, text: str | None, html: str | None) -> str | None:
    return extract(subject, text, html).code


def measure(
    name: str, extractor: Callable[..., str | None], cases: list[dict], repeat: int
) -> None:
    timings: list[float] = []
    tally = {"right": 0, "wrong": 0, "missed": 0, "false positives": 0, "right none": 0}
    for case in cases:
        args = (case["subject"], case["text"], case["html"])
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            got = extractor(*args)
            best = min(best, time.perf_counter() - started)
        timings.append(best)
        expected = case["code"]
        if got == expected:
            tally["right" if expected is not None else "right none"] += 1
        elif expected is None:
            tally["false positives"] += 1
        elif got is None:
            tally["missed"] += 1
        else:
            tally["wrong"] += 1
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    with_code = sum(case["code"] is not None for case in cases)
    print(
        f"{name:<8} median {statistics.median(timings) * 1e3:7.3f} ms   p99 {p99 * 1e3:7.3f} ms"
        f"   right {tally['right']}/{with_code}  wrong {tally['wrong']}  missed "
        f"{tally['missed']}  false positives {tally['false positives']}/"
        f"{len(cases) - with_code}"
    )


def typical_html_mail() -> str:
    """A ~20 KB transactional mail: heavy inline-styled markup, about 1 KB of visible text."""
    spacer = (
        "<table role='presentation' width='100%' cellpadding='0' cellspacing='0' border='0' "
        "style='border-collapse:collapse;mso-table-lspace:0pt;mso-table-rspace:0pt;background-"
        "color:#ffffff'><tr><td style='padding:0 24px;font-family:-apple-system,Segoe UI,Roboto"
        ",Helvetica,Arial,sans-serif;font-size:14px;line-height:20px;color:#3c4043'>{text}"
        "</td></tr></table>"
    )
    lines = [
        "Hi Sam,", "Use this code to finish signing in to Acme:",
        "<div style='font-size:32px;letter-spacing:8px;font-weight:700'>482910</div>",
        "This code expires in 10 minutes.", "Order #5521873 · Total $1,249.00 · 12/03/2024",
        "If you didn't request this, you can ignore this email or call +1 (415) 555-0142.",
    ] + [""] * 40  # fmt: skip
    body = "".join(spacer.format(text=line) for line in lines)
    return (
        "<html><head><style>" + "td{color:#333333}" * 100 + "</style></head><body>"
        f"{body}<p>© 2024 Acme, 500 Howard St, San Francisco, CA 94105 · <a href='https://acme"
        ".example.com/unsubscribe'>Unsubscribe</a></p></body></html>"
    )


def big_html_mail() -> str:
    """A ~20 KB newsletter-style mail with 6 KB of number-heavy visible text (a worst case)."""
    row = (
        "<tr><td style='padding:8px;color:#555555;font-family:Arial'><p>Product update "
        "{i}: we shipped {i}42 improvements this quarter, see <a href='https://acme.example."
        "com/blog/{i}?utm_source=mail&amp;utm_medium=email'>the changelog</a>. Prices from "
        "$1{i}.99.</p></td></tr>"
    )
    rows = "".join(row.format(i=i) for i in range(60))
    return (
        "<html><head><style>td{color:#333333}</style></head><body><table>"
        "<tr><td><p>Your verification code is</p><h1 style='letter-spacing:6px'>482910</h1>"
        f"</td></tr>{rows}</table><p>© 2024 Acme · <a href='https://acme.example.com/"
        "unsubscribe'>Unsubscribe</a></p></body></html>"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per message (best is kept)")
    args = parser.parse_args()
    cases: list[dict] = runpy.run_path(str(CORPUS))["CASES"]
    print(f"corpus: {len(cases)} mails, {sum(c['code'] is not None for c in cases)} with a code")
    measure("extract", ours, cases, args.repeat)
    measure("naive", naive, cases, args.repeat)

    for label, html in (("typical", typical_html_mail()), ("number-heavy", big_html_mail())):
        runs = [_timed(lambda html=html: extract("Your code", None, html)) for _ in range(50)]
        render = min(_timed(lambda html=html: render_html(html)) for _ in range(20))
        print(
            f"{label} HTML mail ({len(html) / 1024:.1f} KB, "
            f"{len(render_html(html).text) / 1024:.1f} KB visible): extract median "
            f"{statistics.median(runs) * 1e3:.3f} ms (render alone {render * 1e3:.3f} ms), "
            f"code={extract('Your code', None, html).code}"
        )


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

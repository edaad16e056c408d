"""The SMTP pipeline's stages timed alone, in one process (where a message's CPU goes).

Each stage runs on the 2 KB code mail of ``bench/smtp_ingest.py`` against a fresh SQLite
database with live orders; figures are medians (or CPU per message for batches). The
reference is aiosmtpd's own address parse, measured in the same run as ours.

    .venv/bin/python bench/smtp_stages.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.smtp_durability import prepare  # noqa: E402
from bench.smtp_ingest import body  # noqa: E402


def median_us(fn: Callable[[int], object], runs: int, gap: float = 0.0) -> float:
    times = []
    for i in range(runs):
        if gap:
            time.sleep(gap)
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    return 1e6 * statistics.median(times)


def main() -> None:
    import mailparser
    from aiosmtpd.smtp import SMTP

    from models import mail
    from models.db import Database
    from smtp.extract import extract
    from smtp.parse import parse
    from smtp.protocol import ConnectionLimiter, OtpSMTP

    batches = (1, 4, 16, 64)
    per_size = 256
    url = f"sqlite:///{tempfile.mkdtemp(prefix='otpinbox-stages-')}/stages.db"
    addrs = prepare(url, 200 + per_size * len(batches))
    db = Database(url)
    raw = body(addrs[0], 1)

    def rcpt(i: int) -> None:
        with db.read() as session:
            mail.accepts_mail(session, addrs[i % 200])

    def show(label: str, fn: Callable[[int], object], runs: int, gap: float = 0.0) -> None:
        print(f"{label:<40} {median_us(fn, runs, gap):8.1f} us", flush=True)

    show("RCPT check (db.read + accepts_mail)", rcpt, 2000)
    show("RCPT check, 50 ms pause before each", rcpt, 100, 0.05)
    parsed = mailparser.parse_from_bytes(raw)
    subject, text = parsed.subject, "\n\n".join(parsed.text_plain)
    show("mail-parser alone", lambda i: mailparser.parse_from_bytes(raw), 2000)
    show("extract() alone", lambda i: extract(subject, text, ""), 2000)
    show("parse() (both, and the rest)", lambda i: parse(raw, "a@b", [addrs[0]]), 2000)
    theirs = SMTP(object())
    ours = OtpSMTP(object(), limiter=ConnectionLimiter(0, 0), data_timeout=60)
    arg = f"<{addrs[0]}>"
    show("address parse, aiosmtpd (reference)", lambda i: theirs._getaddr(arg), 5000)
    show("address parse, OtpSMTP", lambda i: ours._getaddr(arg), 5000)

    fresh = addrs[200:]
    inbound = [
        parse(body(rcpt, n), "noreply@example.com", [rcpt], "127.0.0.1")
        for n, rcpt in enumerate(fresh)
    ]
    position = 0
    for size in batches:
        cpu = time.process_time()
        for _ in range(per_size // size):
            with db.transaction() as session:
                done = mail.deliver_many(session, inbound[position : position + size])
                assert all(d.completed_order_ids for d in done), "every mail completes its order"
            position += size
        spent = 1000 * (time.process_time() - cpu) / per_size
        print(f"{f'deliver_many, batches of {size}':<40} {spent:8.3f} ms CPU per message")
    db.dispose()


if __name__ == "__main__":
    main()

"""Mixed load on a real cluster: SMTP ingest + API polling + web pages, at the same time.

One `otpinbox smtp`, one `otpinbox web` (gunicorn, OTPINBOX_WEB_WORKERS processes) and
one `otpinbox worker` on a fresh PostgreSQL database with Redis. Each kind of traffic
first runs alone (the reference, measured in this same run), then all together:

- smtp: client threads on persistent connections deliver a code message to a live order;
- api: threads GET /api/v1/orders/{id} and /orders/{id}/messages with an API key;
- pages: logged-in browsers GET /orders and /orders/{id}.

Prints operations, throughput and latency percentiles per kind and phase, and the mixed
throughput as a share of the alone figure.

    .venv/bin/python bench/mixed_load.py --seconds 15
"""

from __future__ import annotations

import argparse
import random
import re
import smtplib
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster.harness import (  # noqa: E402
    Cluster,
    api,
    mail,
    running_cluster,
    seed,
    unreachable,
)

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "mixed-load-password"


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def line(self, kind: str, seconds: float) -> str:
        lat = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

        return (
            f"{kind:6} ops={len(self.latencies):6} {len(self.latencies) / seconds:8.1f}/s  "
            f"p50={pct(0.50):6.1f}ms p95={pct(0.95):6.1f}ms p99={pct(0.99):6.1f}ms "
            f"mean={statistics.fmean(lat) * 1000:6.1f}ms errors={self.errors}"
        )


def timed(stats: Stats, action: Callable[[], bool]) -> None:
    started = time.perf_counter()
    try:
        ok = action()
    except Exception:
        ok = False
    if ok:
        stats.latencies.append(time.perf_counter() - started)
    else:
        stats.errors += 1


def smtp_client(cluster: Cluster, emails: list[str], stats: Stats, stop: threading.Event) -> None:
    seq = 0
    while not stop.is_set():
        try:
            with smtplib.SMTP("127.0.0.1", cluster.smtp[0].port, timeout=30) as client:
                while not stop.is_set():
                    seq += 1
                    rcpt = random.choice(emails)
                    body = mail(rcpt, f"m{threading.get_ident()}-{seq}")

                    def send(rcpt: str = rcpt, body: bytes = body) -> bool:
                        return client.sendmail("noreply@discord.com", [rcpt], body) == {}

                    timed(stats, send)
        except (OSError, smtplib.SMTPException):
            stats.errors += 1


def api_client(
    cluster: Cluster, key: str, ids: list[int], stats: Stats, stop: threading.Event
) -> None:
    base = cluster.web[0].url
    while not stop.is_set():
        order_id = random.choice(ids)
        path = f"/orders/{order_id}" if random.random() < 0.7 else f"/orders/{order_id}/messages"
        timed(stats, lambda path=path: api(base, "GET", path, key)[0] == 200)


def page_client(
    cluster: Cluster, email: str, ids: list[int], stats: Stats, stop: threading.Event
) -> None:
    import requests

    base = cluster.web[0].url
    browser = requests.Session()
    token = CSRF.search(browser.get(base + "/login", timeout=30).text)
    assert token, "no CSRF token on the login page"
    login = browser.post(
        base + "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        timeout=30,
        allow_redirects=False,
    )
    assert login.status_code in (302, 303), login.status_code
    while not stop.is_set():
        path = "/orders" if random.random() < 0.5 else f"/orders/{random.choice(ids)}"
        timed(stats, lambda path=path: browser.get(base + path, timeout=30).status_code == 200)


def phase(
    cluster: Cluster, kinds: dict[str, tuple[Callable[..., None], tuple, int]], seconds: float
) -> dict[str, Stats]:
    stop = threading.Event()
    stats = {kind: Stats() for kind in kinds}
    threads = [
        threading.Thread(target=target, args=(cluster, *args, stats[kind], stop), daemon=True)
        for kind, (target, args, count) in kinds.items()
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    return stats


def run(*, seconds: float, smtp_threads: int, api_threads: int, page_threads: int) -> list[str]:
    from models import users
    from models.db import Database

    lines = []
    with running_cluster(smtp=1, web=1, workers=1, OTPINBOX_WEB_WORKERS="2") as cluster:
        user_id, key = seed(cluster.database_url, credit=10_000_000, price=100)
        db = Database(cluster.database_url)
        with db.transaction() as session:
            user = session.get(users.User, user_id)
            user.password_hash = users.hash_password(PASSWORD)
            email = user.email
        db.dispose()
        bought = [
            api(cluster.web[0].url, "POST", "/orders", key, {"service": "any"}) for _ in range(100)
        ]
        assert all(status == 201 for status, _ in bought), bought[:3]
        ids = [int(order["id"]) for _, order in bought]
        emails = [order["email"] for _, order in bought]
        kinds = {
            "smtp": (smtp_client, (emails,), smtp_threads),
            "api": (api_client, (key, ids), api_threads),
            "pages": (page_client, (email, ids), page_threads),
        }
        alone = {}
        for kind, spec in kinds.items():
            alone[kind] = phase(cluster, {kind: spec}, seconds)[kind]
            lines.append("alone  " + alone[kind].line(kind, seconds))
        mixed = phase(cluster, kinds, seconds)
        for kind in kinds:
            share = len(mixed[kind].latencies) / max(1, len(alone[kind].latencies))
            lines.append(f"mixed  {mixed[kind].line(kind, seconds)}  ({share:.0%} of alone)")
        total = sum(len(s.latencies) for s in mixed.values())
        lines.append(f"mixed  total {total / seconds:.1f} ops/s over {seconds:.0f} s")
        check = cluster.cli("ledger", "check")
        lines.append(f"ledger check after the run: {'ok' if check.returncode == 0 else 'FAILED'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--smtp-threads", type=int, default=4)
    parser.add_argument("--api-threads", type=int, default=4)
    parser.add_argument("--page-threads", type=int, default=2)
    args = parser.parse_args()
    reason = unreachable()
    if reason:
        sys.exit(reason)
    print(
        f"mixed load: 1 smtp + 1 web (2 gunicorn workers) + 1 worker, PostgreSQL + Redis; "
        f"threads smtp={args.smtp_threads} api={args.api_threads} pages={args.page_threads}"
    )
    for line in run(
        seconds=args.seconds,
        smtp_threads=args.smtp_threads,
        api_threads=args.api_threads,
        page_threads=args.page_threads,
    ):
        print(line)


if __name__ == "__main__":
    main()

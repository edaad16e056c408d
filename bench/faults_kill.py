"""kill -9 of SMTP daemons and workers in a loop while mail flows (PostgreSQL + Redis).

A cluster of 2 `otpinbox smtp` and 2 `otpinbox worker` processes runs on a fresh
PostgreSQL database. A buyer keeps opening activations with deadlines a few seconds
out; sender threads mail their addresses through both SMTP nodes; a killer SIGKILLs a
random SMTP daemon or worker every ~second and restarts it. Afterwards:

- lost: Message-IDs that got a 250 but are not in the database (must be 0);
- stuck: orders still waiting/active past their deadline once the cluster had a few
  sweeps to catch up (must be 0);
- ledger problems: `ledger.check_invariants` + order/ledger consistency (must be none),
  and `otpinbox ledger check` must exit 0.

The suite runs a small version (tests/cluster/test_faults_kill.py); the big one:

    .venv/bin/python bench/faults_kill.py --kills 20 --min-acked 3000
"""

from __future__ import annotations

import argparse
import random
import re
import smtplib
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster.harness import Cluster, mail, running_cluster, seed  # noqa: E402

TOKEN = re.compile(rb"Message-ID: <(k[0-9]+-[0-9]+)@cluster>")


@dataclass
class Result:
    kills: dict[str, int] = field(default_factory=lambda: {"smtp": 0, "worker": 0})
    acked: set[str] = field(default_factory=set)
    stored: set[str] = field(default_factory=set)
    orders: int = 0
    stuck: int = -1
    ledger_problems: list[str] = field(default_factory=list)
    ledger_cli_ok: bool = False
    seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> set[str]:
        return self.acked - self.stored


class Live:
    """Addresses of orders that still accept mail (shared by the buyer and the senders)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.emails: list[str] = []

    def add(self, email: str) -> None:
        with self.lock:
            self.emails.append(email)
            del self.emails[:-200]  # the newest ones; older ones expire soon anyway

    def pick(self) -> str | None:
        with self.lock:
            return random.choice(self.emails) if self.emails else None


def buyer(db, user_id: int, live: Live, stop: threading.Event, counter: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Open activations that fall due 1-4 s later, so expiry runs all the time."""
    from sqlalchemy import update

    from models import orders, users
    from models.base import utcnow

    while not stop.is_set():
        try:
            with db.transaction() as session:
                order = orders.purchase(session, session.get(users.User, user_id), "any")
                session.execute(
                    update(orders.Order)
                    .where(orders.Order.id == order.id)
                    .values(expires_at=utcnow() + timedelta(seconds=random.uniform(1, 4)))
                )
                email = order.email
            counter[0] += 1
            # Every fourth order gets no mail, so only a worker can end it (expiry with a
            # refund) however fast the senders are.
            if counter[0] % 4:
                live.add(email)
        except Exception:
            time.sleep(0.1)
        stop.wait(0.05)


def sender(cluster: Cluster, name: str, live: Live, acked: set[str], stop: threading.Event) -> None:
    """Send until ``stop``; a token counts as acked only when its DATA got 250."""
    seq = 0
    while not stop.is_set():
        node = random.choice(cluster.smtp)
        try:
            with smtplib.SMTP("127.0.0.1", node.port, timeout=10) as client:
                for _ in range(20):
                    if stop.is_set():
                        return
                    rcpt = live.pick()
                    if rcpt is None:
                        time.sleep(0.05)
                        continue
                    seq += 1
                    token = f"{name}-{seq}"
                    try:
                        client.sendmail("noreply@discord.com", [rcpt], mail(rcpt, token))
                    except smtplib.SMTPRecipientsRefused:
                        continue  # the order expired meanwhile: 550, not acked
                    acked.add(token)
        except (OSError, smtplib.SMTPException):
            time.sleep(0.05)  # killed or restarting: reconnect (maybe to the other node)


def stored_tokens(db) -> set[str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from models.mail import RawMessage

    with db.read() as session:
        return {
            m.decode()
            for data in session.scalars(select(RawMessage.data))
            for m in TOKEN.findall(data)
        }


def wait_for_sweeps(db, timeout: float) -> int:  # type: ignore[no-untyped-def]
    """Orders past their deadline once the workers had ``timeout`` seconds to catch up."""
    from models.invariants import overdue_orders

    deadline = time.monotonic() + timeout
    while True:
        with db.read() as session:
            stuck = overdue_orders(session, grace_seconds=0)
        if stuck == 0 or time.monotonic() > deadline:
            return stuck
        time.sleep(0.2)


def run(*, kills: int, min_acked: int, senders: int = 3, max_seconds: float = 120) -> Result:
    from sqlalchemy import func, select

    from models import ledger, orders
    from models.db import Database
    from models.invariants import check_order_settlements

    result = Result()
    started = time.monotonic()
    with running_cluster(smtp=2, web=0, workers=2) as cluster:
        user_id, _ = seed(cluster.database_url, credit=10_000_000, price=100)
        db = Database(cluster.database_url)
        live, stop, counter = Live(), threading.Event(), [0]
        acked_per_sender: list[set[str]] = [set() for _ in range(senders)]
        threads = [threading.Thread(target=buyer, args=(db, user_id, live, stop, counter))]
        threads += [
            threading.Thread(
                target=sender, args=(cluster, f"k{i}", live, acked_per_sender[i], stop)
            )
            for i in range(senders)
        ]
        for thread in threads:
            thread.daemon = True
            thread.start()
        try:
            done = 0
            while time.monotonic() - started < max_seconds:
                time.sleep(random.uniform(0.3, 1.0))
                victim = random.choice([*cluster.smtp, *cluster.workers])
                victim.kill_hard()
                result.kills[victim.role] += 1
                done += 1
                victim.start()
                victim.wait_ready()
                acked = sum(len(a) for a in acked_per_sender)
                if done >= kills and acked >= min_acked:
                    break
        finally:
            stop.set()
            for thread in threads:
                thread.join(15)
        for acked in acked_per_sender:
            result.acked |= acked
        # Every node is up again: the last deadlines are at most 4 s out, sweeps every 0.2 s.
        result.stuck = wait_for_sweeps(db, timeout=15)
        result.stored = stored_tokens(db)
        with db.read() as session:
            result.ledger_problems = ledger.check_invariants(session) + check_order_settlements(
                session
            )
            result.outcomes = dict(
                session.execute(
                    select(orders.Order.status, func.count()).group_by(orders.Order.status)
                ).all()
            )
        result.orders = counter[0]
        check = cluster.cli("ledger", "check")
        result.ledger_cli_ok = check.returncode == 0
        db.dispose()
    result.seconds = time.monotonic() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--min-acked", type=int, default=3000)
    parser.add_argument("--max-seconds", type=float, default=600)
    args = parser.parse_args()
    result = run(kills=args.kills, min_acked=args.min_acked, max_seconds=args.max_seconds)
    print(
        f"kill -9: smtp={result.kills['smtp']} worker={result.kills['worker']} "
        f"orders={result.orders} outcomes={result.outcomes} acked={len(result.acked)} "
        f"lost={len(result.lost)} stuck_past_expiry={result.stuck} "
        f"ledger_problems={len(result.ledger_problems)} ledger_check_cli="
        f"{'ok' if result.ledger_cli_ok else 'FAILED'} seconds={result.seconds:.1f}"
    )
    for problem in result.ledger_problems[:20]:
        print("  ", problem)
    bad = result.lost or result.stuck or result.ledger_problems or not result.ledger_cli_ok
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

"""Cancel racing delivery across PROCESSES on PostgreSQL: barrier-synchronised trials.

tests/test_race.py races two threads of one process; here every side is its own OS
process with its own connection pool, as the SMTP daemon and a web worker are. Each
round, the parent buys K activations; K "deliver" processes and K "cancel" processes
meet at one multiprocessing barrier, then each delivers the code to (or cancels) its
order, with a little jitter so the interleavings differ. Every order must end with
exactly one outcome: completed with no refund, or canceled with a refund, and exactly one
settlement in the ledger. A double outcome is any order with a different trail.

    .venv/bin/python bench/faults_race.py --trials 1000 --pairs 4
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Spawned children import their target by module name: it lives in the tests package.
from tests.cluster.racing import side  # noqa: E402


@dataclass
class Result:
    trials: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    double_outcomes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ledger_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _trail(session: Any, order_id: int) -> tuple[str, list[str], int, str | None]:
    from sqlalchemy import select

    from models import ledger, orders

    order = session.get(orders.Order, order_id)
    settles = list(
        session.scalars(
            select(ledger.LedgerTransaction.kind).where(
                ledger.LedgerTransaction.order_id == order_id,
                ledger.LedgerTransaction.kind != "purchase",
            )
        )
    )
    return order.status, settles, order.refunded, order.code


def run(url: str, *, trials: int, pairs: int = 4) -> Result:
    from models import Base, catalog, ledger, orders, users
    from models.db import Database
    from models.invariants import check_order_settlements

    db = Database(url)
    Base.metadata.create_all(db.engine)
    with db.transaction() as session:
        catalog.add_domain(session, "otpinbox.test")
        catalog.add_service(session, "any", price=100, window_minutes=20)
        user_id = users.create_user(
            session, f"race{time.time_ns()}@example.com", credit=trials * 100
        ).id
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2 * pairs)
    results = ctx.Queue()
    queues = {(role, i): ctx.Queue() for role in ("deliver", "cancel") for i in range(pairs)}
    procs = [
        ctx.Process(target=side, args=(url, role, user_id, barrier, q, results), daemon=True)
        for (role, _), q in queues.items()
    ]
    for proc in procs:
        proc.start()
    result = Result()
    started = time.monotonic()
    try:
        while result.trials < trials:
            with db.transaction() as session:
                user = session.get(users.User, user_id)
                bought = [orders.purchase(session, user, "any") for _ in range(pairs)]
                batch = [(o.id, o.email) for o in bought]
            for (_, i), q in queues.items():
                q.put(batch[i])
            for _ in range(2 * pairs):
                order_id, role, error = results.get(timeout=120)
                if error:
                    result.errors.append(f"order {order_id} {role}: {error}")
            with db.read() as session:
                for order_id, _ in batch:
                    status, settles, refunded, code = _trail(session, order_id)
                    one = (status == "completed" and settles == ["settle"] and not refunded) or (
                        status == "canceled" and settles == ["cancel_refund"] and refunded == 100
                    )
                    result.outcomes[status] += 1
                    if not one or (status == "completed") != (code == "123456"):
                        result.double_outcomes.append(
                            f"order {order_id}: {status}, ledger {settles}, refunded {refunded}"
                        )
            result.trials += pairs
    finally:
        for q in queues.values():
            q.put(None)
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    result.seconds = time.monotonic() - started
    with db.read() as session:
        result.ledger_problems = ledger.check_invariants(session) + check_order_settlements(session)
    db.dispose()
    return result


def main() -> None:
    from tests.cluster.harness import temporary_database, unreachable

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=4, help="deliver/cancel process pairs")
    args = parser.parse_args()
    reason = unreachable()
    if reason:
        sys.exit(reason)
    with temporary_database("otpinbox_race") as url:
        result = run(url, trials=args.trials, pairs=args.pairs)
    print(
        f"cancel-vs-delivery on postgresql, {2 * args.pairs} processes: trials={result.trials} "
        f"outcomes={dict(result.outcomes)} double_outcomes={len(result.double_outcomes)} "
        f"errors={len(result.errors)} ledger_problems={len(result.ledger_problems)} "
        f"seconds={result.seconds:.1f} ({result.trials / result.seconds:.0f} trials/s)"
    )
    for line in (result.double_outcomes + result.errors + result.ledger_problems)[:20]:
        print("  ", line)
    sys.exit(1 if result.double_outcomes or result.errors or result.ledger_problems else 0)


if __name__ == "__main__":
    main()

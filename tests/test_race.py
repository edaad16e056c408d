"""Cancel racing delivery: barrier-synchronised trials on the real database.

Each trial buys an activation, then two threads start the same instant: one
delivers the code (as the SMTP daemon does), the other cancels (as the API does),
each in its own unit of work. Whatever the interleaving, the order must end in
exactly one outcome: completed with no refund, or canceled with a refund.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from models import ledger, mail, orders, users
from models.errors import OrderNotCancellable
from models.mail import InboundMessage
from tests.factories import make_catalog, make_user

TRIALS = int(os.environ.get("OTPINBOX_RACE_TRIALS", "300"))


def _inbound(email: str) -> InboundMessage:
    return InboundMessage(
        raw=b"Subject: code\r\n\r\n123456",
        mail_from="noreply@discord.com",
        rcpt_tos=(email,),
        code="123456",
        searchable_text="123456",
    )


def _race(*actions: Callable[[], object]) -> list[BaseException | None]:
    barrier = threading.Barrier(len(actions))
    outcomes: list[BaseException | None] = [None] * len(actions)

    def run(i: int, action: Callable[[], object]) -> None:
        barrier.wait()
        time.sleep(random.random() * 0.002)  # jitter: different interleavings
        try:
            action()
        except BaseException as exc:  # recorded, asserted below
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _setup(db, credit: int = 1_000_000):  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        make_catalog(session)
        return make_user(session, credit=credit).id


def _buy(db, user_id: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        order = orders.purchase(session, session.get(users.User, user_id), "any")
        return order.id, order.email


def _deliver(db, email: str) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    def action() -> object:
        with db.transaction() as session:
            return mail.deliver(session, _inbound(email))

    return action


def _cancel(db, user_id: int, order_id: int) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    def action() -> object:
        with db.transaction() as session:
            return orders.cancel(session, session.get(users.User, user_id), order_id)

    return action


def _assert_one_outcome(db, order_id: int) -> str:  # type: ignore[no-untyped-def]
    with db.read() as session:
        order = session.get(orders.Order, order_id)
        settlements = session.scalar(
            select(func.count())
            .select_from(ledger.LedgerTransaction)
            .where(ledger.LedgerTransaction.key == f"settle:{order_id}")
        )
        assert order.status in {"completed", "canceled"}, order.status
        assert settlements == 1
        if order.status == "completed":
            assert order.refunded == 0 and order.code == "123456"
        else:
            assert order.refunded == order.price and order.code is None
        return order.status


def _assert_ledger(db) -> None:  # type: ignore[no-untyped-def]
    with db.read() as session:
        assert ledger.check_invariants(session) == []
        assert ledger.balance(session, ledger.ESCROW) == 0


def test_cancel_vs_delivery_never_both_refunds_and_completes(clean_db):
    user_id = _setup(clean_db)
    seen: Counter[str] = Counter()
    for _ in range(TRIALS):
        order_id, email = _buy(clean_db, user_id)
        results = _race(_deliver(clean_db, email), _cancel(clean_db, user_id, order_id))
        assert results == [None, None], results  # neither side may fail: no 5xx
        seen[_assert_one_outcome(clean_db, order_id)] += 1
    _assert_ledger(clean_db)
    print(f"\n{TRIALS} cancel-vs-delivery trials on {clean_db.engine.dialect.name}: {dict(seen)}")


def test_double_cancel_refunds_once(clean_db):
    user_id = _setup(clean_db, credit=10_000)
    for _ in range(max(20, TRIALS // 10)):
        order_id, _ = _buy(clean_db, user_id)
        results = _race(_cancel(clean_db, user_id, order_id), _cancel(clean_db, user_id, order_id))
        assert sum(r is None for r in results) == 1
        assert all(r is None or isinstance(r, OrderNotCancellable) for r in results)
        assert _assert_one_outcome(clean_db, order_id) == "canceled"
    _assert_ledger(clean_db)


def test_two_deliveries_complete_once(clean_db):
    user_id = _setup(clean_db, credit=10_000)
    for _ in range(max(20, TRIALS // 10)):
        order_id, email = _buy(clean_db, user_id)
        assert _race(_deliver(clean_db, email), _deliver(clean_db, email)) == [None, None]
        assert _assert_one_outcome(clean_db, order_id) == "completed"
    _assert_ledger(clean_db)


def test_expiry_sweep_vs_delivery_at_the_deadline(clean_db):
    user_id = _setup(clean_db, credit=10_000)
    for _ in range(max(20, TRIALS // 10)):
        order_id, email = _buy(clean_db, user_id)
        with clean_db.read() as session:
            deadline = session.get(orders.Order, order_id).expires_at

        def sweep(deadline=deadline) -> object:  # type: ignore[no-untyped-def]
            with clean_db.transaction() as session:
                return orders.expire_due(session, now=deadline)

        def late_delivery(email=email, deadline=deadline) -> object:  # type: ignore[no-untyped-def]
            with clean_db.transaction() as session:
                return mail.deliver(session, _inbound(email), now=deadline)

        assert _race(sweep, late_delivery) == [None, None]
        with clean_db.read() as session:
            order = session.get(orders.Order, order_id)
            assert order.status == "expired" and order.refunded == order.price
    _assert_ledger(clean_db)


@pytest.mark.parametrize("buyers", [8])
def test_concurrent_purchases_never_overdraw(clean_db, buyers):
    user_id = _setup(clean_db, credit=500)  # exactly 5 activations of 100

    def buy() -> object:
        return _buy(clean_db, user_id)

    results = _race(*[buy] * buyers)
    assert sum(r is None for r in results) == 5
    with clean_db.read() as session:
        assert ledger.balance(session, f"wallet:{user_id}") == 0
        assert ledger.balance(session, ledger.ESCROW) == 500
        assert ledger.check_invariants(session) == []

"""Order/ledger consistency (models/invariants.py) and the `otpinbox ledger check` audit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from models import ledger, orders
from models.base import utcnow
from models.invariants import check_order_settlements, overdue_orders
from tests.factories import make_user


def _complete(session, order):  # type: ignore[no-untyped-def]
    assert orders.complete(
        session, order, message_id=1, code="123456", link=None, value="123456", now=utcnow()
    )


def _one_of_each(session):  # type: ignore[no-untyped-def]
    """A waiting, a completed, a canceled, an expired activation and a rental."""
    user = make_user(session, credit=10_000)
    waiting = orders.purchase(session, user, "any")
    completed = orders.purchase(session, user, "discord")
    _complete(session, completed)
    canceled = orders.purchase(session, user, "any")
    orders.cancel(session, user, canceled.id)
    expired = orders.purchase(session, user, "any")
    session.execute(
        update(orders.Order)
        .where(orders.Order.id == expired.id)
        .values(expires_at=utcnow() - timedelta(seconds=5))
    )
    assert orders.expire_due(session) == [expired.id]
    rental = orders.purchase(session, user, "discord", kind="rental", days=2)
    orders.extend_rental(session, user, rental.id, 1)
    return user, waiting, completed, canceled, expired


def test_a_consistent_database_has_no_problems(session, catalog):
    _one_of_each(session)
    assert check_order_settlements(session) == []
    assert ledger.check_invariants(session) == []


def test_a_second_refund_of_a_completed_order_is_reported(session, catalog):
    user, _, completed, *_ = _one_of_each(session)
    # Balanced, so the ledger alone is fine; only the order trail shows the double outcome.
    ledger.post_transaction(
        session,
        "expiry_refund",
        [(ledger.REVENUE, -completed.price), (user.wallet, completed.price)],
        key="rogue",
        order_id=completed.id,
    )
    assert ledger.check_invariants(session) == []
    problems = check_order_settlements(session)
    assert len(problems) == 1
    assert f"order {completed.id}" in problems[0] and "expiry_refund" in problems[0]


def test_a_refund_without_the_ledger_move_is_reported(session, catalog):
    _, waiting, *_ = _one_of_each(session)
    # The state says canceled and refunded; the money is still in escrow.
    session.execute(
        update(orders.Order)
        .where(orders.Order.id == waiting.id)
        .values(status="canceled", refunded=waiting.price)
    )
    problems = check_order_settlements(session)
    assert any("settled by none, expected {'cancel_refund': 1}" in p for p in problems)
    assert any(f"escrow holds {waiting.price}, expected 0" in p for p in problems)


def test_a_completed_order_marked_refunded_is_reported(session, catalog):
    _, _, completed, *_ = _one_of_each(session)
    session.execute(update(orders.Order).where(orders.Order.id == completed.id).values(refunded=1))
    assert check_order_settlements(session) == [
        f"order {completed.id} (activation, completed, price 150): refunded 1, expected 0"
    ]


def test_overdue_orders_are_counted_until_a_sweep_expires_them(session, catalog):
    user = make_user(session, credit=1000)
    order = orders.purchase(session, user, "any")
    assert overdue_orders(session) == 0
    later = order.expires_at + timedelta(seconds=30)
    assert overdue_orders(session, now=later) == 1
    assert overdue_orders(session, now=later, grace_seconds=60) == 0
    orders.expire_due(session, now=later)
    assert overdue_orders(session, now=later) == 0

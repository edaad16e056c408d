"""Order/ledger consistency: every order's money moved exactly as its state says.

``ledger.check_invariants`` proves the books balance; this proves they tell the truth
about orders. For a paid activation:

- exactly one ``purchase`` moved its price from the wallet into escrow;
- ``waiting``: nothing settled yet, its price is still in escrow;
- ``completed``: exactly one ``settle`` moved the price from escrow to revenue, no refund;
- ``canceled`` / ``expired``: exactly one refund (``cancel_refund`` / ``expiry_refund``)
  moved it back to the wallet, ``refunded`` equals the price, and nothing went to revenue.

Rentals are never refunded or held in escrow. Escrow holds nothing that belongs to no
order. Also here: :func:`overdue_orders`, the count of orders a worker should have
expired already (the "0 stuck past expiry" promise).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .base import utcnow
from .ledger import ESCROW, LedgerAccount, LedgerEntry, LedgerTransaction
from .orders import ACTIVATION, ACTIVE, CANCELED, COMPLETED, EXPIRED, RENTAL, WAITING, Order

SETTLING_KINDS = ("settle", "cancel_refund", "expiry_refund")
REFUND_KIND = {CANCELED: "cancel_refund", EXPIRED: "expiry_refund"}
MAX_REPORTED = 200  # an audit of a broken database should stay readable


def check_order_settlements(session: Session) -> list[str]:
    """Every order whose ledger trail disagrees with its state; empty when all agree."""
    kinds: dict[int, dict[str, int]] = defaultdict(dict)
    for order_id, kind, count in session.execute(
        select(LedgerTransaction.order_id, LedgerTransaction.kind, func.count())
        .where(LedgerTransaction.order_id.is_not(None))
        .group_by(LedgerTransaction.order_id, LedgerTransaction.kind)
    ):
        kinds[order_id][kind] = count
    escrow_id = session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == ESCROW))
    held: dict[int | None, int] = {}
    if escrow_id is not None:
        held = {
            order_id: int(total)
            for order_id, total in session.execute(
                select(LedgerTransaction.order_id, func.sum(LedgerEntry.amount))
                .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                .where(LedgerEntry.account_id == escrow_id)
                .group_by(LedgerTransaction.order_id)
            )
        }

    problems: list[str] = []
    if held.get(None):
        problems.append(f"escrow holds {held[None]} that belongs to no order")
    rows = session.execute(
        select(Order.id, Order.kind, Order.status, Order.price, Order.refunded).order_by(Order.id)
    ).yield_per(5000)
    for order_id, kind, status, price, refunded in rows:
        problems += _order_problems(
            order_id, kind, status, price, refunded, kinds.get(order_id, {}), held.get(order_id, 0)
        )
        if len(problems) >= MAX_REPORTED:
            problems.append(f"... stopped after {MAX_REPORTED} problems")
            break
    return problems


def _order_problems(
    order_id: int,
    kind: str,
    status: str,
    price: int,
    refunded: int,
    txns: dict[str, int],
    in_escrow: int,
) -> list[str]:
    name = f"order {order_id} ({kind}, {status}, price {price})"
    settles = {k: txns.get(k, 0) for k in SETTLING_KINDS}
    if kind == RENTAL:
        found = [f"{k} x{n}" for k, n in settles.items() if n]
        problems = (
            [f"{name}: a rental was settled or refunded ({', '.join(found)})"] if found else []
        )
        if in_escrow:
            problems.append(f"{name}: a rental holds {in_escrow} in escrow")
        if txns.get("purchase", 0) > 1:
            problems.append(f"{name}: {txns['purchase']} purchases")
        return problems
    if kind != ACTIVATION:
        return [f"{name}: unknown order kind"]
    if price == 0:
        paid = {k: n for k, n in txns.items() if k in ("purchase", *SETTLING_KINDS) and n}
        return [f"{name}: a free activation moved money {paid}"] if paid else []

    problems = []
    if txns.get("purchase", 0) != 1:
        problems.append(f"{name}: {txns.get('purchase', 0)} purchase transactions, expected 1")
    expected_settles = {k: 0 for k in SETTLING_KINDS}
    expected_escrow, expected_refunded = 0, 0
    if status == WAITING:
        expected_escrow = price
    elif status == COMPLETED:
        expected_settles["settle"] = 1
    elif status in REFUND_KIND:
        expected_settles[REFUND_KIND[status]] = 1
        expected_refunded = price
    else:
        return [*problems, f"{name}: unknown activation status"]
    if settles != expected_settles:
        got = {k: n for k, n in settles.items() if n} or "none"
        want = {k: n for k, n in expected_settles.items() if n} or "none"
        problems.append(f"{name}: settled by {got}, expected {want}")
    if in_escrow != expected_escrow:
        problems.append(f"{name}: escrow holds {in_escrow}, expected {expected_escrow}")
    if refunded != expected_refunded:
        problems.append(f"{name}: refunded {refunded}, expected {expected_refunded}")
    return problems


def overdue_orders(
    session: Session, *, grace_seconds: float = 0, now: datetime | None = None
) -> int:
    """How many orders are still ``waiting``/``active`` more than ``grace_seconds`` past
    their deadline: the worker's backlog, which a healthy cluster keeps near 0."""
    cutoff = (now or utcnow()) - timedelta(seconds=grace_seconds)
    return int(
        session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.status.in_((WAITING, ACTIVE)), Order.expires_at <= cutoff)
        )
        or 0
    )

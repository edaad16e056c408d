"""Disputes: the only path by which money for a completed order comes back.

A customer disputes a completed activation (wrong or invalid code) within the window
after completion, or reports a rental address that has received nothing for more than
a day. An admin decides once: a refund to the wallet (ledger key ``dispute:<id>``,
from REVENUE, at most the price paid) or a rejection with a reason. One dispute per
order, enforced by a unique constraint.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .audit import audit
from .base import Base, utcnow
from .errors import Conflict, InvalidInput, NotFound
from .ledger import REVENUE, post_transaction, wallet_code
from .mail import Message
from .orders import ACTIVATION, ACTIVE, COMPLETED, RENTAL, Order, get_order
from .users import User

WRONG_CODE, OUTAGE = "wrong_code", "outage"
OPEN, REFUNDED, REJECTED = "open", "refunded", "rejected"
OUTAGE_HOURS = 24
MAX_TEXT = 4000


class Dispute(Base):
    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    resolution: Mapped[str] = mapped_column(Text, default="")
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    order: Mapped[Order] = relationship(lazy="joined")


def _text(value: str, what: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"{what} is required")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{what} is limited to {MAX_TEXT} characters")
    return value


def _create(session: Session, dispute: Dispute) -> Dispute:
    try:
        with session.begin_nested():
            session.add(dispute)
            session.flush()
    except IntegrityError:
        raise Conflict("this order has already been disputed") from None
    return dispute


def open_dispute(
    session: Session,
    user: User,
    order_id: int | str,
    reason: str,
    evidence: str = "",
    *,
    window_days: int = 5,
    now: datetime | None = None,
    ip: str = "",
) -> Dispute:
    """Dispute a completed activation within ``window_days`` of its completion."""
    now = now or utcnow()
    order = get_order(session, user, order_id)
    if order.kind != ACTIVATION or order.status != COMPLETED or order.completed_at is None:
        raise Conflict("only a completed activation can be disputed")
    if now - order.completed_at > timedelta(days=window_days):
        raise Conflict(f"disputes are accepted within {window_days} days of completion")
    dispute = _create(
        session,
        Dispute(
            order_id=order.id,
            user_id=user.id,
            kind=WRONG_CODE,
            reason=_text(reason, "a reason", required=True),
            evidence=_text(evidence, "the evidence", required=False),
            status=OPEN,
            created_at=now,
        ),
    )
    audit(
        session, "dispute.opened", user_id=user.id, ip=ip, detail=f"#{dispute.id} order {order.id}"
    )
    return dispute


def last_received(session: Session, order: Order) -> datetime | None:
    return session.scalar(
        select(func.max(Message.received_at)).where(Message.address_id == order.address_id)
    )


def report_outage(
    session: Session,
    user: User,
    order_id: int | str,
    reason: str,
    *,
    now: datetime | None = None,
    ip: str = "",
) -> Dispute:
    """Report a rental whose address has received nothing for more than ``OUTAGE_HOURS``.

    The claim is checked against what we stored: a message in the last day proves the
    address receives, so such a report is refused.
    """
    now = now or utcnow()
    order = get_order(session, user, order_id)
    if order.kind != RENTAL or order.status != ACTIVE:
        raise Conflict("outages can be reported for active rentals only")
    quiet_since = max(order.created_at, last_received(session, order) or order.created_at)
    if now - quiet_since <= timedelta(hours=OUTAGE_HOURS):
        raise Conflict(f"the address received mail within the last {OUTAGE_HOURS} hours")
    dispute = _create(
        session,
        Dispute(
            order_id=order.id,
            user_id=user.id,
            kind=OUTAGE,
            reason=_text(reason, "a description", required=True),
            evidence=f"nothing received since {quiet_since:%Y-%m-%d %H:%M} UTC",
            status=OPEN,
            created_at=now,
        ),
    )
    audit(
        session, "dispute.outage", user_id=user.id, ip=ip, detail=f"#{dispute.id} order {order.id}"
    )
    return dispute


def _decide(
    session: Session, dispute_id: int, admin: User, status: str, resolution: str, refunded: int
) -> Dispute:
    done = session.execute(
        update(Dispute)
        .where(Dispute.id == dispute_id, Dispute.status == OPEN)
        .values(
            status=status,
            resolution=resolution,
            refunded=refunded,
            resolved_at=utcnow(),
            resolved_by=admin.id,
        )
        .execution_options(synchronize_session=False)
    )
    dispute = session.get(Dispute, dispute_id, populate_existing=True)
    if dispute is None:
        raise NotFound("no such dispute")
    if done.rowcount != 1:
        raise Conflict(f"the dispute is already {dispute.status}")
    return dispute


def refund(
    session: Session,
    dispute_id: int,
    admin: User,
    *,
    amount: int | None = None,
    note: str = "",
    ip: str = "",
) -> Dispute:
    """Uphold a dispute: refund ``amount`` (default the whole price) to the wallet."""
    found = session.get(Dispute, dispute_id)
    if found is None:
        raise NotFound("no such dispute")
    price = found.order.price
    amount = price if amount is None else amount
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= price:
        raise InvalidInput(f"the refund must be between 1 and the price paid ({price})")
    dispute = _decide(
        session, dispute_id, admin, REFUNDED, _text(note, "the note", required=False), amount
    )
    post_transaction(
        session,
        "dispute_refund",
        [(REVENUE, -amount), (wallet_code(dispute.user_id), amount)],
        key=f"dispute:{dispute.id}",
        order_id=dispute.order_id,
        memo=f"dispute #{dispute.id} upheld",
    )
    audit(
        session, "admin.dispute.refund", user_id=admin.id, ip=ip, detail=f"#{dispute.id} {amount}"
    )
    return dispute


def reject(session: Session, dispute_id: int, admin: User, reason: str, *, ip: str = "") -> Dispute:
    dispute = _decide(
        session, dispute_id, admin, REJECTED, _text(reason, "a reason", required=True), 0
    )
    audit(session, "admin.dispute.reject", user_id=admin.id, ip=ip, detail=f"#{dispute.id}")
    return dispute


def disputes_for(session: Session, user: User, *, limit: int = 50) -> list[Dispute]:
    return list(
        session.scalars(
            select(Dispute)
            .where(Dispute.user_id == user.id)
            .order_by(Dispute.id.desc())
            .limit(limit)
        )
    )


def dispute_for_order(session: Session, order_id: int) -> Dispute | None:
    return session.scalar(select(Dispute).where(Dispute.order_id == order_id))


def open_disputes(session: Session, *, limit: int = 200) -> list[Dispute]:
    return list(
        session.scalars(
            select(Dispute).where(Dispute.status == OPEN).order_by(Dispute.id).limit(limit)
        )
    )

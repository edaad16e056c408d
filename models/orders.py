"""Activations and rentals, and the money rule that binds them to the ledger.

An activation ends exactly once: ``waiting`` becomes ``completed``, ``canceled`` or
``expired`` by one conditional ``UPDATE ... WHERE status='waiting'`` whose row count
says who won. Only the winner moves money, under the ledger key ``settle:<id>``, so
even a bug above could not both refund and complete an order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ForeignKey, Integer, String, Text, bindparam, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, parse_id, utcnow
from .catalog import Address, Service, get_domain, get_service, new_address
from .errors import (
    AccountSuspended,
    InvalidInput,
    OrderNotCancellable,
    OrderNotFound,
    RentalNotActive,
    ReorderNotPossible,
)
from .ledger import ESCROW, REVENUE, Posting, post_transaction, post_transactions, wallet_code
from .users import User

ACTIVATION = "activation"
RENTAL = "rental"
WAITING, COMPLETED, CANCELED, EXPIRED, ACTIVE = (
    "waiting",
    "completed",
    "canceled",
    "expired",
    "active",
)
MAX_RENTAL_DAYS = 365


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    price: Mapped[int] = mapped_column(Integer)
    refunded: Mapped[int] = mapped_column(Integer, default=0)
    # Per-order filters (kopeechka `sender`, `subject`, `regex`), on top of the service's.
    sender_filter: Mapped[str | None] = mapped_column(String(255))
    subject_filter: Mapped[str | None] = mapped_column(String(255))
    regex: Mapped[str | None] = mapped_column(String(500))
    code: Mapped[str | None] = mapped_column(String(64))
    link: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)  # what the customer asked for
    message_id: Mapped[int | None] = mapped_column(Integer)  # the message that completed it
    comment: Mapped[str | None] = mapped_column(String(500))
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    completed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Set when the customer lets a completed activation go: the address stops receiving.
    released_at: Mapped[datetime | None]

    service: Mapped[Service] = relationship(lazy="joined")
    address: Mapped[Address] = relationship(lazy="joined")

    @property
    def email(self) -> str:
        return self.address.email

    @property
    def public_id(self) -> str:
        return str(self.id)


# Orders on an address that still receive mail.
def live_order_clause(now: datetime):  # type: ignore[no-untyped-def]
    return (
        Order.status.in_((WAITING, COMPLETED, ACTIVE))
        & Order.released_at.is_(None)
        & (Order.expires_at > now)
    )


def _check_regex(pattern: str | None) -> str | None:
    if not pattern:
        return None
    from .matching import validate_regex

    validate_regex(pattern)
    return pattern


def _ensure_can_buy(user: User) -> None:
    if user.is_suspended:
        raise AccountSuspended()


def _business_rules(session: Session, user: User, now: datetime) -> None:
    """Rules owned by other modules: current terms accepted, limits set by an abuse review."""
    from .abuse_detection import check_review_limit
    from .terms import ensure_accepted

    ensure_accepted(session, user)
    check_review_limit(session, user, now)


def _quote(session: Session, user: User, service: Service, kind: str, price: int, days: int = 1):  # type: ignore[no-untyped-def]
    """Our price, plus the markup of the account's reseller (models.resellers)."""
    from .resellers import quote

    return quote(session, user, service, kind, price, days)


def _check_limits(session: Session, user: User, limits: Any, now: datetime) -> None:
    if limits is not None:
        from .abuse import check_purchase  # abuse reads Order: import it late

        check_purchase(session, user, limits, now)


def purchase(
    session: Session,
    user: User,
    service_name: str,
    *,
    kind: str = ACTIVATION,
    domain: str | None = None,
    days: int | None = None,
    regex: str | None = None,
    sender: str | None = None,
    subject: str | None = None,
    now: datetime | None = None,
    limits: Any = None,
) -> Order:
    """Buy an activation (price held in escrow) or a rental (paid outright).

    ``limits`` (a :class:`models.abuse.Limits`) applies the abuse controls; the edges
    pass the configured ones, internal callers and tests may leave them off.
    """
    _ensure_can_buy(user)
    now = now or utcnow()
    _business_rules(session, user, now)
    _check_limits(session, user, limits, now)
    service = get_service(session, service_name)
    chosen = get_domain(session, domain) if domain else None
    if kind == ACTIVATION:
        if days is not None:
            raise InvalidInput("days applies to rentals only")
        price = service.price
        expires_at = now + timedelta(minutes=service.window_minutes)
    elif kind == RENTAL:
        if days is None or not 1 <= int(days) <= MAX_RENTAL_DAYS:
            raise InvalidInput(f"a rental needs days between 1 and {MAX_RENTAL_DAYS}")
        price = service.rental_day_price * int(days)
        expires_at = now + timedelta(days=int(days))
    else:
        raise InvalidInput("kind must be 'activation' or 'rental'")
    quote = _quote(session, user, service, kind, price, int(days or 1))
    address = new_address(session, user.id, chosen)
    return _open_order(
        session,
        user,
        service,
        address,
        kind,
        quote.charged,
        expires_at,
        now,
        regex,
        sender,
        subject,
        quote=quote,
    )


def _open_order(
    session: Session,
    user: User,
    service: Service,
    address: Address,
    kind: str,
    price: int,
    expires_at: datetime,
    now: datetime,
    regex: str | None,
    sender: str | None,
    subject: str | None,
    *,
    quote: Any = None,
) -> Order:
    order = Order(
        user_id=user.id,
        kind=kind,
        service_id=service.id,
        address_id=address.id,
        status=WAITING if kind == ACTIVATION else ACTIVE,
        price=price,
        refunded=0,
        regex=_check_regex(regex),
        sender_filter=(sender or "").strip()[:255] or None,
        subject_filter=(subject or "").strip()[:255] or None,
        created_at=now,
        expires_at=expires_at,
    )
    order.service = service
    order.address = address
    session.add(order)
    session.flush()
    if price:
        from .resellers import Quote, paid_entries, record_share

        # Activations wait in escrow for their outcome; rentals are never refunded.
        target = ESCROW if kind == ACTIVATION else REVENUE
        quote = quote or Quote(price)
        record_share(session, order, quote)
        post_transaction(
            session,
            "purchase",
            paid_entries(user.id, quote, target),
            key=f"purchase:{order.id}",
            order_id=order.id,
        )
    return order


def get_order(session: Session, user: User | None, order_id: int | str) -> Order:
    """An order of ``user`` (any user's when ``user`` is None)."""
    oid = parse_id(order_id)
    if oid is None:
        raise OrderNotFound()
    order = session.get(Order, oid, populate_existing=True)
    if order is None or (user is not None and order.user_id != user.id):
        raise OrderNotFound()
    return order


def finalize_if_due(session: Session, order: Order, now: datetime | None = None) -> Order:
    """Expire (and refund) an order whose deadline passed, so reads never show a stale state."""
    now = now or utcnow()
    if order.status in (WAITING, ACTIVE) and order.expires_at <= now:
        _expire_one(session, order, now)
        session.refresh(order)
    return order


def _settle_refund(session: Session, order: Order, kind: str) -> None:
    if order.price:
        post_transaction(
            session,
            kind,
            [(ESCROW, -order.price), (wallet_code(order.user_id), order.price)],
            key=f"settle:{order.id}",
            order_id=order.id,
        )


def _expire_one(session: Session, order: Order, now: datetime) -> bool:
    if order.kind == RENTAL:
        done = session.execute(
            update(Order)
            .where(Order.id == order.id, Order.status == ACTIVE, Order.expires_at <= now)
            .values(status=EXPIRED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        return done.rowcount == 1
    done = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == WAITING, Order.expires_at <= now)
        .values(status=EXPIRED, finished_at=now, refunded=Order.price)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    _settle_refund(session, order, "expiry_refund")
    return True


def expire_due(session: Session, now: datetime | None = None, *, limit: int = 500) -> list[int]:
    """Expire orders whose deadline has passed; refund activations. Returns their ids.

    Safe to run in several workers at once: each order is decided by its own
    conditional UPDATE, so a second sweeper finds nothing left to do.
    """
    now = now or utcnow()
    due = session.scalars(
        select(Order)
        .where(Order.status.in_((WAITING, ACTIVE)), Order.expires_at <= now)
        .order_by(Order.expires_at)
        .limit(limit)
    ).all()
    return [order.id for order in due if _expire_one(session, order, now)]


def cancel(session: Session, user: User, order_id: int | str, now: datetime | None = None) -> Order:
    """Cancel a waiting activation (refund) or release a completed one (no refund).

    An activation past its deadline that the sweeper has not reached yet is expired
    (and refunded) here instead. Raises :class:`OrderNotCancellable` only when nothing
    changed, so the caller's rollback undoes nothing of value.
    """
    now = now or utcnow()
    order = get_order(session, user, order_id)
    if order.kind == RENTAL:
        raise OrderNotCancellable("rentals cannot be canceled")
    canceled = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == WAITING, Order.expires_at > now)
        .values(status=CANCELED, finished_at=now, released_at=now, refunded=Order.price)
        .execution_options(synchronize_session=False)
    )
    if canceled.rowcount == 1:
        _settle_refund(session, order, "cancel_refund")
    elif not _expire_one(session, order, now):
        # Lost to a delivery, or already over: a completed order is only released.
        released = session.execute(
            update(Order)
            .where(Order.id == order.id, Order.status == COMPLETED, Order.released_at.is_(None))
            .values(released_at=now)
            .execution_options(synchronize_session=False)
        )
        session.refresh(order)
        if released.rowcount != 1 and order.status != COMPLETED:
            raise OrderNotCancellable(f"the order is already {order.status}")
    session.refresh(order)
    return order


class OrderRef(Protocol):
    """What completing needs of an order: an ORM ``Order`` or a plain row both have it."""

    @property
    def id(self) -> int: ...

    @property
    def price(self) -> int: ...


# complete() runs once per code mail: built once, bound at execute time.
_COMPLETE = (
    update(Order.__table__)
    .where(
        Order.__table__.c.id == bindparam("order_id"),
        Order.__table__.c.status == WAITING,
        Order.__table__.c.expires_at > bindparam("now"),
    )
    .values(
        status=COMPLETED,
        code=bindparam("code"),
        link=bindparam("link"),
        value=bindparam("value"),
        message_id=bindparam("message_id"),
        completed_at=bindparam("now"),
        finished_at=bindparam("now"),
    )
)


@dataclass(frozen=True)
class Completion:
    """A waiting activation and the message that answers it, with what the customer gets."""

    order: OrderRef
    message_id: int
    code: str | None
    link: str | None
    value: str


def complete(
    session: Session,
    order: OrderRef,
    *,
    message_id: int,
    code: str | None,
    link: str | None,
    value: str,
    now: datetime,
) -> bool:
    """Complete a waiting activation with the message that carries its code.

    Returns False when the order was no longer waiting (canceled or expired first).
    """
    answered = Completion(order, message_id, code, link, value)
    return bool(complete_many(session, [answered], now=now))


def complete_many(
    session: Session, completions: Sequence[Completion], *, now: datetime
) -> list[OrderRef]:
    """:func:`complete` for several orders; returns the orders it completed.

    Each order is completed by its own conditional UPDATE (an order that was canceled or
    expired first stays as it is); the prices of those completed are settled together.
    """
    connection = session.connection()
    done = [
        answered.order
        for answered in completions
        if connection.execute(
            _COMPLETE,
            {
                "order_id": answered.order.id,
                "now": now,
                "code": answered.code,
                "link": answered.link,
                "value": answered.value,
                "message_id": answered.message_id,
            },
        ).rowcount
        == 1
    ]
    paid = [order for order in done if order.price]
    if paid:
        from .resellers import settle_entries  # a sub-account's markup goes to its reseller

        entries = settle_entries(session, paid)
        postings = [
            Posting(entries[order.id], key=f"settle:{order.id}", order_id=order.id)
            for order in paid
        ]
        post_transactions(session, "settle", postings)
    return done


def reorder(
    session: Session,
    user: User,
    order_id: int | str,
    now: datetime | None = None,
    limits: Any = None,
) -> Order:
    """A new paid activation on the same address as an earlier one."""
    _ensure_can_buy(user)
    now = now or utcnow()
    _business_rules(session, user, now)
    _check_limits(session, user, limits, now)
    source = get_order(session, user, order_id)
    finalize_if_due(session, source, now)
    if source.kind != ACTIVATION:
        raise ReorderNotPossible("only activations can be reordered")
    busy = session.scalar(
        select(Order.id).where(
            Order.address_id == source.address_id, Order.status == WAITING, Order.expires_at > now
        )
    )
    if busy is not None:
        raise ReorderNotPossible("the address is still waiting for a message")
    service = session.get(Service, source.service_id)
    assert service is not None
    if not service.active:
        raise ReorderNotPossible("the service is no longer sold")
    quote = _quote(session, user, service, ACTIVATION, service.price)
    return _open_order(
        session,
        user,
        service,
        source.address,
        ACTIVATION,
        quote.charged,
        now + timedelta(minutes=service.window_minutes),
        now,
        source.regex,
        source.sender_filter,
        source.subject_filter,
        quote=quote,
    )


def extend_rental(
    session: Session, user: User, order_id: int | str, days: int, now: datetime | None = None
) -> Order:
    """Add days to an active rental, paid from the wallet."""
    _ensure_can_buy(user)
    now = now or utcnow()
    if not 1 <= int(days) <= MAX_RENTAL_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_RENTAL_DAYS}")
    order = finalize_if_due(session, get_order(session, user, order_id), now)
    if order.kind != RENTAL or order.status != ACTIVE:
        raise RentalNotActive()
    previous = order.expires_at
    _business_rules(session, user, now)
    quote = _quote(
        session, user, order.service, RENTAL, order.service.rental_day_price * int(days), int(days)
    )
    price = quote.charged
    # Compare-and-set on the deadline: two concurrent extensions both apply, one after the other.
    done = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == ACTIVE, Order.expires_at == previous)
        .values(
            expires_at=previous + timedelta(days=int(days)),
            extensions=Order.extensions + 1,
            price=Order.price + price,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise RentalNotActive("the rental changed meanwhile; try again")
    session.refresh(order)
    if price:
        from .resellers import paid_entries

        post_transaction(
            session,
            "rental_extension",
            paid_entries(user.id, quote, REVENUE),
            key=f"extend:{order.id}:{order.extensions}",
            order_id=order.id,
        )
    return order


def list_orders(
    session: Session, user: User, *, before: int | None = None, limit: int = 50
) -> list[Order]:
    """The user's orders, newest first; ``before`` is the keyset cursor (an order id)."""
    query = select(Order).where(Order.user_id == user.id)
    if before is not None:
        query = query.where(Order.id < before)
    return list(session.scalars(query.order_by(Order.id.desc()).limit(max(1, min(limit, 200)))))


def latest_order_for(session: Session, user: User, email: str, service_name: str | None) -> Order:
    """The newest order of ``user`` on ``email`` (and ``service_name`` when given)."""
    from .catalog import find_address

    address = find_address(session, email)
    if address is None or address.user_id != user.id:
        raise OrderNotFound()
    query = select(Order).where(Order.address_id == address.id, Order.user_id == user.id)
    if service_name:
        query = query.join(Service, Service.id == Order.service_id).where(
            or_(Service.name == service_name.strip().lower())
        )
    order = session.scalar(query.order_by(Order.id.desc()).limit(1))
    if order is None:
        raise OrderNotFound()
    return order


def open_free_rental(
    session: Session, owner: User, service: Service, address: Address, days: int, now: datetime
) -> Order:
    """A rental at no charge on ``address`` (the free mail.tm-compatible tier): no ledger move."""
    if not 1 <= int(days) <= MAX_RENTAL_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_RENTAL_DAYS}")
    expires_at = now + timedelta(days=int(days))
    return _open_order(
        session, owner, service, address, RENTAL, 0, expires_at, now, None, None, None
    )


def end_rental(session: Session, order_id: int, now: datetime) -> bool:
    """End an active rental now (its address stops receiving); no refund, rentals have none."""
    done = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.kind == RENTAL, Order.status == ACTIVE)
        .values(status=EXPIRED, expires_at=now, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1

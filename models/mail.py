"""Stored mail and the one delivery call the SMTP daemon makes per accepted message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    Row,
    String,
    Text,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, deferred, mapped_column, relationship

from .base import Base, parse_id, utcnow
from .catalog import Address, Domain, Service
from .errors import NotFound
from .matching import Filters, answer_value, sender_matches, subject_matches
from .orders import (
    ACTIVATION,
    RENTAL,
    WAITING,
    Completion,
    Order,
    complete_many,
    live_order_clause,
)
from .users import User
from .webhooks import enqueue_delivery_events


class RawMessage(Base):
    """The exact bytes received in one DATA, kept whatever parsing made of them."""

    __tablename__ = "raw_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mail_from: Mapped[str] = mapped_column(String(512), default="")
    peer: Mapped[str] = mapped_column(String(128), default="")
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Message(Base):
    """One received message as one recipient address sees it."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    raw_id: Mapped[int] = mapped_column(ForeignKey("raw_messages.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    rcpt_to: Mapped[str] = mapped_column(String(320))
    mail_from: Mapped[str] = mapped_column(String(512), default="")
    from_header: Mapped[str] = mapped_column(Text, default="")
    to_header: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    message_id_header: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = deferred(mapped_column(Text, default=""))
    html: Mapped[str] = deferred(mapped_column(Text, default=""))
    headers: Mapped[str] = deferred(mapped_column(Text, default=""))
    code: Mapped[str | None] = mapped_column(String(64))
    link: Mapped[str | None] = mapped_column(Text)
    # Parsing failed or was cut short: the raw bytes are the truth, shown as text.
    parse_error: Mapped[str | None] = mapped_column(Text)
    matched: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    attachments: Mapped[list[Attachment]] = relationship(
        order_by="Attachment.id", lazy="selectin", back_populates="message"
    )
    raw: Mapped[RawMessage] = relationship(lazy="raise_on_sql")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))

    message: Mapped[Message] = relationship(back_populates="attachments")


# deliver_many() runs once per batch of received mail: prebuilt Core statements with
# parameters at execute time cost a fraction of ORM objects (unit-of-work flush), and the
# multi-row INSERTs store a whole batch in one statement per table.
_raw_table = RawMessage.__table__
_message_table = Message.__table__
_INSERT_RAWS = insert(_raw_table).returning(_raw_table.c.id, sort_by_parameter_order=True)
_INSERT_MESSAGES = insert(_message_table).returning(
    _message_table.c.id, sort_by_parameter_order=True
)
_INSERT_ATTACHMENT = insert(Attachment.__table__)
# models.catalog.find_address for many addresses at once, as plain columns.
_ADDRESSES = (
    select(Address.id, Address.user_id, Address.local_part, Domain.name.label("domain"))
    .join(Domain, Domain.id == Address.domain_id)
    .where(Address.local_part.in_(bindparam("locals", expanding=True)))
)
# Everything deliver_many() needs to decide and complete, as plain rows: loading ORM orders
# (with their joined service and address) was the largest share of a delivery.
_LIVE_ORDERS = (
    select(
        Order.id,
        Order.address_id,
        Order.kind,
        Order.status,
        Order.price,
        Order.sender_filter,
        Order.subject_filter,
        Order.regex,
        Service.name.label("service_name"),
        Service.sender_pattern,
        Service.subject_pattern,
    )
    .join(Service, Service.id == Order.service_id)
    .where(
        Order.address_id.in_(bindparam("address_ids", expanding=True)),
        live_order_clause(bindparam("now")),
    )
    .order_by(Order.id.desc())
)
_SET_ORDER_VALUE = (
    update(Order.__table__)
    .where(Order.__table__.c.id == bindparam("order_id"))
    .values(code=bindparam("code"), link=bindparam("link"), value=bindparam("value"))
)
# A message that answers its order is stored matched; this undoes it in the rare case the
# order was canceled or expired between the batch's read and its completion.
_UNMATCH = (
    update(_message_table)
    .where(_message_table.c.id == bindparam("message_id"))
    .values(matched=False)
)

# accepts_mail() runs at every RCPT: prebuilt, it costs a third of the ORM query it replaced.
_ACCEPTS = (
    select(Order.id)
    .join(Address, Address.id == Order.address_id)
    .join(Domain, Domain.id == Address.domain_id)
    .where(Address.local_part == bindparam("local"), Domain.name == bindparam("domain"))
    .where(Domain.active, live_order_clause(bindparam("now")))
    .limit(1)
)


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class InboundMessage:
    """What the SMTP side hands over: the raw bytes and what parsing and extraction found."""

    raw: bytes
    mail_from: str
    rcpt_tos: tuple[str, ...]
    peer: str = ""
    subject: str = ""
    from_header: str = ""
    to_header: str = ""
    message_id_header: str = ""
    headers: str = ""
    text: str = ""
    html: str = ""
    attachments: tuple[ParsedAttachment, ...] = ()
    code: str | None = None
    link: str | None = None
    # Normalised visible text (subject + body), where customer regexes look.
    searchable_text: str = ""
    parse_error: str | None = None


@dataclass
class Delivery:
    """What one delivery did, for the notifications sent after the commit."""

    raw_id: int
    message_ids: list[int] = field(default_factory=list)
    completed_order_ids: list[int] = field(default_factory=list)
    touched_order_ids: list[int] = field(default_factory=list)
    user_ids: set[int] = field(default_factory=set)


def accepts_mail(session: Session, email: str, now: datetime | None = None) -> bool:
    """Is ``email`` one of our addresses with a live order (RCPT-time check)?"""
    local, _, domain = (email or "").strip().lower().rpartition("@")
    found = session.connection().execute(
        _ACCEPTS, {"local": local, "domain": domain, "now": now or utcnow()}
    )
    return found.first() is not None


def is_our_domain(session: Session, domain: str) -> bool:
    name = (domain or "").strip().lower().rstrip(".")
    return session.scalar(select(Domain.id).where(Domain.name == name, Domain.active)) is not None


def deliver(session: Session, inbound: InboundMessage, now: datetime | None = None) -> Delivery:
    """Store one received message for each known recipient and complete what it answers.

    The raw bytes are always stored. For each recipient with a live order, the message
    is attached to the newest one; a waiting activation whose filters the message passes
    and for which a value (regex match, else code, else link) is found is completed.
    """
    return deliver_many(session, [inbound], now)[0]


@dataclass(frozen=True)
class _Copy:
    """One message as one recipient address gets it, decided before anything is stored."""

    delivery: Delivery
    inbound: InboundMessage
    rcpt: str
    address: Row[Any]
    order: Row[Any] | None  # the live order it is attached to
    value: str | None  # what it answers for that order, if it completes it


def deliver_many(
    session: Session, inbounds: Sequence[InboundMessage], now: datetime | None = None
) -> list[Delivery]:
    """:func:`deliver` for a batch of messages, with the same outcome as one by one in order.

    The SMTP daemon's group commit stores a batch this way: a handful of statements per
    batch instead of a dozen per message. A message that answers a waiting activation
    completes it; a later message of the same batch to that address goes to the next
    waiting order, or is attached to the completed one, as it would one by one.
    Completion stays a conditional UPDATE per order: an order canceled meanwhile is not
    completed, and its message is stored unmatched.
    """
    if not inbounds:
        return []
    now = now or utcnow()
    connection = session.connection()
    raw_ids = connection.execute(
        _INSERT_RAWS,
        [
            {
                "mail_from": inbound.mail_from[:512],
                "peer": inbound.peer[:128],
                "size": len(inbound.raw),
                "data": inbound.raw,
                "received_at": now,
            }
            for inbound in inbounds
        ],
    ).scalars()
    deliveries = [Delivery(raw_id=raw_id) for raw_id in raw_ids]
    copies = _decide(connection, deliveries, inbounds, now)
    message_ids = _store_messages(connection, copies, now)

    completions: list[Completion] = []
    for copy, message_id in zip(copies, message_ids, strict=True):
        copy.delivery.message_ids.append(message_id)
        copy.delivery.user_ids.add(copy.address.user_id)
        if copy.order is None:
            continue
        copy.delivery.touched_order_ids.append(copy.order.id)
        if copy.order.kind == RENTAL and (copy.inbound.code or copy.inbound.link):
            connection.execute(
                _SET_ORDER_VALUE,
                {
                    "order_id": copy.order.id,
                    "code": copy.inbound.code,
                    "link": copy.inbound.link,
                    "value": copy.inbound.code or copy.inbound.link,
                },
            )
        if copy.value is not None:
            inbound = copy.inbound
            completions.append(
                Completion(copy.order, message_id, inbound.code, inbound.link, copy.value)
            )
    completed = {order.id for order in complete_many(session, completions, now=now)}
    missed = [c for c in completions if c.order.id not in completed]
    if missed:
        connection.execute(_UNMATCH, [{"message_id": c.message_id} for c in missed])
    for copy in copies:
        if copy.value is not None and copy.order is not None and copy.order.id in completed:
            copy.delivery.completed_order_ids.append(copy.order.id)
    session.flush()
    enqueue_delivery_events(session, deliveries)  # same transaction as the delivery
    return deliveries


def _decide(
    connection: Connection,
    deliveries: list[Delivery],
    inbounds: Sequence[InboundMessage],
    now: datetime,
) -> list[_Copy]:
    """Which address and order each message goes to, and which orders it completes."""
    recipients = [
        list(dict.fromkeys(rcpt.strip().lower() for rcpt in inbound.rcpt_tos))
        for inbound in inbounds
    ]
    wanted = {rcpt.rpartition("@")[::2] for rcpts in recipients for rcpt in rcpts}
    addresses = {
        (row.local_part, row.domain): row
        for row in connection.execute(_ADDRESSES, {"locals": [local for local, _ in wanted]})
        if (row.local_part, row.domain) in wanted
    }
    live: dict[int, list[Row[Any]]] = {}
    if addresses:
        address_ids = [row.id for row in addresses.values()]
        for order in connection.execute(_LIVE_ORDERS, {"address_ids": address_ids, "now": now}):
            live.setdefault(order.address_id, []).append(order)  # newest first
    answered: set[int] = set()  # orders completed by an earlier message of this batch
    copies = []
    for delivery, inbound, rcpts in zip(deliveries, inbounds, recipients, strict=True):
        for rcpt in rcpts:
            address = addresses.get(rcpt.rpartition("@")[::2])
            if address is None:
                continue
            orders = live.get(address.id, [])
            waiting = [
                order
                for order in orders
                if order.kind == ACTIVATION and order.status == WAITING and order.id not in answered
            ]
            chosen = waiting[0] if waiting else (orders[0] if orders else None)
            # An empty regex match answers nothing, as no match at all.
            value = (_answer(chosen, inbound) or None) if waiting else None
            if value is not None and chosen is not None:
                answered.add(chosen.id)
            copies.append(_Copy(delivery, inbound, rcpt, address, chosen, value))
    return copies


def _answer(order: Row[Any], inbound: InboundMessage) -> str | None:
    """The value ``inbound`` answers for a waiting order (a ``_LIVE_ORDERS`` row), if any."""
    filters = Filters(
        service_name=order.service_name,
        sender=order.sender_filter or order.sender_pattern,
        subject=order.subject_filter or order.subject_pattern,
        regex=order.regex,
    )
    if not sender_matches(filters, inbound.mail_from, inbound.from_header):
        return None
    if not subject_matches(filters, inbound.subject):
        return None
    return answer_value(
        filters, code=inbound.code, link=inbound.link, searchable_text=inbound.searchable_text
    )


def _store_messages(connection: Connection, copies: list[_Copy], now: datetime) -> list[int]:
    """Insert the messages (and their attachments); their ids, in the order of ``copies``."""
    if not copies:
        return []
    message_ids = list(
        connection.execute(
            _INSERT_MESSAGES,
            [
                {
                    "raw_id": copy.delivery.raw_id,
                    "address_id": copy.address.id,
                    "order_id": copy.order.id if copy.order is not None else None,
                    "rcpt_to": copy.rcpt[:320],
                    "mail_from": copy.inbound.mail_from[:512],
                    "from_header": copy.inbound.from_header,
                    "to_header": copy.inbound.to_header,
                    "subject": copy.inbound.subject,
                    "message_id_header": copy.inbound.message_id_header,
                    "text": copy.inbound.text,
                    "html": copy.inbound.html,
                    "headers": copy.inbound.headers,
                    "code": copy.inbound.code,
                    "link": copy.inbound.link,
                    "parse_error": copy.inbound.parse_error,
                    # Rentals keep every message; an activation's is the one that completes it.
                    "matched": copy.order is not None
                    and (copy.order.kind == RENTAL or copy.value is not None),
                    "size": len(copy.inbound.raw),
                    "received_at": now,
                }
                for copy in copies
            ],
        ).scalars()
    )
    attachments = [
        {
            "message_id": message_id,
            "filename": part.filename[:255],
            "content_type": part.content_type[:255],
            "size": len(part.content),
            "content": part.content,
        }
        for copy, message_id in zip(copies, message_ids, strict=True)
        for part in copy.inbound.attachments
    ]
    if attachments:
        connection.execute(_INSERT_ATTACHMENT, attachments)
    return message_ids


def messages_for_order(session: Session, order: Order) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.order_id == order.id).order_by(Message.id.desc())
        )
    )


def get_message(session: Session, user: User, message_id: int | str) -> Message:
    """A message on one of ``user``'s addresses (else :class:`NotFound`)."""
    mid = parse_id(message_id)
    if mid is None:
        raise NotFound("no such message")
    row = session.execute(
        select(Message)
        .join(Address, Address.id == Message.address_id)
        .where(Message.id == mid, Address.user_id == user.id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such message")
    return row


def raw_bytes(session: Session, message: Message) -> bytes:
    data = session.scalar(select(RawMessage.data).where(RawMessage.id == message.raw_id))
    return data or b""


def get_attachment(session: Session, user: User, attachment_id: int | str) -> Attachment:
    aid = parse_id(attachment_id)
    if aid is None:
        raise NotFound("no such attachment")
    row = session.execute(
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .join(Address, Address.id == Message.address_id)
        .where(Attachment.id == aid, Address.user_id == user.id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such attachment")
    return row

"""Stored mail and the one delivery call the SMTP daemon makes per accepted message."""

from __future__ import annotations

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
from sqlalchemy.orm import Mapped, Session, deferred, mapped_column, relationship

from .base import Base, parse_id, utcnow
from .catalog import Address, Domain, Service
from .errors import NotFound
from .matching import Filters, answer_value, sender_matches, subject_matches
from .orders import ACTIVATION, RENTAL, WAITING, Order, complete, live_order_clause
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


# deliver() runs once per received mail: prebuilt Core INSERTs with parameters at execute time
# cost a fraction of ORM objects (unit-of-work flush) or of .values() with literal values.
_INSERT_RAW = insert(RawMessage.__table__).returning(RawMessage.__table__.c.id)
_INSERT_MESSAGE = insert(Message.__table__).returning(Message.__table__.c.id)
_INSERT_ATTACHMENT = insert(Attachment.__table__)
# Everything deliver() needs to decide and complete, as plain rows: loading ORM orders (with
# their joined service and address) was the largest share of a delivery.
_LIVE_ORDERS = (
    select(
        Order.id,
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
    .where(Order.address_id == bindparam("address_id"), live_order_clause(bindparam("now")))
    .order_by(Order.id.desc())
)
_SET_ORDER_VALUE = (
    update(Order.__table__)
    .where(Order.__table__.c.id == bindparam("order_id"))
    .values(code=bindparam("code"), link=bindparam("link"), value=bindparam("value"))
)
_MARK_MATCHED = (
    update(Message.__table__)
    .where(Message.__table__.c.id == bindparam("message_id"))
    .values(matched=True)
)
# models.catalog.find_address as plain columns (the same lookup, without an ORM object).
_ADDRESS = (
    select(Address.id, Address.user_id)
    .join(Domain, Domain.id == Address.domain_id)
    .where(Address.local_part == bindparam("local"), Domain.name == bindparam("domain"))
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
    now = now or utcnow()
    raw_id: int = (
        session.connection()
        .execute(
            _INSERT_RAW,
            {
                "mail_from": inbound.mail_from[:512],
                "peer": inbound.peer[:128],
                "size": len(inbound.raw),
                "data": inbound.raw,
                "received_at": now,
            },
        )
        .scalar_one()
    )
    result = Delivery(raw_id=raw_id)
    for rcpt in dict.fromkeys(r.strip().lower() for r in inbound.rcpt_tos):
        local, _, domain = rcpt.rpartition("@")
        connection = session.connection()
        address = connection.execute(_ADDRESS, {"local": local, "domain": domain}).first()
        if address is None:
            continue
        live = connection.execute(_LIVE_ORDERS, {"address_id": address.id, "now": now}).all()
        waiting = [row for row in live if row.kind == ACTIVATION and row.status == WAITING]
        chosen = waiting[0] if waiting else (live[0] if live else None)
        rental = chosen is not None and chosen.kind == RENTAL
        message_id = _store_message(
            session,
            inbound,
            raw_id,
            address.id,
            rcpt,
            chosen.id if chosen else None,
            now,
            matched=rental,
        )
        result.message_ids.append(message_id)
        result.user_ids.add(address.user_id)
        if chosen is None:
            continue
        result.touched_order_ids.append(chosen.id)
        if rental:
            if inbound.code or inbound.link:
                connection.execute(
                    _SET_ORDER_VALUE,
                    {
                        "order_id": chosen.id,
                        "code": inbound.code,
                        "link": inbound.link,
                        "value": inbound.code or inbound.link,
                    },
                )
        elif chosen.status == WAITING:
            value = _answer(chosen, inbound)
            if value and complete(
                session,
                chosen,
                message_id=message_id,
                code=inbound.code,
                link=inbound.link,
                value=value,
                now=now,
            ):
                connection.execute(_MARK_MATCHED, {"message_id": message_id})
                result.completed_order_ids.append(chosen.id)
    session.flush()
    enqueue_delivery_events(session, result)  # same transaction as the delivery
    return result


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


def _store_message(
    session: Session,
    inbound: InboundMessage,
    raw_id: int,
    address_id: int,
    rcpt: str,
    order_id: int | None,
    now: datetime,
    *,
    matched: bool,
) -> int:
    message_id: int = (
        session.connection()
        .execute(
            _INSERT_MESSAGE,
            {
                "raw_id": raw_id,
                "address_id": address_id,
                "order_id": order_id,
                "rcpt_to": rcpt[:320],
                "mail_from": inbound.mail_from[:512],
                "from_header": inbound.from_header,
                "to_header": inbound.to_header,
                "subject": inbound.subject,
                "message_id_header": inbound.message_id_header,
                "text": inbound.text,
                "html": inbound.html,
                "headers": inbound.headers,
                "code": inbound.code,
                "link": inbound.link,
                "parse_error": inbound.parse_error,
                "matched": matched,
                "size": len(inbound.raw),
                "received_at": now,
            },
        )
        .scalar_one()
    )
    if inbound.attachments:
        session.connection().execute(
            _INSERT_ATTACHMENT,
            [
                {
                    "message_id": message_id,
                    "filename": part.filename[:255],
                    "content_type": part.content_type[:255],
                    "size": len(part.content),
                    "content": part.content,
                }
                for part in inbound.attachments
            ],
        )
    return message_id


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

"""Support tickets: a conversation between a customer and the staff about one thing.

A ticket is general, or about an order, a deposit or a withdrawal of the customer's own.
"My deposit is not credited" (topic ``deposit``) is accepted only within a configurable
window after the deposit was made, and links the deposit for the admin. Status:
``open`` (staff to answer), ``waiting`` (for the customer), ``resolved``. A reply from
one side flips it to the other; a customer reply reopens a resolved ticket.

Notifications are in-app, never e-mail: each ticket keeps when the customer and the
staff last read it, and :func:`unread_count` is what the navigation shows. Attachments
are size-limited, stored in the database and only ever served as downloads. Every
admin reply and status decision is written to the audit log.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from .audit import audit
from .base import Base, parse_id, utcnow
from .errors import Conflict, InvalidInput, NotFound
from .users import User

GENERAL, ORDER, DEPOSIT, WITHDRAWAL, WARNING = (
    "general",
    "order",
    "deposit",
    "withdrawal",
    "warning",
)
TOPICS = (GENERAL, ORDER, DEPOSIT, WITHDRAWAL)
OPEN, WAITING, RESOLVED = "open", "waiting", "resolved"
STATUSES = (OPEN, WAITING, RESOLVED)
MAX_SUBJECT, MAX_BODY = 200, 10_000
MAX_ATTACHMENTS = 3


@dataclass(frozen=True)
class TicketPolicy:
    """Configurable limits (``OTPINBOX_TICKET_*``)."""

    deposit_report_minutes: int = 30
    attachment_max_bytes: int = 512 * 1024

    @classmethod
    def from_settings(cls, settings: object) -> TicketPolicy:
        return cls(
            deposit_report_minutes=settings.ticket_deposit_report_minutes,  # type: ignore[attr-defined]
            attachment_max_bytes=settings.ticket_attachment_max_bytes,  # type: ignore[attr-defined]
        )


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT))
    topic: Mapped[str] = mapped_column(String(16), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"))
    withdrawal_id: Mapped[int | None] = mapped_column(ForeignKey("withdrawals.id"))
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    customer_read_at: Mapped[datetime | None]
    staff_read_at: Mapped[datetime | None]
    last_customer_at: Mapped[datetime | None]
    last_staff_at: Mapped[datetime | None]


class TicketMessage(Base):
    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("ticket_messages.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    filename: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class CannedAnswer(Base):
    """A reply text admins reuse ("We have credited your deposit ...")."""

    __tablename__ = "canned_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str) -> str:
    """A display name with no path, no control or shell-special characters, bounded length."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .") or "attachment"
    return name[-100:]


def _text(value: str, limit: int, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"the {what} is required")
    if len(value) > limit:
        raise InvalidInput(f"the {what} is longer than {limit} characters")
    return value


def _check_uploads(uploads: list[Upload], policy: TicketPolicy) -> list[Upload]:
    uploads = [u for u in uploads if u.content]
    if len(uploads) > MAX_ATTACHMENTS:
        raise InvalidInput(f"at most {MAX_ATTACHMENTS} attachments per message")
    for upload in uploads:
        if len(upload.content) > policy.attachment_max_bytes:
            raise InvalidInput(
                f"{safe_filename(upload.filename)} is larger than "
                f"{policy.attachment_max_bytes} bytes"
            )
    return uploads


def _subject_link(
    session: Session,
    user: User,
    topic: str,
    ref: int | str | None,
    policy: TicketPolicy,
    now: datetime,
) -> dict[str, int | None]:
    """The order, deposit or withdrawal a ticket is about: it must be the customer's own."""
    from .orders import Order
    from .payments import CREDITED, Deposit, Withdrawal

    if topic == GENERAL:
        return {}
    rid = parse_id(ref)
    model = {ORDER: Order, DEPOSIT: Deposit, WITHDRAWAL: Withdrawal}.get(topic)
    if model is None:
        raise InvalidInput(f"topic must be one of {', '.join(TOPICS)}")
    row = session.get(model, rid) if rid is not None else None
    if row is None or row.user_id != user.id:
        raise NotFound(f"no such {topic} of yours")
    if topic == DEPOSIT:
        if row.status == CREDITED:
            raise Conflict("this deposit is already credited")
        window = timedelta(minutes=policy.deposit_report_minutes)
        if now - row.created_at > window:
            raise Conflict(
                "a missing deposit must be reported within "
                f"{policy.deposit_report_minutes} minutes of the payment"
            )
    return {f"{topic}_id": row.id}


def open_ticket(
    session: Session,
    user: User,
    subject: str,
    body: str,
    *,
    topic: str = GENERAL,
    ref: int | str | None = None,
    uploads: list[Upload] | None = None,
    policy: TicketPolicy | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> Ticket:
    """A customer's new ticket with its first message (and attachments)."""
    policy = policy or TicketPolicy()
    now = now or utcnow()
    subject = _text(subject, MAX_SUBJECT, "subject")
    body = _text(body, MAX_BODY, "message")
    link = _subject_link(session, user, topic, ref, policy, now)
    checked = _check_uploads(uploads or [], policy)
    ticket = Ticket(
        user_id=user.id,
        subject=subject,
        topic=topic,
        status=OPEN,
        created_at=now,
        updated_at=now,
        customer_read_at=now,
        last_customer_at=now,
        **link,
    )
    session.add(ticket)
    session.flush()
    _add_message(session, ticket, user, False, body, checked, now)
    audit(session, "ticket.open", user_id=user.id, ip=ip, detail=f"#{ticket.id} {topic}")
    return ticket


def open_staff_ticket(
    session: Session, admin: User, user_id: int, subject: str, body: str, *, ip: str = ""
) -> Ticket:
    """A conversation the staff starts (an abuse warning, a question): waits for the customer."""
    now = utcnow()
    ticket = Ticket(
        user_id=user_id,
        subject=_text(subject, MAX_SUBJECT, "subject"),
        topic=WARNING,
        status=WAITING,
        created_at=now,
        updated_at=now,
        staff_read_at=now,
        last_staff_at=now,
    )
    session.add(ticket)
    session.flush()
    _add_message(session, ticket, admin, True, _text(body, MAX_BODY, "message"), [], now)
    audit(
        session, "admin.ticket.open", user_id=admin.id, ip=ip, detail=f"#{ticket.id} user {user_id}"
    )
    return ticket


def _add_message(
    session: Session,
    ticket: Ticket,
    author: User,
    from_staff: bool,
    body: str,
    uploads: list[Upload],
    now: datetime,
) -> TicketMessage:
    message = TicketMessage(
        ticket_id=ticket.id, author_id=author.id, from_staff=from_staff, body=body, created_at=now
    )
    session.add(message)
    session.flush()
    for upload in uploads:
        session.add(
            TicketAttachment(
                message_id=message.id,
                ticket_id=ticket.id,
                filename=safe_filename(upload.filename),
                size=len(upload.content),
                content=upload.content,
            )
        )
    session.flush()
    return message


def get_ticket(session: Session, viewer: User, ticket_id: int | str) -> Ticket:
    """A ticket its owner or an admin may see; anyone else gets :class:`NotFound`."""
    tid = parse_id(ticket_id)
    ticket = session.get(Ticket, tid, populate_existing=True) if tid is not None else None
    if ticket is None or (ticket.user_id != viewer.id and not viewer.is_admin):
        raise NotFound("no such ticket")
    return ticket


def reply(
    session: Session,
    viewer: User,
    ticket_id: int | str,
    body: str,
    *,
    uploads: list[Upload] | None = None,
    policy: TicketPolicy | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> TicketMessage:
    """Add a message. The owner's reply (re)opens the ticket for the staff; an admin's
    reply (audited) hands it to the customer, who sees it as unread."""
    policy = policy or TicketPolicy()
    now = now or utcnow()
    ticket = get_ticket(session, viewer, ticket_id)
    staff = viewer.id != ticket.user_id  # an admin answering someone else's ticket
    body = _text(body, MAX_BODY, "message")
    message = _add_message(
        session, ticket, viewer, staff, body, _check_uploads(uploads or [], policy), now
    )
    values: dict[str, object] = {"updated_at": now}
    if staff:
        values |= {"status": WAITING, "last_staff_at": now, "staff_read_at": now}
        audit(session, "admin.ticket.reply", user_id=viewer.id, ip=ip, detail=f"#{ticket.id}")
    else:
        values |= {"status": OPEN, "last_customer_at": now, "customer_read_at": now}
    session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(ticket)
    return message


def set_status(
    session: Session, admin: User, ticket_id: int | str, status: str, *, ip: str = ""
) -> Ticket:
    """An admin's decision on a ticket (resolve, reopen, wait for the customer): audited."""
    if not admin.is_admin:
        raise NotFound("no such ticket")
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    ticket = get_ticket(session, admin, ticket_id)
    ticket.status, ticket.updated_at = status, utcnow()
    session.flush()
    audit(session, f"admin.ticket.{status}", user_id=admin.id, ip=ip, detail=f"#{ticket.id}")
    return ticket


def resolve_own(session: Session, user: User, ticket_id: int | str) -> Ticket:
    """The customer closes their own ticket (the problem went away)."""
    ticket = get_ticket(session, user, ticket_id)
    if ticket.user_id != user.id:
        raise NotFound("no such ticket")
    ticket.status, ticket.updated_at = RESOLVED, utcnow()
    session.flush()
    return ticket


def messages(
    session: Session, ticket: Ticket
) -> list[tuple[TicketMessage, list[TicketAttachment]]]:
    rows = list(
        session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.id)
        )
    )
    files: dict[int, list[TicketAttachment]] = {}
    for att in session.scalars(
        select(TicketAttachment)
        .where(TicketAttachment.ticket_id == ticket.id)
        .order_by(TicketAttachment.id)
    ):
        files.setdefault(att.message_id, []).append(att)
    return [(m, files.get(m.id, [])) for m in rows]


def mark_read(session: Session, viewer: User, ticket: Ticket, now: datetime | None = None) -> None:
    """The viewer has seen the conversation: its side's unread marker clears."""
    now = now or utcnow()
    column = "customer_read_at" if viewer.id == ticket.user_id else "staff_read_at"
    session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values({column: now})
        .execution_options(synchronize_session=False)
    )


def get_attachment(session: Session, viewer: User, attachment_id: int | str) -> TicketAttachment:
    aid = parse_id(attachment_id)
    att = session.get(TicketAttachment, aid) if aid is not None else None
    if att is None:
        raise NotFound("no such attachment")
    get_ticket(session, viewer, att.ticket_id)  # same visibility as its ticket
    return att


def tickets_for(session: Session, user: User, *, limit: int = 100) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.user_id == user.id)
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
    )


def is_unread_by_customer(ticket: Ticket) -> bool:
    return ticket.last_staff_at is not None and (
        ticket.customer_read_at is None or ticket.customer_read_at < ticket.last_staff_at
    )


def unread_count(session: Session, user: User) -> int:
    """Tickets with a staff reply the customer has not read: the in-app notification."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.user_id == user.id,
                Ticket.last_staff_at.is_not(None),
                (Ticket.customer_read_at.is_(None))
                | (Ticket.customer_read_at < Ticket.last_staff_at),
            )
        )
        or 0
    )


def queue(
    session: Session,
    *,
    status: str = OPEN,
    topic: str = "",
    user_email: str = "",
    limit: int = 100,
) -> list[tuple[Ticket, User]]:
    """The admin queue: oldest waiting first, filtered by status, topic and customer."""
    query = select(Ticket, User).join(User, User.id == Ticket.user_id)
    if status:
        query = query.where(Ticket.status == status)
    if topic:
        query = query.where(Ticket.topic == topic)
    if user_email.strip():
        query = query.where(User.email == user_email.strip().lower())
    query = query.order_by(Ticket.updated_at, Ticket.id).limit(limit)
    return [(t, u) for t, u in session.execute(query)]


# ---- canned answers ---------------------------------------------------------------------


def canned_answers(session: Session) -> list[CannedAnswer]:
    return list(session.scalars(select(CannedAnswer).order_by(CannedAnswer.title)))


def save_canned_answer(
    session: Session, admin: User, title: str, body: str, *, ip: str = ""
) -> CannedAnswer:
    title = _text(title, 100, "title")
    body = _text(body, MAX_BODY, "text")
    row = session.scalar(select(CannedAnswer).where(CannedAnswer.title == title))
    if row is None:
        row = CannedAnswer(title=title, body=body)
        session.add(row)
    else:
        row.body = body
    session.flush()
    audit(session, "admin.canned_answer", user_id=admin.id, ip=ip, detail=title)
    return row


def get_canned_answer(session: Session, answer_id: int) -> CannedAnswer:
    row = session.get(CannedAnswer, answer_id)
    if row is None:
        raise NotFound("no such canned answer")
    return row

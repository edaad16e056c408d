"""Privacy: what we keep about an account, its export, its deletion, and retention.

What is kept (and listed in the privacy policy): the e-mail address, IP addresses of
logins and account actions (audit log, abuse signals), a hashed browser fingerprint,
orders with their mail, ledger transactions, deposits, withdrawals, support tickets
and terms acceptances.

Deletion anonymises rather than erases what the law on records needs kept: orders and
ledger entries stay (with the account renamed ``deleted-<id>@deleted.invalid``), while
the password, API keys, webhooks, mail contents, ticket texts and attachments, IPs and
fingerprints go. An account with money, waiting orders or a pending withdrawal cannot be
deleted until that is settled: we never silently keep or destroy a customer's money.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .audit import AuditEvent, audit
from .base import utcnow
from .errors import Conflict
from .ledger import balance, history, wallet_code
from .users import ApiKey, User, authenticate

DELETED_DOMAIN = "deleted.invalid"


@dataclass(frozen=True)
class Retention:
    """How long personal details are kept (``OTPINBOX_PRIVACY_*``); 0 keeps them."""

    ip_days: int = 180  # IPs in the audit log and abuse signals
    closed_ticket_days: int = 365  # texts and attachments of resolved tickets

    @classmethod
    def from_settings(cls, settings: Any) -> Retention:
        return cls(
            ip_days=settings.privacy_ip_retention_days,
            closed_ticket_days=settings.privacy_ticket_retention_days,
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_data(session: Session, user: User) -> dict[str, Any]:
    """Everything we hold about ``user``, as JSON-ready data (the right of access)."""
    from .abuse_detection import AccountSignal
    from .orders import Order
    from .payments import Deposit, Withdrawal
    from .terms import acceptances
    from .tickets import TicketAttachment, messages, tickets_for

    orders = session.scalars(select(Order).where(Order.user_id == user.id).order_by(Order.id))
    signals = session.scalars(select(AccountSignal).where(AccountSignal.user_id == user.id))
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.user_id == user.id).order_by(AuditEvent.id)
    )
    keys = session.scalars(select(ApiKey).where(ApiKey.user_id == user.id))
    deposits = session.scalars(select(Deposit).where(Deposit.user_id == user.id))
    withdrawals = session.scalars(select(Withdrawal).where(Withdrawal.user_id == user.id))

    def ticket_json(ticket: Any) -> dict[str, Any]:
        convo = messages(session, ticket)
        return {
            "id": ticket.id,
            "subject": ticket.subject,
            "topic": ticket.topic,
            "status": ticket.status,
            "created_at": _iso(ticket.created_at),
            "messages": [
                {
                    "from_staff": m.from_staff,
                    "body": m.body,
                    "created_at": _iso(m.created_at),
                    "attachments": [
                        {"filename": a.filename, "size": a.size}
                        for a in files
                        if isinstance(a, TicketAttachment)
                    ],
                }
                for m, files in convo
            ],
        }

    return {
        "account": {
            "id": user.id,
            "email": user.email,
            "created_at": _iso(user.created_at),
            "age_confirmed": user.age_confirmed,
            "terms_accepted_at": _iso(user.terms_accepted_at),
            "suspended": user.is_suspended,
            "balance": balance(session, wallet_code(user.id)),
        },
        "terms_acceptances": [
            {
                "document": v.document,
                "version": v.version,
                "accepted_at": _iso(a.accepted_at),
                "ip": a.ip,
            }
            for a, v in acceptances(session, user)
        ],
        "api_keys": [
            {
                "prefix": k.prefix,
                "name": k.name,
                "created_at": _iso(k.created_at),
                "revoked_at": _iso(k.revoked_at),
            }
            for k in keys
        ],
        "orders": [
            {
                "id": o.id,
                "kind": o.kind,
                "service": o.service.name,
                "email": o.email,
                "status": o.status,
                "price": o.price,
                "refunded": o.refunded,
                "code": o.code,
                "created_at": _iso(o.created_at),
            }
            for o in orders
        ],
        "transactions": [
            {
                "id": t.id,
                "kind": t.kind,
                "amount": amount,
                "at": _iso(t.created_at),
                "order_id": t.order_id,
            }
            for t, amount in history(session, wallet_code(user.id), limit=100_000)
        ],
        "deposits": [
            {"id": d.id, "amount": d.amount, "status": d.status, "created_at": _iso(d.created_at)}
            for d in deposits
        ],
        "withdrawals": [
            {
                "id": w.id,
                "amount": w.amount,
                "fee": w.fee,
                "status": w.status,
                "destination": w.destination,
                "created_at": _iso(w.created_at),
            }
            for w in withdrawals
        ],
        "activity": [
            {"action": e.action, "at": _iso(e.at), "ip": e.ip, "detail": e.detail} for e in events
        ],
        "signals": [
            {
                "kind": s.kind,
                "value": s.value,
                "first_seen": _iso(s.first_seen),
                "last_seen": _iso(s.last_seen),
            }
            for s in signals
        ],
        "tickets": [ticket_json(t) for t in tickets_for(session, user, limit=100_000)],
    }


def deletion_blockers(session: Session, user: User) -> list[str]:
    """Why the account cannot be deleted yet (empty: it can)."""
    from .orders import ACTIVE, WAITING, Order
    from .payments import PENDING, Withdrawal

    problems = []
    if balance(session, wallet_code(user.id)) > 0:
        problems.append("the wallet still holds money: spend or withdraw it first")
    if session.scalar(
        select(Order.id).where(Order.user_id == user.id, Order.status.in_((WAITING, ACTIVE)))
    ):
        problems.append("an order is still waiting or a rental is active")
    if session.scalar(
        select(Withdrawal.id).where(Withdrawal.user_id == user.id, Withdrawal.status == PENDING)
    ):
        problems.append("a withdrawal is still pending")
    return problems


def delete_account(
    session: Session, user: User, password: str | None = None, *, ip: str = ""
) -> None:
    """Anonymise ``user`` for good; orders and ledger entries stay, as records must.

    With ``password`` (the web form), it is checked first. Raises :class:`Conflict` with
    the blockers while any remain.
    """
    from .abuse_detection import AccountSignal
    from .mail import Message
    from .orders import Order
    from .terms import LegalAcceptance
    from .tickets import Ticket, TicketAttachment, TicketMessage
    from .webhooks import WebhookEndpoint

    if password is not None:
        authenticate(session, user.email, password)
    blockers = deletion_blockers(session, user)
    if blockers:
        raise Conflict("; ".join(blockers))
    uid = user.id
    now = utcnow()
    session.execute(
        update(User)
        .where(User.id == uid)
        .values(email=f"deleted-{uid}@{DELETED_DOMAIN}", password_hash="", is_suspended=True)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == uid, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    _delete_webhooks(session, uid, WebhookEndpoint)
    _blank_mail(session, uid, Order, Message)
    tickets = select(Ticket.id).where(Ticket.user_id == uid)
    session.execute(delete(TicketAttachment).where(TicketAttachment.ticket_id.in_(tickets)))
    session.execute(
        update(TicketMessage).where(TicketMessage.ticket_id.in_(tickets)).values(body="[deleted]")
    )
    session.execute(update(Ticket).where(Ticket.user_id == uid).values(subject="[deleted]"))
    session.execute(delete(AccountSignal).where(AccountSignal.user_id == uid))
    session.execute(update(LegalAcceptance).where(LegalAcceptance.user_id == uid).values(ip=""))
    session.execute(update(AuditEvent).where(AuditEvent.user_id == uid).values(ip=""))
    audit(session, "privacy.delete", user_id=uid, ip="", detail="account anonymised on request")
    session.refresh(user)


def _delete_webhooks(session: Session, uid: int, endpoint: Any) -> None:
    """Endpoints stop (their delivery log refers to them), and their URLs are forgotten."""
    session.execute(
        update(endpoint)
        .where(endpoint.user_id == uid)
        .values(url="https://deleted.invalid/", deleted_at=utcnow())
    )


def _blank_mail(session: Session, uid: int, order: Any, message: Any) -> None:
    """Mail received for the account is personal data: it goes (orders keep their code)."""
    from .mail import Attachment, RawMessage

    ids = list(
        session.scalars(
            select(message.id).where(
                message.address_id.in_(select(order.address_id).where(order.user_id == uid))
            )
        )
    )
    if not ids:
        return
    raw_ids = set(session.scalars(select(message.raw_id).where(message.id.in_(ids))))
    session.execute(delete(Attachment).where(Attachment.message_id.in_(ids)))
    session.execute(delete(message).where(message.id.in_(ids)))
    # A raw copy can be shared with another recipient's message: keep those.
    still_used = select(message.id).where(message.raw_id == RawMessage.id).exists()
    session.execute(delete(RawMessage).where(RawMessage.id.in_(raw_ids), ~still_used))


def apply_retention(session: Session, retention: Retention, now: datetime | None = None) -> int:
    """Blank personal details past their retention period; returns the rows touched."""
    from .abuse_detection import AccountSignal
    from .tickets import RESOLVED, Ticket, TicketAttachment, TicketMessage

    now = now or utcnow()
    touched = 0
    if retention.ip_days > 0:
        cutoff = now - timedelta(days=retention.ip_days)
        touched += session.execute(
            update(AuditEvent).where(AuditEvent.at < cutoff, AuditEvent.ip != "").values(ip="")
        ).rowcount
        touched += session.execute(
            delete(AccountSignal).where(AccountSignal.last_seen < cutoff)
        ).rowcount
    if retention.closed_ticket_days > 0:
        cutoff = now - timedelta(days=retention.closed_ticket_days)
        old = select(Ticket.id).where(Ticket.status == RESOLVED, Ticket.updated_at < cutoff)
        touched += session.execute(
            delete(TicketAttachment).where(TicketAttachment.ticket_id.in_(old))
        ).rowcount
        touched += session.execute(
            update(TicketMessage)
            .where(TicketMessage.ticket_id.in_(old), TicketMessage.body != "[expired]")
            .values(body="[expired]")
        ).rowcount
    return touched

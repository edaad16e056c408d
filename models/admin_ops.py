"""What an operator does to accounts and the catalogue, each step in the audit log.

Money an admin moves by hand goes through the ledger against ADJUSTMENTS with a
reason; a forfeiture takes a suspended account's whole balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .audit import AuditEvent, audit
from .base import utcnow
from .catalog import Domain, Service
from .errors import Conflict, InvalidInput, NotFound
from .ledger import (
    ADJUSTMENTS,
    ESCROW,
    REVENUE,
    LedgerEntry,
    LedgerTransaction,
    balance,
    post_transaction,
    wallet_code,
)
from .mail import Message
from .orders import COMPLETED, Order
from .users import User

REFUND_KINDS = ("cancel_refund", "expiry_refund", "dispute_refund")


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is required")
    return reason[:500]


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def search_users(
    session: Session, query: str = "", *, after: int | None = None, limit: int = 50
) -> list[User]:
    """Users whose e-mail contains ``query``, by id; ``after`` is the keyset cursor."""
    stmt = select(User).order_by(User.id).limit(limit)
    if query.strip():
        pattern = (
            "%" + query.strip().lower().replace("\\", "").replace("%", "").replace("_", "\\_") + "%"
        )
        stmt = stmt.where(User.email.like(pattern, escape="\\"))
    if after is not None:
        stmt = stmt.where(User.id > after)
    return list(session.scalars(stmt))


def set_suspended(
    session: Session, admin: User, user_id: int, suspended: bool, reason: str, *, ip: str = ""
) -> User:
    reason = _reason(reason)
    user = _user(session, user_id)
    if user.id == admin.id:
        raise Conflict("admins cannot suspend themselves")
    session.execute(update(User).where(User.id == user.id).values(is_suspended=suspended))
    session.refresh(user)
    action = "admin.suspend" if suspended else "admin.unsuspend"
    audit(session, action, user_id=admin.id, ip=ip, detail=f"user {user.id}: {reason}")
    return user


def adjust_balance(
    session: Session, admin: User, user_id: int, amount: int, reason: str, *, ip: str = ""
) -> int:
    """Credit (positive) or debit (negative) a wallet by hand; never below zero.

    Returns the ledger transaction's id."""
    reason = _reason(reason)
    user = _user(session, user_id)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidInput("the adjustment must be a non-zero whole number of minor units")
    txn = post_transaction(
        session,
        "adjustment",
        [(ADJUSTMENTS, -amount), (wallet_code(user.id), amount)],
        memo=reason,
    )
    audit(
        session,
        "admin.adjust",
        user_id=admin.id,
        ip=ip,
        detail=f"user {user.id} {amount:+d}: {reason}",
    )
    return txn


def forfeit(session: Session, admin: User, user_id: int, reason: str, *, ip: str = "") -> int:
    """Take a suspended account's whole balance; returns the amount forfeited."""
    reason = _reason(reason)
    user = _user(session, user_id)
    if not user.is_suspended:
        raise Conflict("suspend the account before forfeiting its balance")
    amount = balance(session, user.wallet)
    if amount <= 0:
        raise Conflict("the wallet is empty")
    post_transaction(
        session,
        "forfeiture",
        [(wallet_code(user.id), -amount), (ADJUSTMENTS, amount)],
        memo=reason,
    )
    audit(
        session,
        "admin.forfeit",
        user_id=admin.id,
        ip=ip,
        detail=f"user {user.id} {amount}: {reason}",
    )
    return amount


def update_service(
    session: Session,
    admin: User,
    name: str,
    *,
    price: int,
    window_minutes: int,
    rental_day_price: int,
    active: bool,
    ip: str = "",
) -> Service:
    service = session.scalar(select(Service).where(Service.name == name))
    if service is None:
        raise NotFound("no such service")
    if min(price, rental_day_price) < 0 or not 1 <= window_minutes <= 24 * 60:
        raise InvalidInput("prices must not be negative; the window is 1 to 1440 minutes")
    service.price, service.window_minutes = price, window_minutes
    service.rental_day_price, service.active = rental_day_price, active
    audit(
        session,
        "admin.service",
        user_id=admin.id,
        ip=ip,
        detail=f"{name}: price {price}, window {window_minutes}, day {rental_day_price}, "
        f"{'active' if active else 'inactive'}",
    )
    return service


def set_domain_active(
    session: Session, admin: User, domain_id: int, active: bool, *, ip: str = ""
) -> Domain:
    domain = session.get(Domain, domain_id)
    if domain is None:
        raise NotFound("no such domain")
    domain.active = active
    audit(
        session,
        "admin.domain." + ("enable" if active else "disable"),
        user_id=admin.id,
        ip=ip,
        detail=domain.name,
    )
    return domain


@dataclass(frozen=True)
class Figures:
    orders_24h: int
    completed_24h: int
    completion_rate: float  # completed / (orders that reached a final state), last 24 h
    revenue_24h: int
    refunds_24h: int
    refunded_amount_24h: int
    messages_per_minute: float  # over the last 5 minutes
    escrow: int
    revenue_total: int


def dashboard_figures(session: Session, now: datetime | None = None) -> Figures:
    now = now or utcnow()
    day = now - timedelta(hours=24)
    by_status = dict(
        session.execute(
            select(Order.status, func.count()).where(Order.created_at >= day).group_by(Order.status)
        ).all()
    )
    orders = sum(by_status.values())
    completed = by_status.get(COMPLETED, 0)
    settled = completed + by_status.get("canceled", 0) + by_status.get("expired", 0)
    revenue_acct = wallet_or_system_total(session, REVENUE, day)
    refunds = session.execute(
        select(
            func.count(func.distinct(LedgerTransaction.id)),
            func.coalesce(func.sum(LedgerEntry.amount), 0),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(
            LedgerTransaction.kind.in_(REFUND_KINDS),
            LedgerTransaction.created_at >= day,
            LedgerEntry.amount > 0,
        )
    ).one()
    recent = session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.received_at >= now - timedelta(minutes=5))
    )
    return Figures(
        orders_24h=orders,
        completed_24h=completed,
        completion_rate=(completed / settled) if settled else 0.0,
        revenue_24h=revenue_acct,
        refunds_24h=int(refunds[0] or 0),
        refunded_amount_24h=int(refunds[1] or 0),
        messages_per_minute=(recent or 0) / 5,
        escrow=balance(session, ESCROW),
        revenue_total=balance(session, REVENUE),
    )


def wallet_or_system_total(session: Session, code: str, since: datetime) -> int:
    """Net movement of one account since ``since``."""
    from .ledger import LedgerAccount

    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerAccount.code == code, LedgerTransaction.created_at >= since)
    )
    return int(total or 0)


def audit_log(
    session: Session, *, action: str = "", before: int | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The audit log, newest first, optionally one action prefix; keyset by id."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEvent.action.like(action.replace("%", "") + "%"))
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    return list(session.scalars(stmt))

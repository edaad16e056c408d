"""Abuse detection: flags for an admin to review, with the evidence, and the review actions.

Detection never punishes by itself. :func:`scan` raises flags for accounts that share a
registration IP, login IP or browser fingerprint with other accounts, cancel most of
what they buy, buy in bursts, or whose deposits bounce. An admin then dismisses a flag
or acts on it: warn (a support message to the customer), limit (a cap on waiting
orders), suspend, or forfeit the balance (a ledger entry). The one exception is a rule
an operator lists in ``abuse_auto_suspend_rules``: its new flags suspend at once. Every
action is in the audit log.

The cheap controls that refuse a purchase on the spot (waiting-order cap, cancel-ratio
cooldown) live in :mod:`models.abuse`; this module only adds the per-account limit an
admin sets in a review (:func:`check_review_limit`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, case, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .audit import audit
from .base import Base, utcnow
from .errors import Conflict, InvalidInput, NotFound, TooManyWaitingOrders
from .orders import ACTIVATION, CANCELED, WAITING, Order
from .users import User

REGISTER_IP, LOGIN_IP, FINGERPRINT = "register_ip", "login_ip", "fingerprint"
SIGNAL_KINDS = (REGISTER_IP, LOGIN_IP, FINGERPRINT)
SHARED_SIGNAL = {
    REGISTER_IP: "shared_register_ip",
    LOGIN_IP: "shared_login_ip",
    FINGERPRINT: "shared_fingerprint",
}
CANCEL_RATIO, ORDER_BURST, BOUNCED_DEPOSIT = "cancel_ratio", "order_burst", "bounced_deposit"
RULES = (*SHARED_SIGNAL.values(), CANCEL_RATIO, ORDER_BURST, BOUNCED_DEPOSIT)
OPEN, DISMISSED, ACTIONED = "open", "dismissed", "actioned"
ACTIONS = ("dismiss", "warn", "limit", "suspend", "forfeit")
MAX_EVIDENCE_ACCOUNTS = 50


class AccountSignal(Base):
    """An IP or browser fingerprint seen for an account (first and last time)."""

    __tablename__ = "account_signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128), index=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AbuseFlag(Base):
    """One suspicion about one account, waiting for (or after) an admin's decision."""

    __tablename__ = "abuse_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    rule: Mapped[str] = mapped_column(String(32), index=True)
    # Raising the same suspicion twice is a unique-key conflict, not a second flag.
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    evidence: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    @property
    def evidence_data(self) -> dict[str, Any]:
        return json.loads(self.evidence or "{}")


class AccountLimit(Base):
    """A cap on waiting orders an admin set in a review (0: no purchases at all)."""

    __tablename__ = "account_limits"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    max_waiting_orders: Mapped[int] = mapped_column(Integer)
    until: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


@dataclass(frozen=True)
class DetectionRules:
    """Thresholds of :func:`scan`; a threshold of 0 turns its rule off."""

    shared_accounts: int = 2  # accounts (or reseller families) on one IP/fingerprint
    signal_days: int = 30  # only signals seen this recently count
    cancel_ratio: float = 0.7
    cancel_min_orders: int = 20  # finished activations in cancel_days before judging
    cancel_days: int = 7
    burst_orders: int = 30  # orders within burst_minutes
    burst_minutes: int = 5
    bounced_deposits: int = 1  # admin-rejected deposits within bounce_days
    bounce_days: int = 30
    auto_suspend: tuple[str, ...] = ()  # rules whose new flags suspend the account

    @classmethod
    def from_settings(cls, settings: Any) -> DetectionRules:
        return cls(
            shared_accounts=settings.abuse_shared_accounts,
            signal_days=settings.abuse_signal_days,
            cancel_ratio=settings.abuse_cancel_ratio,
            cancel_min_orders=settings.abuse_cancel_min_orders,
            cancel_days=settings.abuse_cancel_days,
            burst_orders=settings.abuse_burst_orders,
            burst_minutes=settings.abuse_burst_minutes,
            bounced_deposits=settings.abuse_bounced_deposits,
            bounce_days=settings.abuse_bounce_days,
            auto_suspend=tuple(settings.abuse_auto_suspend_rules),
        )


# ---- signals ----------------------------------------------------------------------------


def browser_fingerprint(user_agent: str, accept_language: str, client_hint: str = "") -> str:
    """A coarse, non-reversible browser fingerprint from request headers.

    Headers alone are weak (many browsers look alike), so a shared fingerprint is only
    evidence next to other signals; it is hashed so that no header text is stored.
    """
    material = "\n".join((user_agent or "", accept_language or "", client_hint or ""))
    if not material.strip():
        return ""
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def record_signal(
    session: Session, user_id: int, kind: str, value: str, now: datetime | None = None
) -> None:
    """Remember that ``user_id`` showed this IP/fingerprint (insert once, then touch)."""
    if kind not in SIGNAL_KINDS:
        raise InvalidInput("unknown signal kind")
    value = (value or "").strip()[:128]
    if not value:
        return
    now = now or utcnow()
    touched = session.execute(
        update(AccountSignal)
        .where(
            AccountSignal.user_id == user_id,
            AccountSignal.kind == kind,
            AccountSignal.value == value,
        )
        .values(last_seen=now)
        .execution_options(synchronize_session=False)
    )
    if touched.rowcount == 0:
        session.add(
            AccountSignal(user_id=user_id, kind=kind, value=value, first_seen=now, last_seen=now)
        )
        session.flush()


def record_login(
    session: Session, user_id: int, *, ip: str, fingerprint: str, registration: bool = False
) -> None:
    """The signals of a registration or a login, as the web edge sees them."""
    record_signal(session, user_id, REGISTER_IP if registration else LOGIN_IP, ip)
    record_signal(session, user_id, FINGERPRINT, fingerprint)


# ---- flags ------------------------------------------------------------------------------


def _raise_flag(
    session: Session, user_id: int, rule: str, dedupe_key: str, evidence: dict[str, Any]
) -> AbuseFlag | None:
    """Insert a flag unless the same suspicion (dedupe key) was raised before."""
    values = {
        "user_id": user_id,
        "rule": rule,
        "dedupe_key": dedupe_key[:255],
        "evidence": json.dumps(evidence, sort_keys=True, default=str),
        "status": OPEN,
        "created_at": utcnow(),
        "decision": "",
        "note": "",
    }
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    stmt = (
        dialect_insert(AbuseFlag)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(AbuseFlag.id)
    )
    new_id = session.execute(stmt).scalar()
    return session.get(AbuseFlag, new_id) if new_id is not None else None


def _family(session: Session, user_ids: set[int]) -> dict[int, int]:
    """Each account's family: its reseller's id for a sub-account, else its own id."""
    from .resellers import SubAccount

    parents = dict(
        session.execute(
            select(SubAccount.user_id, SubAccount.reseller_id).where(
                SubAccount.user_id.in_(user_ids)
            )
        ).all()
    )
    return {uid: parents.get(uid, uid) for uid in user_ids}


def _shared_signals(session: Session, rules: DetectionRules, now: datetime) -> list[AbuseFlag]:
    if rules.shared_accounts < 2:
        return []
    since = now - timedelta(days=rules.signal_days)
    crowded = session.execute(
        select(AccountSignal.kind, AccountSignal.value)
        .where(AccountSignal.last_seen >= since)
        .group_by(AccountSignal.kind, AccountSignal.value)
        .having(func.count(func.distinct(AccountSignal.user_id)) >= rules.shared_accounts)
    ).all()
    flags = []
    for kind, value in crowded:
        users = dict(
            session.execute(
                select(User.id, User.email)
                .join(AccountSignal, AccountSignal.user_id == User.id)
                .where(
                    AccountSignal.kind == kind,
                    AccountSignal.value == value,
                    AccountSignal.last_seen >= since,
                )
            ).all()
        )
        family = _family(session, set(users))
        # A reseller and its own customers behind one server are one party, not abuse.
        if len(set(family.values())) < rules.shared_accounts:
            continue
        for uid in sorted(users):
            others = [
                {"id": o, "email": users[o]}
                for o in sorted(users)
                if o != uid and family[o] != family[uid]
            ][:MAX_EVIDENCE_ACCOUNTS]
            evidence = {"signal": kind, "value": value, "other_accounts": others}
            flag = _raise_flag(session, uid, SHARED_SIGNAL[kind], f"{kind}:{value}:{uid}", evidence)
            if flag is not None:
                flags.append(flag)
    return flags


def _cancel_ratios(session: Session, rules: DetectionRules, now: datetime) -> list[AbuseFlag]:
    if rules.cancel_min_orders <= 0 or rules.cancel_ratio > 1:
        return []
    since = now - timedelta(days=rules.cancel_days)
    canceled = func.sum(case((Order.status == CANCELED, 1), else_=0))
    rows = session.execute(
        select(Order.user_id, func.count(), canceled)
        .where(
            Order.kind == ACTIVATION,
            Order.status != WAITING,
            Order.created_at >= since,
        )
        .group_by(Order.user_id)
        .having(func.count() >= rules.cancel_min_orders)
    ).all()
    flags = []
    for uid, finished, cancels in rows:
        ratio = int(cancels or 0) / finished
        if ratio < rules.cancel_ratio:
            continue
        evidence = {
            "finished_activations": finished,
            "canceled": int(cancels or 0),
            "ratio": round(ratio, 3),
            "threshold": rules.cancel_ratio,
            "days": rules.cancel_days,
        }
        # At most one flag per account per day for this rule.
        key = f"{CANCEL_RATIO}:{uid}:{now.date().isoformat()}"
        flag = _raise_flag(session, uid, CANCEL_RATIO, key, evidence)
        if flag is not None:
            flags.append(flag)
    return flags


def _bursts(session: Session, rules: DetectionRules, now: datetime) -> list[AbuseFlag]:
    """Accounts that bought ``burst_orders`` or more in the last ``burst_minutes``.

    The scan must run at least once per burst window (the worker does, see docs).
    """
    if rules.burst_orders <= 0 or rules.burst_minutes <= 0:
        return []
    window = timedelta(minutes=rules.burst_minutes)
    rows = session.execute(
        select(Order.user_id, func.count(), func.min(Order.created_at), func.max(Order.created_at))
        .where(Order.created_at >= now - window, Order.created_at <= now)
        .group_by(Order.user_id)
        .having(func.count() >= rules.burst_orders)
    ).all()
    bucket = int(now.timestamp() // window.total_seconds())
    flags = []
    for uid, count, first, last in rows:
        evidence = {
            "orders": count,
            "minutes": rules.burst_minutes,
            "threshold": rules.burst_orders,
            "first": first,
            "last": last,
        }
        flag = _raise_flag(session, uid, ORDER_BURST, f"{ORDER_BURST}:{uid}:{bucket}", evidence)
        if flag is not None:
            flags.append(flag)
    return flags


def _bounced_deposits(session: Session, rules: DetectionRules, now: datetime) -> list[AbuseFlag]:
    """Deposits an admin rejected (the transfer never arrived or was reversed).

    Deposits refused automatically for being under the minimum are not bounces.
    """
    if rules.bounced_deposits <= 0:
        return []
    from .payments import REJECTED, Deposit

    rows = session.execute(
        select(Deposit.user_id, func.count(), func.max(Deposit.id))
        .where(
            Deposit.status == REJECTED,
            Deposit.decided_by.is_not(None),
            Deposit.created_at >= now - timedelta(days=rules.bounce_days),
        )
        .group_by(Deposit.user_id)
        .having(func.count() >= rules.bounced_deposits)
    ).all()
    flags = []
    for uid, count, latest in rows:
        ids = list(
            session.scalars(
                select(Deposit.id)
                .where(
                    Deposit.user_id == uid,
                    Deposit.status == REJECTED,
                    Deposit.decided_by.is_not(None),
                    Deposit.created_at >= now - timedelta(days=rules.bounce_days),
                )
                .order_by(Deposit.id)
            )
        )
        evidence = {"bounced": count, "deposit_ids": ids, "days": rules.bounce_days}
        # A new bounce (a new latest id) is a new suspicion.
        key = f"{BOUNCED_DEPOSIT}:{uid}:{latest}"
        flag = _raise_flag(session, uid, BOUNCED_DEPOSIT, key, evidence)
        if flag is not None:
            flags.append(flag)
    return flags


def scan(session: Session, rules: DetectionRules, now: datetime | None = None) -> list[AbuseFlag]:
    """Run every detector; returns the flags raised now (repeats are not raised twice)."""
    now = now or utcnow()
    flags = [
        *_shared_signals(session, rules, now),
        *_cancel_ratios(session, rules, now),
        *_bursts(session, rules, now),
        *_bounced_deposits(session, rules, now),
    ]
    for flag in flags:
        if flag.rule in rules.auto_suspend:
            _auto_suspend(session, flag, now)
    return flags


def _auto_suspend(session: Session, flag: AbuseFlag, now: datetime) -> None:
    """Only for rules an operator configured to act alone (``abuse_auto_suspend_rules``)."""
    session.execute(update(User).where(User.id == flag.user_id).values(is_suspended=True))
    flag.status, flag.decision, flag.decided_at = ACTIONED, "suspend", now
    flag.note = f"suspended automatically: rule {flag.rule} is configured to"
    audit(session, "abuse.auto_suspend", detail=f"user {flag.user_id}: flag {flag.id} {flag.rule}")


# ---- review -----------------------------------------------------------------------------


def review_queue(
    session: Session, *, status: str = OPEN, rule: str = "", limit: int = 100
) -> list[tuple[AbuseFlag, User]]:
    query = (
        select(AbuseFlag, User)
        .join(User, User.id == AbuseFlag.user_id)
        .order_by(AbuseFlag.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(AbuseFlag.status == status)
    if rule:
        query = query.where(AbuseFlag.rule == rule)
    return [(f, u) for f, u in session.execute(query)]


def get_flag(session: Session, flag_id: int) -> AbuseFlag:
    flag = session.get(AbuseFlag, flag_id)
    if flag is None:
        raise NotFound("no such flag")
    return flag


def decide(
    session: Session,
    admin: User,
    flag_id: int,
    action: str,
    note: str,
    *,
    max_waiting_orders: int = 0,
    limit_days: int = 30,
    ip: str = "",
) -> AbuseFlag:
    """Close a flag with one action; each is audited, and only an open flag can be decided."""
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("a note for the record is required")
    now = utcnow()
    done = session.execute(
        update(AbuseFlag)
        .where(AbuseFlag.id == flag_id, AbuseFlag.status == OPEN)
        .values(
            status=DISMISSED if action == "dismiss" else ACTIONED,
            decision=action,
            note=note[:2000],
            decided_at=now,
            decided_by=admin.id,
        )
        .execution_options(synchronize_session=False)
    )
    flag = session.get(AbuseFlag, flag_id, populate_existing=True)
    if flag is None:
        raise NotFound("no such flag")
    if done.rowcount != 1:
        raise Conflict(f"the flag was already decided ({flag.decision})")
    _apply(session, admin, flag, action, note, max_waiting_orders, limit_days, now, ip)
    audit(
        session,
        f"admin.abuse.{action}",
        user_id=admin.id,
        ip=ip,
        detail=f"flag {flag.id} ({flag.rule}) user {flag.user_id}: {note[:300]}",
    )
    return flag


def _apply(
    session: Session,
    admin: User,
    flag: AbuseFlag,
    action: str,
    note: str,
    max_waiting_orders: int,
    limit_days: int,
    now: datetime,
    ip: str,
) -> None:
    from . import admin_ops

    if action == "warn":
        from .tickets import open_staff_ticket

        open_staff_ticket(session, admin, flag.user_id, "A warning about your account", note, ip=ip)
    elif action == "limit":
        set_limit(session, admin, flag.user_id, max_waiting_orders, limit_days, note, now)
    elif action == "suspend":
        admin_ops.set_suspended(session, admin, flag.user_id, True, note, ip=ip)
    elif action == "forfeit":
        user = session.get(User, flag.user_id)
        assert user is not None
        if not user.is_suspended:
            admin_ops.set_suspended(session, admin, flag.user_id, True, note, ip=ip)
        admin_ops.forfeit(session, admin, flag.user_id, note, ip=ip)


def set_limit(
    session: Session,
    admin: User,
    user_id: int,
    max_waiting_orders: int,
    days: int,
    reason: str,
    now: datetime | None = None,
) -> AccountLimit:
    if isinstance(max_waiting_orders, bool) or not 0 <= int(max_waiting_orders) <= 1000:
        raise InvalidInput("the limit is 0 to 1000 waiting orders")
    if not 1 <= int(days) <= 3650:
        raise InvalidInput("a limit lasts 1 to 3650 days")
    now = now or utcnow()
    row = session.get(AccountLimit, user_id)
    if row is None:
        row = AccountLimit(user_id=user_id, max_waiting_orders=0)
        session.add(row)
    row.max_waiting_orders = int(max_waiting_orders)
    row.until = now + timedelta(days=int(days))
    row.reason, row.set_by = reason[:2000], admin.id
    session.flush()
    return row


def check_review_limit(session: Session, user: User, now: datetime) -> None:
    """Refuse a purchase beyond the waiting-order cap an admin set in a review."""
    row = session.get(AccountLimit, user.id)
    if row is None or (row.until is not None and row.until <= now):
        return
    waiting = session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.user_id == user.id, Order.status == WAITING, Order.expires_at > now)
    )
    if (waiting or 0) >= row.max_waiting_orders:
        raise TooManyWaitingOrders(
            f"an admin limited this account to {row.max_waiting_orders} waiting orders "
            f"until {row.until.isoformat(timespec='minutes') if row.until else 'further notice'}",
            retry_after=60,
        )

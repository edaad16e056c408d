"""Abuse controls on buying: a cap on waiting orders and a cooldown for serial cancelers.

Why: an activation holds an address and an escrow while it waits, and a customer who
buys many and cancels nearly all of them (to fish for a "good" address or to probe
senders) costs mail capacity and blocks addresses from others. Both rules are read
from the database on each purchase; nothing is cached, so every process agrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .base import utcnow
from .errors import CancelCooldown, TooManyWaitingOrders
from .orders import ACTIVATION, CANCELED, WAITING, Order
from .users import User


@dataclass(frozen=True)
class Limits:
    """Per-account limits; 0 (or a ratio above 1) turns a rule off."""

    max_waiting_orders: int = 50
    cancel_ratio_limit: float = 0.8
    cancel_window_orders: int = 20
    cancel_cooldown_minutes: int = 15

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(
            max_waiting_orders=settings.max_waiting_orders,
            cancel_ratio_limit=settings.cancel_ratio_limit,
            cancel_window_orders=settings.cancel_window_orders,
            cancel_cooldown_minutes=settings.cancel_cooldown_minutes,
        )


def waiting_orders(session: Session, user: User, now: datetime) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.user_id == user.id, Order.status == WAITING, Order.expires_at > now)
    )


def check_waiting_cap(session: Session, user: User, limits: Limits, now: datetime) -> None:
    if (
        limits.max_waiting_orders
        and waiting_orders(session, user, now) >= limits.max_waiting_orders
    ):
        raise TooManyWaitingOrders(
            f"at most {limits.max_waiting_orders} orders may wait at once; "
            "cancel one or wait for a code",
            retry_after=5,
        )


def cooldown_until(session: Session, user: User, limits: Limits, now: datetime) -> datetime | None:
    """When the account may buy again, if its recent activations were mostly canceled.

    The sample is its last ``cancel_window_orders`` activations that are over; the rule
    applies only to a full sample, so a new customer's first cancels never trip it.
    """
    window = limits.cancel_window_orders
    if window <= 0 or limits.cancel_ratio_limit > 1 or limits.cancel_cooldown_minutes <= 0:
        return None
    recent = session.execute(
        select(Order.status, Order.finished_at)
        .where(Order.user_id == user.id, Order.kind == ACTIVATION, Order.status != WAITING)
        .order_by(Order.id.desc())
        .limit(window)
    ).all()
    if len(recent) < window:
        return None
    cancels = [finished for status, finished in recent if status == CANCELED]
    if len(cancels) < limits.cancel_ratio_limit * window:
        return None
    last = max((f for f in cancels if f is not None), default=None)
    if last is None:
        return None
    until = last + timedelta(minutes=limits.cancel_cooldown_minutes)
    return until if until > now else None


def check_purchase(
    session: Session, user: User, limits: Limits, now: datetime | None = None
) -> None:
    """Raise the matching :class:`RateLimited` error when ``user`` may not buy right now."""
    now = now or utcnow()
    until = cooldown_until(session, user, limits, now)
    if until is not None:
        raise CancelCooldown(
            "most of this account's recent orders were canceled; "
            f"buying pauses until {until.isoformat(timespec='seconds')}",
            retry_after=int((until - now).total_seconds()) + 1,
        )
    check_waiting_cap(session, user, limits, now)

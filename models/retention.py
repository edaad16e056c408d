"""Retention: old mail is purged in small batches so ingest never waits on a long delete.

Two rules, both configurable: messages older than a maximum age, and, per address,
everything beyond the newest N. Attachments go with their message; a raw message goes
once no stored message refers to it any more. Like every domain function this never
commits: the worker calls it once per tick inside its own short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from .base import utcnow
from .mail import Attachment, Message, RawMessage


@dataclass(frozen=True)
class Purged:
    messages: int = 0
    raw_messages: int = 0

    @property
    def total(self) -> int:
        return self.messages + self.raw_messages


def purge_old_messages(
    session: Session,
    *,
    max_age_days: int,
    max_per_address: int,
    batch: int = 500,
    now: datetime | None = None,
) -> Purged:
    """Delete at most ``batch`` messages (and their orphaned raw copies) past retention.

    ``max_age_days`` / ``max_per_address`` of 0 turn that rule off.
    """
    now = now or utcnow()
    ids: list[int] = []
    if max_age_days:
        cutoff = now - timedelta(days=max_age_days)
        ids += session.scalars(
            select(Message.id).where(Message.received_at < cutoff).order_by(Message.id).limit(batch)
        ).all()
    if max_per_address and len(ids) < batch:
        ranked = select(
            Message.id,
            func.row_number()
            .over(partition_by=Message.address_id, order_by=Message.id.desc())
            .label("rank"),
        ).subquery()
        ids += session.scalars(
            select(ranked.c.id)
            .where(ranked.c.rank > max_per_address, ranked.c.id.not_in(ids or [0]))
            .order_by(ranked.c.id)
            .limit(batch - len(ids))
        ).all()
    messages = 0
    if ids:
        raw_ids = set(session.scalars(select(Message.raw_id).where(Message.id.in_(ids))))
        session.execute(delete(Attachment).where(Attachment.message_id.in_(ids)))
        messages = session.execute(delete(Message).where(Message.id.in_(ids))).rowcount
    else:
        raw_ids = set()
    raw_messages = _purge_orphaned_raw(session, raw_ids, now, max_age_days, batch)
    return Purged(messages=messages, raw_messages=raw_messages)


def _purge_orphaned_raw(
    session: Session, candidates: set[int], now: datetime, max_age_days: int, batch: int
) -> int:
    """Raw copies no message refers to: those just orphaned, and old ones (e.g. mail whose
    recipients were all unknown by DATA time, stored raw only)."""
    still_used = select(Message.id).where(Message.raw_id == RawMessage.id).exists()
    conditions = [RawMessage.id.in_(candidates)] if candidates else []
    if max_age_days:
        conditions.append(RawMessage.received_at < now - timedelta(days=max_age_days))
    if not conditions:
        return 0
    orphans = session.scalars(
        select(RawMessage.id).where(or_(*conditions), ~still_used).limit(batch)
    ).all()
    if not orphans:
        return 0
    return session.execute(delete(RawMessage).where(RawMessage.id.in_(orphans))).rowcount

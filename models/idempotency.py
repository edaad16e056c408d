"""Idempotency keys for money-moving API calls (the Stripe model).

The key row is inserted in the same transaction as the operation it guards and
carries the response, so "did it happen" and "what did we answer" commit together.
A concurrent request with the same key blocks on the unique index until the first
commits, then replays its stored answer; a failed operation rolls its key back with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, utcnow
from .errors import IdempotencyConflict, InvalidInput

MAX_KEY_LENGTH = 255


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


def request_fingerprint(method: str, path: str, payload: object) -> str:
    blob = json.dumps([method, path, payload], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def claim(session: Session, user_id: int, key: str, fingerprint: str) -> StoredResponse | None:
    """Claim ``key`` for this request, or return the response stored under it.

    Raises :class:`IdempotencyConflict` when the key was used for another request.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
    try:
        with session.begin_nested():
            session.add(IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint))
    except IntegrityError:
        row = session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
            )
        )
        if row is None or row.request_hash != fingerprint:
            raise IdempotencyConflict() from None
        return StoredResponse(row.status, row.body)
    return None


def record(session: Session, user_id: int, key: str, status: int, body: str) -> None:
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if row is not None:
        row.status, row.body = status, body

"""Webhooks: per-account endpoints, a persisted delivery queue and its attempts log.

Events are queued in the same transaction as the change they describe (a delivery
calls :func:`enqueue_delivery_events`), so an event exists exactly when its change
committed. A worker then claims due deliveries (:func:`claim_due`), POSTs them and
records each attempt (:func:`record_attempt`). Delivery is at-least-once: a claim is
a lease, so a worker that dies mid-send only delays the retry until the lease ends.
Receivers de-duplicate on the event id, which stays the same across retries.

Signature: ``X-Otpinbox-Signature: sha256=<hex HMAC-SHA256(secret, "<ts>.<body>")>``
with ``X-Otpinbox-Timestamp: <ts>`` (Unix seconds), so a receiver can reject replays
of old bodies (see docs/realtime.md).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, parse_id, utcnow
from .errors import InvalidInput, NotFound
from .orders import Order
from .payloads import iso, message_summary, order_payload
from .users import User

ORDER_COMPLETED = "order.completed"
MESSAGE_RECEIVED = "message.received"
EVENTS = (ORDER_COMPLETED, MESSAGE_RECEIVED)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_ENDPOINTS_PER_USER = 10
SIGNATURE_HEADER = "X-Otpinbox-Signature"
TIMESTAMP_HEADER = "X-Otpinbox-Timestamp"
EVENT_HEADER = "X-Otpinbox-Event"
EVENT_ID_HEADER = "X-Otpinbox-Event-Id"


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Kept in clear: the worker needs it to sign, and it only authenticates us to the receiver.
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[str] = mapped_column(String(200), default=",".join(EVENTS))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Deleted endpoints stay, so their delivery log stays readable; nothing new is queued.
    deleted_at: Mapped[datetime | None]

    @property
    def event_list(self) -> list[str]:
        return [e for e in self.events.split(",") if e]


class WebhookDelivery(Base):
    """One event for one endpoint: the exact body, and where its retries stand."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The queue's order; a claimed delivery has this pushed past its lease.
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    # Changes on every claim, so a worker whose lease ran out cannot record over a newer one.
    lease: Mapped[str | None] = mapped_column(String(32))
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """The attempts log: one row per POST, whatever came of it."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


# ---------------------------------------------------------------- endpoints


def _is_private_host(host: str) -> bool:
    """Does ``host`` resolve to a loopback, private, link-local or otherwise local address?"""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable now; the send will fail and be retried
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global:
            return True
    return False


def validate_url(url: str, *, allow_private: bool) -> str:
    """An http(s) URL, not aimed at our own network unless ``allow_private`` (SSRF guard)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInput("url must be an http or https URL")
    if parts.username or parts.password:
        raise InvalidInput("url must not carry credentials")
    if not allow_private and _is_private_host(parts.hostname):
        raise InvalidInput("url must point to a public address")
    return url


def create_endpoint(
    session: Session,
    user: User,
    url: str,
    *,
    events: Iterable[str] | None = None,
    allow_private: bool = False,
) -> WebhookEndpoint:
    chosen = list(dict.fromkeys(events or EVENTS))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown or not chosen:
        raise InvalidInput(f"events must be a non-empty list from {', '.join(EVENTS)}")
    if len(list_endpoints(session, user)) >= MAX_ENDPOINTS_PER_USER:
        raise InvalidInput(f"at most {MAX_ENDPOINTS_PER_USER} webhooks per account")
    endpoint = WebhookEndpoint(
        user_id=user.id,
        url=validate_url(url, allow_private=allow_private),
        secret="whsec_" + secrets.token_urlsafe(32),
        events=",".join(chosen),
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session, user: User) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.user_id == user.id, WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id)
        )
    )


def get_endpoint(session: Session, user: User, endpoint_id: int | str) -> WebhookEndpoint:
    eid = parse_id(endpoint_id)
    if eid is None:
        raise NotFound("no such webhook")
    endpoint = session.get(WebhookEndpoint, eid)
    if endpoint is None or endpoint.user_id != user.id or endpoint.deleted_at is not None:
        raise NotFound("no such webhook")
    return endpoint


def delete_endpoint(session: Session, user: User, endpoint_id: int | str) -> None:
    """Stop sending to this endpoint; its pending deliveries are dropped as failed."""
    endpoint = get_endpoint(session, user, endpoint_id)
    now = utcnow()
    endpoint.deleted_at = now
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == PENDING)
        .values(status=FAILED, last_error="endpoint deleted", lease=None)
        .execution_options(synchronize_session=False)
    )


def deliveries_for(
    session: Session, user: User, endpoint_id: int | str, *, limit: int = 50
) -> list[WebhookDelivery]:
    """The delivery log of one endpoint, newest first."""
    endpoint = get_endpoint(session, user, endpoint_id)
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(max(1, min(limit, 200)))
        )
    )


def attempts_for(session: Session, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    return list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id)
        )
    )


# ---------------------------------------------------------------- events


def message_payload(message: Any) -> dict[str, Any]:
    """A message summary as REST v1 shows it, plus the order it was filed under."""
    order_id = str(message.order_id) if message.order_id is not None else None
    return {**message_summary(message), "order_id": order_id}


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def enqueue(
    session: Session, user_id: int, event: str, data: dict[str, Any], *, now: datetime | None = None
) -> list[WebhookDelivery]:
    """Queue ``event`` for every live endpoint of ``user_id`` that subscribed to it."""
    endpoints = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.user_id == user_id, WebhookEndpoint.deleted_at.is_(None)
        )
    ).all()
    return _enqueue_for(session, [e for e in endpoints if event in e.event_list], event, data, now)


def _enqueue_for(
    session: Session,
    endpoints: list[WebhookEndpoint],
    event: str,
    data: dict[str, Any],
    now: datetime | None,
) -> list[WebhookDelivery]:
    if not endpoints:
        return []
    now = now or utcnow()
    event_id = new_event_id()
    body = json.dumps(
        {"id": event_id, "event": event, "created_at": iso(now), **data},
        separators=(",", ":"),
        sort_keys=True,
    )
    queued = [
        WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event_id,
            event=event,
            body=body,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
    ]
    session.add_all(queued)
    return queued


# Asked once per delivered message: a plain prebuilt query, not an ORM load.
_ANY_ENDPOINT = (
    select(WebhookEndpoint.id)
    .where(
        WebhookEndpoint.user_id.in_(bindparam("user_ids", expanding=True)),
        WebhookEndpoint.deleted_at.is_(None),
    )
    .limit(1)
)


def enqueue_delivery_events(session: Session, deliveries: Sequence[Any]) -> int:
    """Queue ``message.received`` and ``order.completed`` for :class:`mail.Delivery` objects.

    Called by ``models.mail.deliver_many`` inside its transaction. Costs one indexed query
    per batch when none of the recipients' owners has a webhook, which is the common case;
    otherwise one query each for the endpoints, the messages and the completed orders of
    the whole batch. Events are queued delivery by delivery, messages before completions.
    """
    user_ids = {user_id for delivery in deliveries for user_id in delivery.user_ids}
    if not user_ids:
        return 0
    connection = session.connection()
    if connection.execute(_ANY_ENDPOINT, {"user_ids": list(user_ids)}).first() is None:
        return 0
    from .catalog import Address
    from .mail import Message  # mail imports this module; import back lazily

    endpoints = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.user_id.in_(user_ids), WebhookEndpoint.deleted_at.is_(None)
        )
    ).all()
    by_user: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in endpoints:
        by_user.setdefault(endpoint.user_id, []).append(endpoint)
    session.flush()
    message_ids = [mid for delivery in deliveries for mid in delivery.message_ids]
    messages = {
        message.id: (message, owner)
        for message, owner in session.execute(
            select(Message, Address.user_id)
            .join(Address, Address.id == Message.address_id)
            .where(Message.id.in_(message_ids))
        )
    }
    order_ids = [oid for delivery in deliveries for oid in delivery.completed_order_ids]
    orders = (
        {
            order.id: order
            for order in session.scalars(
                select(Order)
                .where(Order.id.in_(order_ids))
                .execution_options(populate_existing=True)
            )
        }
        if order_ids
        else {}
    )
    queued = 0
    for delivery in deliveries:
        for message, owner in (messages[mid] for mid in sorted(delivery.message_ids)):
            targets = [e for e in by_user.get(owner, []) if MESSAGE_RECEIVED in e.event_list]
            data = {"message": message_payload(message)}
            queued += len(_enqueue_for(session, targets, MESSAGE_RECEIVED, data, None))
        for order in (orders[oid] for oid in sorted(delivery.completed_order_ids)):
            subscribed = by_user.get(order.user_id, [])
            targets = [e for e in subscribed if ORDER_COMPLETED in e.event_list]
            data = {"order": order_payload(order)}
            queued += len(_enqueue_for(session, targets, ORDER_COMPLETED, data, None))
    return queued


# ---------------------------------------------------------------- sending


def sign(secret: str, timestamp: int, body: str | bytes) -> str:
    """``sha256=<hex>`` over ``<timestamp>.<body>``: what receivers recompute and compare."""
    raw = body.encode() if isinstance(body, str) else body
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300
) -> bool:
    """The receiver's check, shipped for our tests and for Python receivers to copy."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature or "")


def backoff_seconds(attempts: int, *, base: float = 10.0, cap: float = 3600.0) -> float:
    """Wait before retry number ``attempts``: 10 s, 20 s, 40 s, ... capped at an hour."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Claim:
    """A delivery leased to one worker for one attempt, with what it needs to send it."""

    delivery_id: int
    lease: str
    url: str
    secret: str
    event: str
    event_id: str
    body: str
    attempts: int


def claim_due(
    session: Session, *, now: datetime | None = None, limit: int = 20, lease_seconds: float = 120
) -> list[Claim]:
    """Lease up to ``limit`` due deliveries to the caller.

    ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) lets concurrent workers take disjoint
    batches; the conditional UPDATE below (row count checked) is what makes a claim
    exclusive on every backend: a row already leased by another worker is skipped.
    """
    now = now or utcnow()
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    claims = []
    until = now + timedelta(seconds=lease_seconds)
    for delivery, endpoint in rows:
        token = secrets.token_hex(16)
        taken = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery.id,
                WebhookDelivery.status == PENDING,
                WebhookDelivery.next_attempt_at == delivery.next_attempt_at,
            )
            .values(next_attempt_at=until, lease=token)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            claims.append(
                Claim(
                    delivery.id,
                    token,
                    endpoint.url,
                    endpoint.secret,
                    delivery.event,
                    delivery.event_id,
                    delivery.body,
                    delivery.attempts,
                )
            )
    return claims


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead the worker to an internal address the URL check refused.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(claim: Claim, *, timeout: float = 10.0, allow_private: bool = False) -> Outcome:
    """POST one claimed delivery, signed; any non-2xx answer or network error is a failure."""
    started = time.monotonic()
    try:
        validate_url(claim.url, allow_private=allow_private)
    except InvalidInput as exc:
        return Outcome(None, exc.message, 0)
    timestamp = int(time.time())
    request = urllib.request.Request(
        claim.url,
        data=claim.body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "otpinbox-webhooks/1",
            EVENT_HEADER: claim.event,
            EVENT_ID_HEADER: claim.event_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(claim.secret, timestamp, claim.body),
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(4096)
            code, error = response.status, None
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        code, error = None, f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(code, error, int((time.monotonic() - started) * 1000))


def record_attempt(
    session: Session,
    claim: Claim,
    outcome: Outcome,
    *,
    now: datetime | None = None,
    max_attempts: int = 10,
) -> str:
    """Log one attempt and move the delivery on: delivered, retried later, or failed.

    Returns the new status, or ``"stale"`` when the lease was lost meanwhile (another
    worker owns the delivery now; its own attempt will be recorded instead).
    """
    now = now or utcnow()
    attempts = claim.attempts + 1
    if outcome.ok:
        values: dict[str, Any] = {"status": DELIVERED, "delivered_at": now}
    elif attempts >= max_attempts:
        values = {"status": FAILED}
    else:
        values = {"next_attempt_at": now + timedelta(seconds=backoff_seconds(attempts))}
    done = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == claim.delivery_id, WebhookDelivery.lease == claim.lease)
        .values(
            attempts=attempts,
            lease=None,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    session.add(
        WebhookAttempt(
            delivery_id=claim.delivery_id,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    )
    if done.rowcount != 1:
        return "stale"
    return values.get("status", PENDING)

"""Server-Sent Events: ``/orders/{id}/events`` (one order) and ``/events`` (the account).

Each stream sends ``event: order`` with the order as REST shows it whenever it changes,
and ``event: message`` with a message summary for each new message. An order stream
starts with the order's current state and its messages so far; the account stream
starts quiet and reports changes only. A comment line every 15 s keeps proxies from
closing an idle stream; the same tick re-reads the database (the safety net for a lost
notification). Streams end after an hour; EventSource reconnects by itself.

Under the async front end (web/asgi.py) a stream costs no thread; on a plain WSGI
server it holds one thread for its lifetime.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Response, request, stream_with_context
from sqlalchemy import func, select

from models import orders
from models.catalog import Address
from models.db import Database
from models.mail import Message
from models.notify import LocalNotifier, order_channel, user_channel
from models.users import User

from .. import dbsession
from ..serializers import message_summary, order_json
from . import bp
from .auth import api_user, require_api_key
from .defer import DEFER_STREAM, defer_response

KEEPALIVE_SECONDS = 15.0
MAX_STREAM_SECONDS = 3600.0
ACCOUNT_ORDERS = 50  # the account stream watches this many newest orders


@dataclass
class StreamState:
    user_id: int
    order_id: int | None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_message_id: int = 0
    next_event_id: int = 1


def frame(event: str, data: dict[str, Any], event_id: int) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def collect(db: Database, state: StreamState, *, emit: bool = True) -> list[str]:
    """SSE frames for what changed since ``state`` (and update it)."""
    frames: list[tuple[str, dict[str, Any]]] = []
    with db.read() as session:
        user = session.get(User, state.user_id)
        if user is None or user.is_suspended:
            return ["event: end\ndata: {}\n\n"]
        if state.order_id is not None:
            watched = [orders.get_order(session, user, state.order_id)]
        else:
            watched = orders.list_orders(session, user, limit=ACCOUNT_ORDERS)
        for order in watched:
            shown = order_json(order)
            if state.orders.get(shown["id"]) != shown:
                state.orders[shown["id"]] = shown
                frames.append(("order", shown))
        query = (
            select(Message)
            .join(Address, Address.id == Message.address_id)
            .where(Address.user_id == state.user_id, Message.id > state.last_message_id)
            .order_by(Message.id)
            .limit(100)
        )
        if state.order_id is not None:
            query = query.where(Message.order_id == state.order_id)
        for message in session.scalars(query):
            state.last_message_id = message.id
            frames.append(
                (
                    "message",
                    {
                        **message_summary(message),
                        "order_id": str(message.order_id) if message.order_id else None,
                    },
                )
            )
    if not emit:
        return []
    out = []
    for event, data in frames:
        out.append(frame(event, data, state.next_event_id))
        state.next_event_id += 1
    return out


def start_state(db: Database, user_id: int, order_id: int | None) -> tuple[StreamState, list[str]]:
    """A new stream's state and its opening frames."""
    state = StreamState(user_id=user_id, order_id=order_id)
    if order_id is not None:
        return state, [": stream open\n\n", *collect(db, state)]
    collect(db, state, emit=False)  # the account stream reports changes only
    with db.read() as session:
        newest = session.scalar(
            select(func.max(Message.id))
            .join(Address, Address.id == Message.address_id)
            .where(Address.user_id == user_id)
        )
    state.last_message_id = newest or 0
    return state, [": stream open\n\n"]


def _blocking_stream(
    db: Database, notifier: LocalNotifier, channel: str, state: StreamState, opening: list[str]
) -> Iterator[str]:
    yield from opening
    deadline = time.monotonic() + MAX_STREAM_SECONDS
    version = notifier.version(channel)
    while time.monotonic() < deadline:
        moved = notifier.wait(channel, version, KEEPALIVE_SECONDS)
        if moved == version:
            yield ": keepalive\n\n"
        version = moved
        frames = collect(db, state)
        yield from frames
        if frames and frames[-1].startswith("event: end"):
            return


def _stream(order_id: int | None, channel: str) -> Response:
    user = api_user()
    db = dbsession.database()
    dbsession.session().commit()  # a stream must hold no transaction
    if request.environ.get(DEFER_STREAM):
        return defer_response(
            {"user_id": user.id, "order_id": order_id, "channel": channel}, kind="stream"
        )
    state, opening = start_state(db, user.id, order_id)
    body = stream_with_context(_blocking_stream(db, dbsession.notifier(), channel, state, opening))
    return Response(body, headers=STREAM_HEADERS)


STREAM_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: pass events through at once
}


@bp.get("/orders/<order_id>/events")
@require_api_key
def order_events(order_id: str):  # type: ignore[no-untyped-def]
    order = orders.get_order(dbsession.session(), api_user(), order_id)
    return _stream(order.id, order_channel(order.id))


@bp.get("/events")
@require_api_key
def account_events():  # type: ignore[no-untyped-def]
    return _stream(None, user_channel(api_user().id))

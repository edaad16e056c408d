"""Orders over the API: buy, list, read, long-poll, cancel, reorder, messages."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, jsonify, request, url_for

from models import orders
from models.abuse import Limits
from models.base import parse_id
from models.errors import InvalidInput
from models.mail import messages_for_order
from models.notify import order_channel, user_channel

from .. import dbsession
from ..serializers import message_summary, order_json
from . import bp
from .auth import api_user, require_api_key
from .defer import DEFER_WAIT, defer_response
from .idempotency import idempotent

# How often a long-poll re-reads the database even without a notification: the
# safety net for notifications lost between processes.
RECHECK_SECONDS = 1.0


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and request.data:
        raise InvalidInput("the body must be a JSON object")
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value


def _limits() -> Limits:
    return Limits.from_settings(dbsession.settings())


def _changed(order: orders.Order) -> list[str]:
    return [order_channel(order.id), user_channel(order.user_id)]


@bp.post("/orders")
@require_api_key
@idempotent
def create_order():  # type: ignore[no-untyped-def]
    body = _json_body()
    service = _optional_str(body, "service")
    if not service:
        raise InvalidInput("service is required")
    kind = _optional_str(body, "kind") or orders.ACTIVATION
    days = body.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise InvalidInput("days must be an integer")
    order = orders.purchase(
        dbsession.session(),
        api_user(),
        service,
        kind=kind,
        domain=_optional_str(body, "domain"),
        days=days,
        regex=_optional_str(body, "regex"),
        sender=_optional_str(body, "sender"),
        subject=_optional_str(body, "subject"),
        limits=_limits(),
    )
    dbsession.after_commit(_changed(order))
    response = jsonify(order_json(order))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_order", order_id=order.public_id)
    return response


@bp.get("/orders")
@require_api_key
def list_orders():  # type: ignore[no-untyped-def]
    try:
        limit = int(request.args.get("limit", 50))
        before = request.args.get("before")
        cursor = int(before) if before else None
        if cursor is not None and parse_id(cursor) is None:
            raise ValueError(before)
    except ValueError:
        raise InvalidInput("limit and before must be integers") from None
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200")
    found = orders.list_orders(dbsession.session(), api_user(), before=cursor, limit=limit)
    response = jsonify([order_json(o) for o in found])
    if len(found) == limit:
        next_url = url_for("api.list_orders", limit=limit, before=found[-1].id)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


def _fresh_order(order_id: str) -> orders.Order:
    session = dbsession.session()
    order = orders.get_order(session, api_user(), order_id)
    if order.status in (orders.WAITING, orders.ACTIVE):
        before = order.status
        orders.finalize_if_due(session, order)
        if order.status != before:
            dbsession.after_commit(_changed(order))
    return order


@bp.get("/orders/<order_id>")
@require_api_key
def get_order(order_id: str):  # type: ignore[no-untyped-def]
    return jsonify(order_json(_fresh_order(order_id)))


@bp.get("/orders/<order_id>/wait")
@require_api_key
def wait_order(order_id: str):  # type: ignore[no-untyped-def]
    settings = dbsession.settings()
    try:
        timeout = float(request.args.get("timeout", 30))
    except ValueError:
        raise InvalidInput("timeout must be a number of seconds") from None
    if not 0 <= timeout <= settings.max_wait_seconds:
        raise InvalidInput(f"timeout must be between 0 and {settings.max_wait_seconds}")
    user = api_user()
    session = dbsession.session()
    order = orders.get_order(session, user, order_id)  # 404 before we start waiting
    notifier = dbsession.notifier()
    channel = order_channel(order.id)
    if request.environ.get(DEFER_WAIT) and order.kind == orders.ACTIVATION:
        # An async front end (web/asgi.py) waits without a thread: hand it the plan.
        # The version is read before the order, so a change in between is never missed.
        version = notifier.version(channel)
        current = _fresh_order(order_id)
        if current.status != orders.WAITING or timeout == 0:
            return jsonify(order_json(current))
        return defer_response(
            {"order_id": order.id, "channel": channel, "version": version, "timeout": timeout}
        )
    session.commit()  # hold no transaction (and no SQLite lock) while we wait
    start_version = notifier.version(channel)
    deadline = time.monotonic() + timeout
    db = dbsession.database()
    while True:
        version = notifier.version(channel)
        if order.kind == orders.RENTAL and version != start_version:
            break
        with db.read() as reader:
            current = orders.get_order(reader, user, order.id)
            done = current.status != orders.WAITING or current.expires_at <= orders.utcnow()
            if order.kind == orders.RENTAL:
                done = current.expires_at <= orders.utcnow()
        left = deadline - time.monotonic()
        if done or left <= 0:
            break
        notifier.wait(channel, version, min(left, RECHECK_SECONDS))
    current_app.logger.debug("wait for order %s ended", order.id)
    return jsonify(order_json(_fresh_order(order_id)))


@bp.post("/orders/<order_id>/cancel")
@require_api_key
@idempotent
def cancel_order(order_id: str):  # type: ignore[no-untyped-def]
    order = orders.cancel(dbsession.session(), api_user(), order_id)
    dbsession.after_commit(_changed(order))
    return jsonify(order_json(order))


@bp.post("/orders/<order_id>/reorder")
@require_api_key
@idempotent
def reorder(order_id: str):  # type: ignore[no-untyped-def]
    order = orders.reorder(dbsession.session(), api_user(), order_id, limits=_limits())
    dbsession.after_commit(_changed(order))
    response = jsonify(order_json(order))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_order", order_id=order.public_id)
    return response


@bp.post("/orders/<order_id>/extend")
@require_api_key
@idempotent
def extend(order_id: str):  # type: ignore[no-untyped-def]
    days = _json_body().get("days")
    if isinstance(days, bool) or not isinstance(days, int):
        raise InvalidInput("days must be an integer")
    order = orders.extend_rental(dbsession.session(), api_user(), order_id, days)
    dbsession.after_commit(_changed(order))
    return jsonify(order_json(order))


@bp.get("/orders/<order_id>/messages")
@require_api_key
def order_messages(order_id: str):  # type: ignore[no-untyped-def]
    session = dbsession.session()
    order = orders.get_order(session, api_user(), order_id)
    return jsonify([message_summary(m) for m in messages_for_order(session, order)])

"""Webhook endpoints over the API: create (secret shown once), list, delete, delivery log."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from models import webhooks
from models.errors import InvalidInput

from .. import dbsession
from ..serializers import iso
from . import bp
from .auth import api_user, require_api_key


def endpoint_json(endpoint: webhooks.WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": str(endpoint.id),
        "url": endpoint.url,
        "events": endpoint.event_list,
        "created_at": iso(endpoint.created_at),
    }


def delivery_json(delivery: webhooks.WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "event_id": delivery.event_id,
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": iso(delivery.created_at),
        "delivered_at": iso(delivery.delivered_at),
        "next_attempt_at": iso(delivery.next_attempt_at)
        if delivery.status == webhooks.PENDING
        else None,
    }


@bp.post("/webhooks")
@require_api_key
def create_webhook():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        raise InvalidInput('the body must be {"url": "https://...", "events"?: [...]}')
    events = body.get("events")
    if events is not None and (
        not isinstance(events, list) or not all(isinstance(e, str) for e in events)
    ):
        raise InvalidInput("events must be a list of event names")
    endpoint = webhooks.create_endpoint(
        dbsession.session(),
        api_user(),
        body["url"],
        events=events,
        allow_private=dbsession.settings().webhook_allow_private,
    )
    response = jsonify({**endpoint_json(endpoint), "secret": endpoint.secret})
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_webhook", webhook_id=endpoint.id)
    return response


@bp.get("/webhooks")
@require_api_key
def list_webhooks():  # type: ignore[no-untyped-def]
    found = webhooks.list_endpoints(dbsession.session(), api_user())
    return jsonify([endpoint_json(e) for e in found])


@bp.get("/webhooks/<webhook_id>")
@require_api_key
def get_webhook(webhook_id: str):  # type: ignore[no-untyped-def]
    return jsonify(
        endpoint_json(webhooks.get_endpoint(dbsession.session(), api_user(), webhook_id))
    )


@bp.delete("/webhooks/<webhook_id>")
@require_api_key
def delete_webhook(webhook_id: str):  # type: ignore[no-untyped-def]
    webhooks.delete_endpoint(dbsession.session(), api_user(), webhook_id)
    return "", 204


@bp.get("/webhooks/<webhook_id>/deliveries")
@require_api_key
def webhook_deliveries(webhook_id: str):  # type: ignore[no-untyped-def]
    try:
        limit = int(request.args.get("limit", 50))
    except ValueError:
        raise InvalidInput("limit must be an integer") from None
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200")
    found = webhooks.deliveries_for(dbsession.session(), api_user(), webhook_id, limit=limit)
    return jsonify([delivery_json(d) for d in found])

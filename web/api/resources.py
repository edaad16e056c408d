"""Account, catalog and message resources, and the OpenAPI document."""

from __future__ import annotations

from flask import Response, jsonify

from models import catalog, ledger, mail

from .. import dbsession
from ..sanitize import sanitize_html
from ..serializers import message_json
from . import bp
from .auth import api_user, require_api_key
from .openapi import document


@bp.get("/me")
@require_api_key
def me():  # type: ignore[no-untyped-def]
    user = api_user()
    return jsonify(
        {
            "email": user.email,
            "balance": ledger.balance(dbsession.session(), user.wallet),
            "currency": dbsession.settings().currency,
        }
    )


@bp.get("/services")
@require_api_key
def services():  # type: ignore[no-untyped-def]
    return jsonify(
        [
            {
                "name": s.name,
                "price": s.price,
                "window_minutes": s.window_minutes,
                "rental_day_price": s.rental_day_price,
            }
            for s in catalog.active_services(dbsession.session())
        ]
    )


@bp.get("/domains")
@require_api_key
def domains():  # type: ignore[no-untyped-def]
    return jsonify([{"domain": d.name} for d in catalog.active_domains(dbsession.session())])


@bp.get("/messages/<message_id>")
@require_api_key
def get_message(message_id: str):  # type: ignore[no-untyped-def]
    message = mail.get_message(dbsession.session(), api_user(), message_id)
    return jsonify(message_json(message, sanitize_html(message.html)))


@bp.get("/messages/<message_id>/raw")
@require_api_key
def raw_message(message_id: str):  # type: ignore[no-untyped-def]
    session = dbsession.session()
    message = mail.get_message(session, api_user(), message_id)
    response = Response(mail.raw_bytes(session, message), mimetype="message/rfc822")
    response.headers["Content-Disposition"] = f'attachment; filename="message-{message.id}.eml"'
    return response


@bp.get("/attachments/<attachment_id>")
@require_api_key
def attachment(attachment_id: str):  # type: ignore[no-untyped-def]
    found = mail.get_attachment(dbsession.session(), api_user(), attachment_id)
    response = Response(found.content, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = "attachment"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(document())

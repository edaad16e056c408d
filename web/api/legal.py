"""Terms over the API: what must be accepted, and accepting it (for API-only accounts)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from models import terms
from models.errors import InvalidInput
from models.terms import LegalVersion

from .. import dbsession
from ..auth import client_ip
from ..serializers import iso
from . import bp
from .auth import api_user, require_api_key


def _version_json(version: LegalVersion, accepted: bool) -> dict[str, Any]:
    return {
        "id": str(version.id),
        "document": version.document,
        "version": version.version,
        "summary": version.summary,
        "published_at": iso(version.published_at),
        "accepted": accepted,
        "url": url_for("terms.document", document=version.document, _external=True),
    }


def _state() -> list[dict[str, Any]]:
    session = dbsession.session()
    pending = {v.id for v in terms.pending(session, api_user())}
    return [_version_json(v, v.id not in pending) for v in terms.current_versions(session)]


@bp.get("/terms")
@require_api_key
def terms_state():  # type: ignore[no-untyped-def]
    return jsonify(_state())


@bp.post("/terms/accept")
@require_api_key
def terms_accept():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True)
    ids = body.get("versions") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) and i.isdigit() for i in ids):
        raise InvalidInput('send {"versions": ["<id>", ...]}: the ids of GET /terms you accept')
    terms.accept(dbsession.session(), api_user(), [int(i) for i in ids], ip=client_ip())
    return jsonify(_state())

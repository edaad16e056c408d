"""``Idempotency-Key`` for money-moving POSTs: one execution, the same answer replayed."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, make_response, request

from models import idempotency

from .. import dbsession
from .auth import api_user

HEADER = "Idempotency-Key"


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        session = dbsession.session()
        user = api_user()
        fingerprint = idempotency.request_fingerprint(
            request.method, request.path, request.get_json(silent=True)
        )
        stored = idempotency.claim(session, user.id, key, fingerprint)
        if stored is not None:
            replay = Response(stored.body, status=stored.status, mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        response = make_response(view(*args, **kwargs))
        if response.status_code < 400:
            idempotency.record(
                session, user.id, key, response.status_code, response.get_data(as_text=True)
            )
        return response

    return wrapped

"""Every API error is ``{"error": {"code", "message"}}`` with the matching HTTP status."""

from __future__ import annotations

import json

from flask import Response, jsonify, url_for
from werkzeug.exceptions import HTTPException

from models import errors

from . import bp

STATUS = [
    (errors.InsufficientFunds, 402),
    (errors.AccountSuspended, 403),
    (errors.TermsNotAccepted, 403),
    (errors.NotAReseller, 403),
    (errors.AuthenticationFailed, 401),
    (errors.NotFound, 404),
    (errors.IdempotencyConflict, 422),
    (errors.Conflict, 409),
    (errors.InvalidInput, 400),
    (errors.UnbalancedTransaction, 500),
    (errors.RateLimited, 429),
]


def status_for(exc: errors.DomainError) -> int:
    return next((status for kind, status in STATUS if isinstance(exc, kind)), 400)


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


@bp.errorhandler(errors.DomainError)
def domain_error(exc: errors.DomainError) -> Response:
    response = error_response(status_for(exc), exc.code, exc.message)
    if isinstance(exc, errors.RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.TermsNotAccepted):  # where to read and accept them
        body = response.get_json()
        body["error"]["url"] = url_for("terms.accept", _external=True)
        response.set_data(json.dumps(body))
    return response


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    code = (exc.name or "error").lower().replace(" ", "_")
    response = error_response(exc.code or 500, code, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def init_app(app) -> None:  # type: ignore[no-untyped-def]
    """Unmatched URLs under /api/ never reach the blueprint: answer them in JSON too."""
    from flask import request

    @app.errorhandler(404)
    @app.errorhandler(405)
    def api_routing_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            return http_error(exc)
        return exc

"""API key authentication: ``Authorization: Bearer <key>``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from models import resellers
from models.errors import AccountSuspended
from models.users import User, user_for_api_key

from .. import dbsession
from .errors import error_response


def api_key_from_request() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    return ""


def api_user() -> User:
    return g.api_user


def require_api_key(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = user_for_api_key(dbsession.session(), api_key_from_request())
        if user is None:
            response = error_response(401, "unauthorized", "a valid API key is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="otpinbox"'
            return response
        if resellers.effectively_suspended(dbsession.session(), user):
            raise AccountSuspended()  # itself, or its reseller
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped

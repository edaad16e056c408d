"""API rate limits with Flask-Limiter: per account, shared by every worker through Redis.

The key is the API account (so several keys of one account share one budget), or the
client IP when the request carries no valid key. Storage is Redis when
``OTPINBOX_REDIS_URL`` is set, so all gunicorn workers and hosts count together;
otherwise in-process memory, which is exact for ``otpinbox run`` (one process).
A breach answers 429 with ``Retry-After`` and the API's JSON error body
(``too_many_requests``, from the blueprint's HTTP error handler).
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, g, request
from flask_limiter import Limiter

from config import Settings
from models.users import user_for_api_key

from . import dbsession


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def rate_limit_key() -> str:
    """``user:<id>`` for a valid API key, else ``ip:<address>``."""
    token = _bearer()
    if token:
        cached = g.get("rate_limit_key")
        if cached:
            return cached
        user = user_for_api_key(dbsession.session(), token)
        if user is not None:
            g.rate_limit_key = f"user:{user.id}"
            return g.rate_limit_key
        # An unknown key is counted by its digest's prefix and IP, so random keys still cost.
        digest = hashlib.sha256(token.encode()).hexdigest()[:8]
        return f"ip:{request.remote_addr}:{digest}"
    return f"ip:{request.remote_addr}"


def _internal() -> bool:
    """The async front end's follow-up read of a long-poll (web/asgi.py) is not a new request."""
    from .api.defer import INTERNAL

    return bool(request.environ.get(INTERNAL))


def _storage_uri(settings: Settings) -> str:
    return settings.redis_url or "memory://"


def init_app(app: Flask, settings: Settings, *blueprints: Blueprint) -> Limiter:
    """One limiter per app (tests build many apps), limiting ``blueprints`` only."""
    limiter = Limiter(
        rate_limit_key,
        app=app,
        storage_uri=_storage_uri(settings),
        strategy="moving-window",
        headers_enabled=True,
        key_prefix="otpinbox",
        # A Redis outage must not take the API down: count in memory until it is back.
        in_memory_fallback_enabled=bool(settings.redis_url),
        swallow_errors=True,
    )
    for blueprint in blueprints:
        # One budget per account across every route of the blueprint (a plain limit()
        # on a blueprint would count each endpoint separately).
        limiter.shared_limit(settings.rate_limit, scope=blueprint.name, exempt_when=_internal)(
            blueprint
        )
    app.extensions["otpinbox.limiter"] = limiter
    return limiter

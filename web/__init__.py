"""The Flask app factory: one blueprint per area, the database session per request."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.routing import IntegerConverter

from config import Settings
from models.base import MAX_ID
from models.db import Database
from models.notify import LocalNotifier, notifier_for

from . import dbsession
from .extensions import csrf, login_manager

APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number beyond our INTEGER ids is none of ours, so the
    URL is a 404 at routing instead of an overflow in the database driver (a 500)."""

    def __init__(self, url_map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    notifier: LocalNotifier | None = None,
) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.url_map.converters["int"] = IdConverter
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.extensions["otpinbox.settings"] = settings
    app.extensions["otpinbox.db"] = db or Database.from_settings(settings)
    app.extensions["otpinbox.notifier"] = notifier or notifier_for(settings)

    dbsession.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)

    from . import account, admin, api, auth, orders, wallet

    app.register_blueprint(auth.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(wallet.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    csrf.exempt(api.bp)
    from . import ratelimit

    ratelimit.init_app(app, settings, api.bp)
    api.errors.init_app(app)
    from .compat import kopeechka as compat_kopeechka

    compat_kopeechka.init_app(app, settings)  # root paths, as kopeechka clients expect
    from .compat import mailtm as compat_mailtm

    compat_mailtm.init_app(app, settings)  # /compat/mailtm
    from . import disputes, login_throttle

    app.register_blueprint(disputes.bp)
    from . import admin_business, privacy, reseller, terms, tickets

    # Issue 9: resellers, support tickets, versioned terms, abuse review, privacy.
    app.register_blueprint(reseller.bp)
    app.register_blueprint(tickets.bp)
    app.register_blueprint(terms.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(admin_business.bp, url_prefix="/admin")
    login_throttle.init_app(app, settings)

    from . import health

    health.init_app(app)  # /healthz, /readyz, /metrics, 503 while the database is away
    if settings.web_proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.web_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Pages run our own script file only; message bodies set their own stricter policy.
        response.headers.setdefault("Content-Security-Policy", APP_CSP)
        return response

    if not app.debug and not app.testing:
        logging.getLogger("otpinbox").setLevel(logging.INFO)
    return app

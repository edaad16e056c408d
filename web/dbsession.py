"""One database session per request, committed once at the edge.

The request's work commits after the view returned a success (status < 400) and
before the response leaves, so a failed commit becomes a 500, never a false 201.
Any error status rolls the whole unit of work back.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from config import Settings
from models.db import Database
from models.notify import LocalNotifier


def database() -> Database:
    return current_app.extensions["otpinbox.db"]


def settings() -> Settings:
    return current_app.extensions["otpinbox.settings"]


def notifier() -> LocalNotifier:
    return current_app.extensions["otpinbox.notifier"]


def session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = database().writer()
    return g.db_session


def after_commit(channels: list[str]) -> None:
    """Publish these notification channels once the request's commit succeeded."""
    g.setdefault("notify_after_commit", []).extend(channels)


def _finish(response: Response) -> Response:
    sess = g.pop("db_session", None)
    if sess is None:
        return response
    try:
        if response.status_code < 400:
            sess.commit()
            channels = g.pop("notify_after_commit", None)
            if channels:
                notifier().publish(channels)
        else:
            sess.rollback()
    finally:
        sess.close()
    return response


def _teardown(exc: BaseException | None) -> None:
    sess = g.pop("db_session", None)
    if sess is not None:  # an exception skipped after_request
        sess.rollback()
        sess.close()


def init_app(app: Flask) -> None:
    app.after_request(_finish)
    app.teardown_request(_teardown)

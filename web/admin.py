"""Admin area (admins only). The full back office is built on this blueprint."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from models.audit import recent
from models.orders import Order

from . import dbsession

bp = Blueprint("admin", __name__)


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(404)  # don't reveal that the area exists
        return view(*args, **kwargs)

    return wrapped


@bp.get("/")
@admin_required
def dashboard():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    counts = dict(session.execute(select(Order.status, func.count()).group_by(Order.status)).all())
    return render_template("admin/dashboard.html", counts=counts, events=recent(session, limit=50))

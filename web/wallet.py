"""The wallet page: balance and ledger history."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from models import ledger

from . import dbsession

bp = Blueprint("wallet", __name__)


@bp.get("/wallet")
@login_required
def index():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    return render_template(
        "wallet/index.html",
        balance=ledger.balance(session, current_user.wallet),
        history=ledger.history(session, current_user.wallet),
        currency=dbsession.settings().currency,
    )

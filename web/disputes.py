"""Customer disputes: a completed activation with a bad code, or a silent rental address."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from models import disputes, orders
from models.errors import DomainError, NotFound

from . import dbsession
from .auth import client_ip
from .forms import DisputeForm

bp = Blueprint("disputes", __name__)


@bp.get("/disputes")
@login_required
def index():  # type: ignore[no-untyped-def]
    return render_template(
        "disputes/index.html", disputes=disputes.disputes_for(dbsession.session(), current_user)
    )


@bp.route("/orders/<int:order_id>/dispute", methods=["GET", "POST"])
@login_required
def open_for_order(order_id: int):  # type: ignore[no-untyped-def]
    session = dbsession.session()
    try:
        order = orders.get_order(session, current_user, order_id)
    except NotFound:
        abort(404)
    form = DisputeForm()
    if form.validate_on_submit():
        try:
            if order.kind == orders.RENTAL:
                disputes.report_outage(
                    session, current_user, order.id, form.reason.data or "", ip=client_ip()
                )
            else:
                disputes.open_dispute(
                    session,
                    current_user,
                    order.id,
                    form.reason.data or "",
                    form.evidence.data or "",
                    window_days=dbsession.settings().dispute_window_days,
                    ip=client_ip(),
                )
        except DomainError as exc:
            form.reason.errors = [*form.reason.errors, exc.message]
        else:
            flash("Dispute opened. An admin will decide; a refund goes to your wallet.")
            return redirect(url_for("disputes.index"), 303)
    status = 400 if form.errors else 200
    return render_template(
        "disputes/open.html",
        form=form,
        order=order,
        existing=disputes.dispute_for_order(session, order.id),
        window_days=dbsession.settings().dispute_window_days,
    ), status

"""The customer's privacy page: what we keep, an export of it (JSON), and deletion."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from models import privacy
from models.errors import DomainError

from . import dbsession
from .auth import client_ip
from .forms import ActionForm
from .refusal import refuse

bp = Blueprint("privacy", __name__)


@bp.get("/settings/privacy")
@login_required
def index():  # type: ignore[no-untyped-def]
    settings = dbsession.settings()
    return render_template(
        "privacy/index.html",
        blockers=privacy.deletion_blockers(dbsession.session(), current_user),
        retention=privacy.Retention.from_settings(settings),
        form=ActionForm(formdata=None),
    )


@bp.get("/settings/privacy/export.json")
@login_required
def export():  # type: ignore[no-untyped-def]
    data = privacy.export_data(dbsession.session(), current_user)
    response = Response(json.dumps(data, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="otpinbox-data.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/settings/privacy/delete")
@login_required
def delete():  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    if request.form.get("confirm") != "DELETE":
        flash("Type DELETE to confirm.", "error")
        return redirect(url_for("privacy.index"), 303)
    try:
        privacy.delete_account(
            dbsession.session(), current_user, request.form.get("password", ""), ip=client_ip()
        )
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for("privacy.index"), 303)
    logout_user()
    flash("Your account is deleted. Orders and payments stay on record, anonymised.", "success")
    return redirect(url_for("auth.login"), 303)

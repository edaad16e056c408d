"""Account settings: API keys (shown once), password."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from models import users
from models.errors import DomainError, NotFound

from . import dbsession
from .forms import ActionForm, ApiKeyForm, PasswordForm

bp = Blueprint("account", __name__)


@bp.route("/settings/api-keys", methods=["GET", "POST"])
@login_required
def api_keys():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    form = ApiKeyForm()
    new_secret = None
    if form.validate_on_submit():
        _, new_secret = users.create_api_key(session, current_user, form.name.data or "")
    return render_template(
        "account/api_keys.html",
        form=form,
        action=ActionForm(),
        keys=users.list_api_keys(session, current_user),
        new_secret=new_secret,
    )


@bp.post("/settings/api-keys/<int:key_id>/revoke")
@login_required
def revoke(key_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        users.revoke_api_key(dbsession.session(), current_user, key_id)
    except NotFound:
        abort(404)
    flash("Key revoked.")
    return redirect(url_for("account.api_keys"), 303)


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def password():  # type: ignore[no-untyped-def]
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users.change_password(
                dbsession.session(), current_user, form.old.data or "", form.new.data or ""
            )
        except DomainError as exc:
            form.old.errors = [*form.old.errors, exc.message]
        else:
            flash("Password changed.")
            return redirect(url_for("account.password"), 303)
    return render_template("account/password.html", form=form)

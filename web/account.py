"""Account settings: API keys (shown once), password."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from models import users, webhooks
from models.errors import DomainError, NotFound

from . import dbsession
from .forms import ActionForm, ApiKeyForm, PasswordForm, WebhookForm

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


@bp.get("/settings")
@login_required
def profile():  # type: ignore[no-untyped-def]
    return render_template("account/profile.html", user=current_user)


@bp.get("/terms")
def terms():  # type: ignore[no-untyped-def]
    return render_template("account/terms.html", settings=dbsession.settings())


@bp.route("/settings/webhooks", methods=["GET", "POST"])
@login_required
def webhook_list():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    form = WebhookForm()
    created = None
    if form.validate_on_submit():
        try:
            created = webhooks.create_endpoint(
                session,
                current_user,
                form.url.data or "",
                allow_private=dbsession.settings().webhook_allow_private,
            )
        except DomainError as exc:
            form.url.errors = [*form.url.errors, exc.message]
    return render_template(
        "account/webhooks.html",
        form=form,
        action=ActionForm(formdata=None),
        endpoints=webhooks.list_endpoints(session, current_user),
        created=created,
    ), (400 if form.errors else 200)


@bp.get("/settings/webhooks/<int:endpoint_id>")
@login_required
def webhook_log(endpoint_id: int):  # type: ignore[no-untyped-def]
    """The delivery log of one endpoint: each event, its status, and every attempt."""
    session = dbsession.session()
    try:
        endpoint = webhooks.get_endpoint(session, current_user, endpoint_id)
        deliveries = webhooks.deliveries_for(session, current_user, endpoint_id)
    except NotFound:
        abort(404)
    return render_template(
        "account/webhook_log.html",
        endpoint=endpoint,
        deliveries=[(d, webhooks.attempts_for(session, d)) for d in deliveries],
    )


@bp.post("/settings/webhooks/<int:endpoint_id>/delete")
@login_required
def webhook_delete(endpoint_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        webhooks.delete_endpoint(dbsession.session(), current_user, endpoint_id)
    except NotFound:
        abort(404)
    flash("Webhook deleted.")
    return redirect(url_for("account.webhook_list"), 303)

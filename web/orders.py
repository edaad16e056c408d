"""The customer's orders in the browser: buy, list, read the code, cancel, reorder."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload
from wtforms.fields.choices import SelectChoice

from models import catalog, ledger, mail, orders
from models.errors import DomainError, NotFound, TermsNotAccepted
from models.notify import order_channel, user_channel

from . import dbsession
from .downloads import body_csp, download, download_type
from .forms import ActionForm, BuyForm
from .refusal import refuse
from .sanitize import clean_mail_html
from .terms import send_to_accept

bp = Blueprint("orders", __name__)


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("orders.index"))
    return redirect(url_for("auth.login"))


def _buy_form() -> BuyForm:
    session = dbsession.session()
    form = BuyForm()
    form.service.choices = [
        SelectChoice(s.name, f"{s.name} — {s.price} / {s.window_minutes} min")
        for s in catalog.active_services(session)
    ]
    form.domain.choices = [SelectChoice("", "any domain")] + [
        SelectChoice(d.name, d.name) for d in catalog.active_domains(session)
    ]
    return form


@bp.get("/orders")
@login_required
def index():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    return render_template(
        "orders/index.html",
        orders=orders.list_orders(session, current_user, limit=100),
        form=_buy_form(),
        action=ActionForm(),
        balance=ledger.balance(session, current_user.wallet),
    )


@bp.post("/orders")
@login_required
def buy():  # type: ignore[no-untyped-def]
    form = _buy_form()
    if not form.validate_on_submit():
        problems = [e for errors in form.errors.values() for e in errors]
        flash("Check the order form: " + "; ".join(problems), "error")
        return redirect(url_for("orders.index"))
    days = form.days.data if form.kind.data == orders.RENTAL else None
    try:
        order = orders.purchase(
            dbsession.session(),
            current_user,
            form.service.data or "",
            kind=form.kind.data or orders.ACTIVATION,
            domain=form.domain.data or None,
            days=days,
        )
    except TermsNotAccepted as exc:
        return send_to_accept(exc, url_for("orders.index"))
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for("orders.index")), 303
    dbsession.after_commit([order_channel(order.id), user_channel(order.user_id)])
    return redirect(url_for("orders.detail", order_id=order.id), 303)


def _own_order(order_id: int) -> orders.Order:
    try:
        order = orders.get_order(dbsession.session(), current_user, order_id)
    except NotFound:
        abort(404)
    return orders.finalize_if_due(dbsession.session(), order)


@bp.get("/orders/<int:order_id>")
@login_required
def detail(order_id: int):  # type: ignore[no-untyped-def]
    order = _own_order(order_id)
    before = request.args.get("before", type=int)
    page = _message_page(order.id, before)
    return render_template(
        "orders/detail.html",
        order=order,
        messages=page[:PAGE_SIZE],
        older=page[PAGE_SIZE - 1].id if len(page) > PAGE_SIZE else None,
        action=ActionForm(),
    )


PAGE_SIZE = 50


def _message_page(order_id: int, before: int | None) -> list[mail.Message]:
    """One keyset page (newest first) of an order's messages, without bodies; one extra row
    says whether an older page exists."""
    query = (
        select(mail.Message)
        .where(mail.Message.order_id == order_id)
        .options(lazyload(mail.Message.attachments))  # the list shows no attachments
        .order_by(mail.Message.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if before is not None:
        query = query.where(mail.Message.id < before)
    return list(dbsession.session().scalars(query))


@bp.post("/orders/<int:order_id>/cancel")
@login_required
def cancel(order_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        order = orders.cancel(dbsession.session(), current_user, order_id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for("orders.detail", order_id=order_id), 303)
    if order.refunded:
        flash(f"Canceled: {order.refunded} returned to your wallet.")
    else:
        flash("The code was already received, so the order stays paid; the address is released.")
    dbsession.after_commit([order_channel(order.id), user_channel(order.user_id)])
    return redirect(url_for("orders.detail", order_id=order_id), 303)


@bp.post("/orders/<int:order_id>/reorder")
@login_required
def reorder(order_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        order = orders.reorder(dbsession.session(), current_user, order_id)
    except NotFound:
        abort(404)
    except TermsNotAccepted as exc:
        return send_to_accept(exc, url_for("orders.detail", order_id=order_id))
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for("orders.detail", order_id=order_id), 303)
    return redirect(url_for("orders.detail", order_id=order.id), 303)


def _own_message(message_id: int) -> mail.Message:
    try:
        return mail.get_message(dbsession.session(), current_user, message_id)
    except NotFound:
        abort(404)


def _wants_images() -> bool:
    return request.args.get("images") == "1"


@bp.get("/messages/<int:message_id>")
@login_required
def message(message_id: int):  # type: ignore[no-untyped-def]
    found = _own_message(message_id)
    blocked = clean_mail_html(found.html).blocked_images if found.html else 0
    return render_template(
        "orders/message.html",
        message=found,
        show_images=_wants_images(),
        blocked_images=blocked,
    )


@bp.get("/messages/<int:message_id>/body")
@login_required
def message_body(message_id: int):  # type: ignore[no-untyped-def]
    """The sanitised HTML for the sandboxed iframe, under its own script-less CSP."""
    found = _own_message(message_id)
    images = _wants_images()
    body = clean_mail_html(found.html, remote_images=images).html
    page = (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="referrer" content="no-referrer"><base target="_blank"></head>'
        f"<body>{body}</body></html>"
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = body_csp(remote_images=images)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/messages/<int:message_id>/raw")
@login_required
def message_raw(message_id: int):  # type: ignore[no-untyped-def]
    found = _own_message(message_id)
    response = Response(mail.raw_bytes(dbsession.session(), found), mimetype="message/rfc822")
    return download(response, f"message-{found.id}.eml")


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):  # type: ignore[no-untyped-def]
    try:
        found = mail.get_attachment(dbsession.session(), current_user, attachment_id)
    except NotFound:
        abort(404)
    response = Response(found.content, mimetype=download_type(found.content_type))
    return download(response, found.filename or f"attachment-{found.id}")


@bp.get("/orders/<int:order_id>/status")
@login_required
def status(order_id: int):  # type: ignore[no-untyped-def]
    """A tiny JSON the order page polls for live updates."""
    order = _own_order(order_id)
    latest = dbsession.session().scalar(
        select(func.max(mail.Message.id)).where(mail.Message.order_id == order.id)
    )
    return {"status": order.status, "messages": latest or 0, "value": order.value}

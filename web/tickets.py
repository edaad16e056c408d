"""Support tickets for customers (and the shared conversation page staff also use).

The rules (ownership, the deposit report window, attachment limits, status flips) are in
:mod:`models.tickets`; here only forms, pages and the download. Attachments are served as
opaque downloads with ``nosniff``, never rendered from our origin.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models import tickets
from models.errors import DomainError, NotFound

from . import dbsession
from .auth import client_ip
from .downloads import download
from .forms import ActionForm
from .refusal import refuse

bp = Blueprint("tickets", __name__)
TOPIC_LABELS = {
    tickets.GENERAL: "General question",
    tickets.ORDER: "An order",
    tickets.DEPOSIT: "My deposit is not credited",
    tickets.WITHDRAWAL: "A withdrawal",
}


def policy() -> tickets.TicketPolicy:
    return tickets.TicketPolicy.from_settings(dbsession.settings())


def uploads() -> list[tickets.Upload]:
    return [
        tickets.Upload(f.filename or "attachment", f.read())
        for f in request.files.getlist("attachment")
        if f and f.filename
    ]


@bp.app_context_processor
def support_badge() -> dict[str, Any]:
    """The in-app notification: tickets with a staff reply the customer has not read."""

    def unread() -> int:
        if not current_user.is_authenticated:
            return 0
        return tickets.unread_count(dbsession.session(), current_user)

    return {"support_unread": unread}


@bp.get("/support")
@login_required
def index():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    mine = tickets.tickets_for(session, current_user)
    return render_template(
        "tickets/index.html",
        tickets=mine,
        unread={t.id for t in mine if tickets.is_unread_by_customer(t)},
        topics=TOPIC_LABELS,
        topic=request.args.get("topic", tickets.GENERAL),
        ref=request.args.get("ref", ""),
        form=ActionForm(formdata=None),
        policy=policy(),
    )


@bp.post("/support")
@login_required
def open_ticket():  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        ticket = tickets.open_ticket(
            dbsession.session(),
            current_user,
            request.form.get("subject", ""),
            request.form.get("body", ""),
            topic=request.form.get("topic", tickets.GENERAL),
            ref=request.form.get("ref") or None,
            uploads=uploads(),
            policy=policy(),
            ip=client_ip(),
        )
    except DomainError as exc:
        refuse(exc)
        back = {"topic": request.form.get("topic"), "ref": request.form.get("ref")}
        return redirect(url_for("tickets.index", **back), 303)
    flash("Ticket opened. We will answer here.", "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id), 303)


def conversation(ticket_id: int, template: str, **extra: Any):  # type: ignore[no-untyped-def]
    """The conversation page (customer or staff); viewing clears the viewer's unread mark."""
    session = dbsession.session()
    try:
        ticket = tickets.get_ticket(session, current_user, ticket_id)
    except NotFound:
        abort(404)
    tickets.mark_read(session, current_user, ticket)
    return render_template(
        template,
        ticket=ticket,
        messages=tickets.messages(session, ticket),
        form=ActionForm(formdata=None),
        topics=TOPIC_LABELS,
        **extra,
    )


@bp.get("/support/<int:ticket_id>")
@login_required
def show(ticket_id: int):  # type: ignore[no-untyped-def]
    return conversation(ticket_id, "tickets/show.html")


def post_reply(ticket_id: int, target: str):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        tickets.reply(
            dbsession.session(),
            current_user,
            ticket_id,
            request.form.get("body", ""),
            uploads=uploads(),
            policy=policy(),
            ip=client_ip(),
        )
    except NotFound:
        abort(404)
    except DomainError as exc:
        refuse(exc)
    return redirect(url_for(target, ticket_id=ticket_id), 303)


@bp.post("/support/<int:ticket_id>/reply")
@login_required
def reply(ticket_id: int):  # type: ignore[no-untyped-def]
    return post_reply(ticket_id, "tickets.show")


@bp.post("/support/<int:ticket_id>/resolve")
@login_required
def resolve(ticket_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        tickets.resolve_own(dbsession.session(), current_user, ticket_id)
    except NotFound:
        abort(404)
    flash("Ticket closed. Reply to reopen it.", "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id), 303)


@bp.get("/support/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):  # type: ignore[no-untyped-def]
    try:
        found = tickets.get_attachment(dbsession.session(), current_user, attachment_id)
    except NotFound:
        abort(404)
    return download(Response(found.content, mimetype="application/octet-stream"), found.filename)

"""Back office for running the business: support queue, terms versions, abuse review,
reseller status. Admins only (others get a 404, as in :mod:`web.admin`); every decision
is a named function in ``models`` that writes the audit log.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from models import abuse_detection, resellers, terms, tickets
from models.errors import DomainError, NotFound
from models.users import User

from . import dbsession
from .admin import admin_required
from .auth import client_ip
from .forms import ActionForm
from .refusal import refuse
from .terms import render_markdown
from .tickets import TOPIC_LABELS, conversation, post_reply

bp = Blueprint("admin_business", __name__)


def _valid_or_400() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _done(message: str, target: str, **values):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for(target, **values), 303)


# ---- support queue ----------------------------------------------------------------------


@bp.get("/tickets")
@admin_required
def ticket_queue():  # type: ignore[no-untyped-def]
    status = request.args.get("status", tickets.OPEN)
    topic = request.args.get("topic", "")
    email = request.args.get("email", "")
    return render_template(
        "admin_business/tickets.html",
        rows=tickets.queue(dbsession.session(), status=status, topic=topic, user_email=email),
        status=status,
        topic=topic,
        email=email,
        statuses=tickets.STATUSES,
        topics={**TOPIC_LABELS, tickets.WARNING: "Warning from staff"},
        canned=tickets.canned_answers(dbsession.session()),
        form=ActionForm(formdata=None),
    )


@bp.get("/tickets/<int:ticket_id>")
@admin_required
def ticket(ticket_id: int):  # type: ignore[no-untyped-def]
    session = dbsession.session()
    try:
        owner_ticket = tickets.get_ticket(session, current_user, ticket_id)
    except NotFound:
        abort(404)
    return conversation(
        ticket_id,
        "admin_business/ticket.html",
        owner=session.get(User, owner_ticket.user_id),
        canned=tickets.canned_answers(session),
        statuses=tickets.STATUSES,
    )


@bp.post("/tickets/<int:ticket_id>/reply")
@admin_required
def ticket_reply(ticket_id: int):  # type: ignore[no-untyped-def]
    return post_reply(ticket_id, "admin_business.ticket")


@bp.post("/tickets/<int:ticket_id>/status")
@admin_required
def ticket_status(ticket_id: int):  # type: ignore[no-untyped-def]
    _valid_or_400()
    try:
        tickets.set_status(
            dbsession.session(),
            current_user,
            ticket_id,
            request.form.get("status", ""),
            ip=client_ip(),
        )
    except NotFound:
        abort(404)
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for("admin_business.ticket", ticket_id=ticket_id), 303)
    return _done("Status saved.", "admin_business.ticket", ticket_id=ticket_id)


@bp.post("/canned-answers")
@admin_required
def canned_answer():  # type: ignore[no-untyped-def]
    _valid_or_400()
    try:
        tickets.save_canned_answer(
            dbsession.session(),
            current_user,
            request.form.get("title", ""),
            request.form.get("body", ""),
            ip=client_ip(),
        )
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for("admin_business.ticket_queue"), 303)
    return _done("Canned answer saved.", "admin_business.ticket_queue")


# ---- terms ------------------------------------------------------------------------------


@bp.route("/terms", methods=["GET", "POST"])
@admin_required
def terms_admin():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    form = ActionForm()
    preview = None
    if form.validate_on_submit():
        document = request.form.get("document", "")
        body = request.form.get("body", "")
        if request.form.get("preview"):
            preview = render_markdown(body)
        else:
            try:
                version = terms.publish(
                    session,
                    current_user,
                    document,
                    body,
                    request.form.get("summary", ""),
                    ip=client_ip(),
                )
            except DomainError as exc:
                refuse(exc)
                return redirect(url_for("admin_business.terms_admin"), 303)
            return _done(
                f"{version.title} version {version.version} published: every account must "
                "accept it before buying again.",
                "admin_business.terms_admin",
            )
    return render_template(
        "admin_business/terms.html",
        documents=terms.DOCUMENTS,
        current={v.document: v for v in terms.current_versions(session)},
        history={d: terms.versions(session, d) for d in terms.DOCUMENTS},
        preview=preview,
        draft=request.form if preview is not None else {},
        form=ActionForm(formdata=None),
    )


# ---- abuse review -----------------------------------------------------------------------


@bp.get("/abuse")
@admin_required
def abuse_queue():  # type: ignore[no-untyped-def]
    status = request.args.get("status", abuse_detection.OPEN)
    rule = request.args.get("rule", "")
    rows = abuse_detection.review_queue(dbsession.session(), status=status, rule=rule)
    return render_template(
        "admin_business/abuse.html",
        rows=[(f, u, json.dumps(f.evidence_data, indent=1, sort_keys=True)) for f, u in rows],
        status=status,
        rule=rule,
        rules=abuse_detection.RULES,
        actions=abuse_detection.ACTIONS,
        form=ActionForm(formdata=None),
    )


@bp.post("/abuse/scan")
@admin_required
def abuse_scan():  # type: ignore[no-untyped-def]
    _valid_or_400()
    rules = abuse_detection.DetectionRules.from_settings(dbsession.settings())
    found = abuse_detection.scan(dbsession.session(), rules)
    return _done(f"Scan done: {len(found)} new flag(s).", "admin_business.abuse_queue")


@bp.post("/abuse/<int:flag_id>/decide")
@admin_required
def abuse_decide(flag_id: int):  # type: ignore[no-untyped-def]
    _valid_or_400()
    try:
        abuse_detection.decide(
            dbsession.session(),
            current_user,
            flag_id,
            request.form.get("action", ""),
            request.form.get("note", ""),
            max_waiting_orders=request.form.get("max_waiting_orders", 0, type=int) or 0,
            limit_days=request.form.get("limit_days", 30, type=int) or 30,
            ip=client_ip(),
        )
    except NotFound:
        abort(404)
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for("admin_business.abuse_queue"), 303)
    return _done("Decision recorded.", "admin_business.abuse_queue")


# ---- resellers --------------------------------------------------------------------------


@bp.post("/users/<int:user_id>/reseller")
@admin_required
def reseller_status(user_id: int):  # type: ignore[no-untyped-def]
    _valid_or_400()
    enabled = request.form.get("enabled") == "1"
    try:
        resellers.set_reseller(dbsession.session(), current_user, user_id, enabled, ip=client_ip())
    except NotFound:
        abort(404)
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for("admin.user", user_id=user_id), 303)
    message = "Reseller status granted." if enabled else "Reseller status withdrawn."
    return _done(message, "admin.user", user_id=user_id)

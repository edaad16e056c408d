"""The back office (admins only): figures, users, catalogue, money to decide, disputes, audit.

Every action is a named operation in ``models`` (payments, disputes, admin_ops) that
writes the audit log; this module only maps forms to those calls. Non-admins get a
404, so the area does not reveal that it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from models import admin_ops, catalog, disputes, ledger, orders, payments
from models.errors import DomainError, NotFound
from models.users import User

from . import dbsession
from .auth import client_ip
from .forms import ActionForm, AdjustForm, DomainForm, ReasonForm, RefundForm, ServiceForm
from .refusal import refuse

bp = Blueprint("admin", __name__)


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(404)  # don't reveal that the area exists
        return view(*args, **kwargs)

    return wrapped


def _done(target: str, message: str, **values: Any):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for(target, **values), 303)


def _attempt(target: str, action: Callable[[], str], **values: Any):  # type: ignore[no-untyped-def]
    """Run ``action`` (which returns the success message); refusals come back as flashes."""
    try:
        message = action()
    except NotFound:
        abort(404)
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for(target, **values), 303)
    return _done(target, message, **values)


def _form_or_400(form: Any) -> None:
    if not form.validate_on_submit():
        problems = "; ".join(e for errors in form.errors.values() for e in errors)
        flash("Check the form: " + problems, "error")
        abort(400)


# ---- dashboard --------------------------------------------------------------------------


@bp.get("/")
@admin_required
def dashboard():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    return render_template(
        "admin/dashboard.html",
        figures=admin_ops.dashboard_figures(session),
        pending={
            "deposits": len(payments.pending_deposits(session)),
            "withdrawals": len(payments.pending_withdrawals(session)),
            "disputes": len(disputes.open_disputes(session)),
        },
        events=admin_ops.audit_log(session, limit=20),
    )


@bp.get("/figures.json")
@admin_required
def figures():  # type: ignore[no-untyped-def]
    """What the dashboard polls for its live figures."""
    return asdict(admin_ops.dashboard_figures(dbsession.session()))


# ---- users ------------------------------------------------------------------------------


@bp.get("/users")
@admin_required
def users():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    query = request.args.get("q", "")[:254]
    after = request.args.get("after", type=int)
    found = admin_ops.search_users(session, query, after=after, limit=50)
    balances = dict(
        session.execute(
            select(ledger.LedgerAccount.user_id, ledger.LedgerAccount.balance).where(
                ledger.LedgerAccount.user_id.in_([u.id for u in found])
            )
        ).all()
    )
    return render_template(
        "admin/users.html",
        users=found,
        balances=balances,
        query=query,
        next_after=found[-1].id if len(found) == 50 else None,
    )


@bp.get("/users/<int:user_id>")
@admin_required
def user(user_id: int):  # type: ignore[no-untyped-def]
    session = dbsession.session()
    found = session.get(User, user_id)
    if found is None:
        abort(404)
    return render_template(
        "admin/user.html",
        user=found,
        balance=ledger.balance(session, found.wallet),
        history=ledger.history(session, found.wallet, limit=30),
        orders=orders.list_orders(session, found, limit=30),
        reason_form=ReasonForm(formdata=None),
        adjust_form=AdjustForm(formdata=None),
    )


@bp.post("/users/<int:user_id>/suspend")
@admin_required
def suspend(user_id: int):  # type: ignore[no-untyped-def]
    form = ReasonForm()
    _form_or_400(form)
    return _attempt(
        "admin.user",
        lambda: (
            admin_ops.set_suspended(
                dbsession.session(),
                current_user,
                user_id,
                True,
                form.reason.data or "",
                ip=client_ip(),
            )
            and "Account suspended."
        ),
        user_id=user_id,
    )


@bp.post("/users/<int:user_id>/unsuspend")
@admin_required
def unsuspend(user_id: int):  # type: ignore[no-untyped-def]
    form = ReasonForm()
    _form_or_400(form)
    return _attempt(
        "admin.user",
        lambda: (
            admin_ops.set_suspended(
                dbsession.session(),
                current_user,
                user_id,
                False,
                form.reason.data or "",
                ip=client_ip(),
            )
            and "Account active again."
        ),
        user_id=user_id,
    )


@bp.post("/users/<int:user_id>/adjust")
@admin_required
def adjust(user_id: int):  # type: ignore[no-untyped-def]
    form = AdjustForm()
    _form_or_400(form)
    amount = form.amount.data or 0
    return _attempt(
        "admin.user",
        lambda: (
            admin_ops.adjust_balance(
                dbsession.session(),
                current_user,
                user_id,
                amount,
                form.reason.data or "",
                ip=client_ip(),
            )
            and f"Balance adjusted by {amount:+d}."
        ),
        user_id=user_id,
    )


@bp.post("/users/<int:user_id>/forfeit")
@admin_required
def forfeit(user_id: int):  # type: ignore[no-untyped-def]
    form = ReasonForm()
    _form_or_400(form)

    def run() -> str:
        amount = admin_ops.forfeit(
            dbsession.session(), current_user, user_id, form.reason.data or "", ip=client_ip()
        )
        return f"{amount} forfeited."

    return _attempt("admin.user", run, user_id=user_id)


# ---- catalogue --------------------------------------------------------------------------


@bp.route("/services", methods=["GET", "POST"])
@admin_required
def services():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    form = ServiceForm()
    if form.validate_on_submit():
        name = (form.name.data or "").strip().lower()
        price, window = form.price.data or 0, form.window_minutes.data or 20
        day = form.rental_day_price.data if form.rental_day_price.data is not None else price

        def run() -> str:
            try:
                catalog.get_service(session, name)
            except NotFound:
                catalog.add_service(
                    session, name, price=price, window_minutes=window, rental_day_price=day
                )
            admin_ops.update_service(
                session,
                current_user,
                name,
                price=price,
                window_minutes=window,
                rental_day_price=day,
                active=bool(form.active.data),
                ip=client_ip(),
            )
            return f"Service {name} saved."

        return _attempt("admin.services", run)
    from models.catalog import Service

    return render_template(
        "admin/services.html",
        services=list(session.scalars(select(Service).order_by(Service.name))),
        form=form,
    ), (400 if form.errors else 200)


@bp.route("/domains", methods=["GET", "POST"])
@admin_required
def domains():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    form = DomainForm()
    if form.validate_on_submit():

        def run() -> str:
            domain = catalog.add_domain(session, form.name.data or "")
            admin_ops.set_domain_active(session, current_user, domain.id, True, ip=client_ip())
            return f"Domain {domain.name} is served."

        return _attempt("admin.domains", run)
    from models.catalog import Address, Domain

    counts = dict(
        session.execute(select(Address.domain_id, func.count()).group_by(Address.domain_id)).all()
    )
    return render_template(
        "admin/domains.html",
        domains=list(session.scalars(select(Domain).order_by(Domain.name))),
        counts=counts,
        form=form,
        action=ActionForm(formdata=None),
    ), (400 if form.errors else 200)


@bp.post("/domains/<int:domain_id>/<any(enable, disable):change>")
@admin_required
def domain_toggle(domain_id: int, change: str):  # type: ignore[no-untyped-def]
    _form_or_400(ActionForm())
    return _attempt(
        "admin.domains",
        lambda: (
            admin_ops.set_domain_active(
                dbsession.session(), current_user, domain_id, change == "enable", ip=client_ip()
            ).name
            + (" enabled." if change == "enable" else " disabled.")
        ),
    )


# ---- money to decide --------------------------------------------------------------------


@bp.get("/deposits")
@admin_required
def deposits():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    pending = payments.pending_deposits(session)
    return render_template(
        "admin/deposits.html",
        deposits=pending,
        emails=_emails(session, [d.user_id for d in pending]),
        action=ActionForm(formdata=None),
        reason_form=ReasonForm(formdata=None),
    )


@bp.post("/deposits/<int:deposit_id>/approve")
@admin_required
def approve_deposit(deposit_id: int):  # type: ignore[no-untyped-def]
    _form_or_400(ActionForm())
    return _attempt(
        "admin.deposits",
        lambda: (
            payments.approve_deposit(dbsession.session(), deposit_id, current_user, ip=client_ip())
            and "Deposit credited."
        ),
    )


@bp.post("/deposits/<int:deposit_id>/reject")
@admin_required
def reject_deposit(deposit_id: int):  # type: ignore[no-untyped-def]
    form = ReasonForm()
    _form_or_400(form)
    return _attempt(
        "admin.deposits",
        lambda: (
            payments.reject_deposit(
                dbsession.session(),
                deposit_id,
                current_user,
                form.reason.data or "",
                ip=client_ip(),
            )
            and "Deposit rejected."
        ),
    )


@bp.get("/withdrawals")
@admin_required
def withdrawals():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    pending = payments.pending_withdrawals(session)
    return render_template(
        "admin/withdrawals.html",
        withdrawals=pending,
        emails=_emails(session, [w.user_id for w in pending]),
        action=ActionForm(formdata=None),
        reason_form=ReasonForm(formdata=None),
    )


@bp.post("/withdrawals/<int:withdrawal_id>/pay")
@admin_required
def pay_withdrawal(withdrawal_id: int):  # type: ignore[no-untyped-def]
    _form_or_400(ActionForm())
    return _attempt(
        "admin.withdrawals",
        lambda: (
            payments.pay_withdrawal(
                dbsession.session(), withdrawal_id, current_user, ip=client_ip()
            )
            and "Withdrawal marked paid."
        ),
    )


@bp.post("/withdrawals/<int:withdrawal_id>/reject")
@admin_required
def reject_withdrawal(withdrawal_id: int):  # type: ignore[no-untyped-def]
    form = ReasonForm()
    _form_or_400(form)
    return _attempt(
        "admin.withdrawals",
        lambda: (
            payments.reject_withdrawal(
                dbsession.session(),
                withdrawal_id,
                current_user,
                form.reason.data or "",
                ip=client_ip(),
            )
            and "Withdrawal rejected; the amount is back in the wallet."
        ),
    )


# ---- disputes ---------------------------------------------------------------------------


@bp.get("/disputes")
@admin_required
def dispute_list():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    found = disputes.open_disputes(session)
    return render_template(
        "admin/disputes.html",
        disputes=found,
        emails=_emails(session, [d.user_id for d in found]),
        refund_form=RefundForm(formdata=None),
        reason_form=ReasonForm(formdata=None),
    )


@bp.post("/disputes/<int:dispute_id>/refund")
@admin_required
def refund_dispute(dispute_id: int):  # type: ignore[no-untyped-def]
    form = RefundForm()
    _form_or_400(form)

    def run() -> str:
        done = disputes.refund(
            dbsession.session(),
            dispute_id,
            current_user,
            amount=form.amount.data,
            note=form.reason.data or "",
            ip=client_ip(),
        )
        return f"Refunded {done.refunded} to the customer's wallet."

    return _attempt("admin.dispute_list", run)


@bp.post("/disputes/<int:dispute_id>/reject")
@admin_required
def reject_dispute(dispute_id: int):  # type: ignore[no-untyped-def]
    form = ReasonForm()
    _form_or_400(form)
    return _attempt(
        "admin.dispute_list",
        lambda: (
            disputes.reject(
                dbsession.session(),
                dispute_id,
                current_user,
                form.reason.data or "",
                ip=client_ip(),
            )
            and "Dispute rejected."
        ),
    )


# ---- audit ------------------------------------------------------------------------------


@bp.get("/audit")
@admin_required
def audit_log():  # type: ignore[no-untyped-def]
    action = request.args.get("action", "")[:64]
    before = request.args.get("before", type=int)
    events = admin_ops.audit_log(dbsession.session(), action=action, before=before, limit=100)
    return render_template(
        "admin/audit.html",
        events=events,
        action=action,
        next_before=events[-1].id if len(events) == 100 else None,
    )


def _emails(session: Any, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())

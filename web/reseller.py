"""The reseller's pages: customers (sub-accounts), funding, prices, orders and spending.

Only thin form handling; each action is a named function in :mod:`models.resellers`.
An account that is not a reseller gets a 404 here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from models import ledger, resellers
from models.errors import DomainError, NotFound

from . import dbsession
from .auth import client_ip
from .forms import ActionForm
from .refusal import refuse

bp = Blueprint("reseller", __name__)


class SubAccountForm(FlaskForm):
    email = StringField("Customer e-mail", validators=[DataRequired(), Email(), Length(max=254)])
    label = StringField("Label", validators=[Optional(), Length(max=100)])
    password = PasswordField(
        "Password (optional: lets the customer log in)",
        validators=[Optional(), Length(min=8, max=256)],
    )


class AmountForm(FlaskForm):
    amount = IntegerField("Amount", validators=[DataRequired(), NumberRange(1)])


class PriceForm(FlaskForm):
    service = StringField(validators=[DataRequired(), Length(max=64)])
    markup = IntegerField("Markup", validators=[InputRequired(), NumberRange(0)])
    rental_day_markup = IntegerField("Markup / rental day", validators=[Optional(), NumberRange(0)])


def reseller_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not resellers.is_reseller(dbsession.session(), current_user):
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def _attempt(action: Callable[[], str], target: str, **values: Any):  # type: ignore[no-untyped-def]
    try:
        message = action()
    except NotFound:
        abort(404)
    except DomainError as exc:
        refuse(exc)
    else:
        flash(message, "success")
    return redirect(url_for(target, **values), 303)


@bp.get("/reseller")
@reseller_required
def index():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    return render_template(
        "reseller/index.html",
        balance=ledger.balance(session, current_user.wallet),
        spending=resellers.spending(session, current_user),
        prices=resellers.price_list(session, current_user),
        orders=resellers.sub_account_orders(session, current_user, limit=20),
        form=SubAccountForm(formdata=None),
        action=ActionForm(formdata=None),
    )


@bp.post("/reseller/sub-accounts")
@reseller_required
def create():  # type: ignore[no-untyped-def]
    form = SubAccountForm()
    if not form.validate_on_submit():
        problems = "; ".join(e for errors in form.errors.values() for e in errors)
        flash("Check the form: " + problems, "error")
        return redirect(url_for("reseller.index"), 303)

    def act() -> str:
        user = resellers.create_sub_account(
            dbsession.session(),
            current_user,
            form.email.data or "",
            password=form.password.data or None,
            label=form.label.data or "",
            ip=client_ip(),
        )
        return f"Sub-account {user.email} created."

    return _attempt(act, "reseller.index")


@bp.get("/reseller/sub-accounts/<int:sub_id>")
@reseller_required
def sub_account(sub_id: int):  # type: ignore[no-untyped-def]
    session = dbsession.session()
    try:
        sub = resellers.get_sub_account(session, current_user, sub_id)
    except NotFound:
        abort(404)
    return render_template(
        "reseller/sub_account.html",
        sub=sub,
        balance=ledger.balance(session, sub.wallet),
        orders=resellers.sub_account_orders(session, current_user, sub_id=sub.id, limit=100),
        amount=AmountForm(formdata=None),
        action=ActionForm(formdata=None),
        new_key=None,
    )


def _amount_or_400() -> int:
    form = AmountForm()
    if not form.validate_on_submit():
        abort(400)
    return int(form.amount.data or 0)


@bp.post("/reseller/sub-accounts/<int:sub_id>/fund")
@reseller_required
def fund(sub_id: int):  # type: ignore[no-untyped-def]
    return _move_money(sub_id, resellers.fund_sub_account, "Funded")


@bp.post("/reseller/sub-accounts/<int:sub_id>/reclaim")
@reseller_required
def reclaim(sub_id: int):  # type: ignore[no-untyped-def]
    return _move_money(sub_id, resellers.reclaim_from_sub_account, "Took back")


def _move_money(sub_id: int, move: Callable[..., int], done: str):  # type: ignore[no-untyped-def]
    """Fund or reclaim from the posted amount; the customer's new balance in the flash."""
    amount = _amount_or_400()

    def act() -> str:
        left = move(dbsession.session(), current_user, sub_id, amount, ip=client_ip())
        return f"{done} {amount}; the customer's balance is {left}."

    return _attempt(act, "reseller.sub_account", sub_id=sub_id)


@bp.post("/reseller/sub-accounts/<int:sub_id>/suspend/<int:flag>")
@reseller_required
def suspend(sub_id: int, flag: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)

    def act() -> str:
        resellers.set_sub_account_suspended(
            dbsession.session(), current_user, sub_id, bool(flag), ip=client_ip()
        )
        return "Suspended." if flag else "Suspension lifted."

    return _attempt(act, "reseller.sub_account", sub_id=sub_id)


@bp.post("/reseller/sub-accounts/<int:sub_id>/api-key")
@reseller_required
def api_key(sub_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    session = dbsession.session()
    try:
        _, secret = resellers.create_sub_account_key(session, current_user, sub_id, "reseller")
        sub = resellers.get_sub_account(session, current_user, sub_id)
    except NotFound:
        abort(404)
    # Rendered, not redirected: the key is shown once and never stored in clear.
    return render_template(
        "reseller/sub_account.html",
        sub=sub,
        balance=ledger.balance(session, sub.wallet),
        orders=resellers.sub_account_orders(session, current_user, sub_id=sub.id, limit=100),
        amount=AmountForm(formdata=None),
        action=ActionForm(formdata=None),
        new_key=secret,
    )


@bp.post("/reseller/prices")
@reseller_required
def prices():  # type: ignore[no-untyped-def]
    form = PriceForm()
    if not form.validate_on_submit():
        flash("A markup is a whole, non-negative amount.", "error")
        return redirect(url_for("reseller.index"), 303)

    def act() -> str:
        resellers.set_price(
            dbsession.session(),
            current_user,
            form.service.data or "",
            markup=int(form.markup.data or 0),
            rental_day_markup=int(form.rental_day_markup.data or 0),
            ip=client_ip(),
        )
        return f"Price of {form.service.data} saved."

    return _attempt(act, "reseller.index")

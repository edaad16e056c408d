"""The wallet: balance, history, deposits in, withdrawals out, and the provider webhook."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models import ledger, payments
from models.errors import Conflict, DomainError, NotFound
from models.notify import user_channel

from . import dbsession
from .auth import client_ip
from .extensions import csrf
from .forms import DepositForm, WithdrawalForm

bp = Blueprint("wallet", __name__)


def _page(deposit: DepositForm | None = None, withdrawal: WithdrawalForm | None = None):  # type: ignore[no-untyped-def]
    session = dbsession.session()
    settings = dbsession.settings()
    return render_template(
        "wallet/index.html",
        balance=ledger.balance(session, current_user.wallet),
        history=ledger.history(session, current_user.wallet),
        deposits=payments.deposits_for(session, current_user),
        withdrawals=payments.withdrawals_for(session, current_user),
        reference=payments.deposit_reference(current_user.id),
        deposit_form=deposit or DepositForm(formdata=None),
        withdrawal_form=withdrawal or WithdrawalForm(formdata=None),
        settings=settings,
        currency=settings.currency,
    )


@bp.get("/wallet")
@login_required
def index():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("/wallet/deposits")
@login_required
def deposit():  # type: ignore[no-untyped-def]
    form = DepositForm()
    if not form.validate_on_submit():
        return _page(deposit=form), 400
    try:
        made = payments.request_deposit(
            dbsession.session(),
            current_user,
            form.amount.data or 0,
            form.reference.data or "",
            minimum=dbsession.settings().min_deposit,
            ip=client_ip(),
        )
    except DomainError as exc:
        form.amount.errors = [*form.amount.errors, exc.message]
        return _page(deposit=form), 400
    if made.status == payments.REJECTED:
        flash(f"Deposit #{made.id} rejected: {made.reason}.", "error")
    else:
        flash(f"Deposit #{made.id} recorded; it is credited once an admin sees the transfer.")
    return redirect(url_for("wallet.index"), 303)


@bp.post("/wallet/withdrawals")
@login_required
def withdraw():  # type: ignore[no-untyped-def]
    """Two steps: the first post shows the fee and the payout, the second confirms."""
    settings = dbsession.settings()
    form = WithdrawalForm()
    if not form.validate_on_submit():
        return _page(withdrawal=form), 400
    amount = form.amount.data or 0
    fee = payments.withdrawal_fee(amount, settings.withdrawal_fee_percent)
    if form.confirm.data != "yes":
        if amount < settings.min_withdrawal:
            form.amount.errors = [f"The minimum withdrawal is {settings.min_withdrawal}."]
            return _page(withdrawal=form), 400
        return render_template(
            "wallet/confirm_withdrawal.html",
            form=form,
            amount=amount,
            fee=fee,
            payout=amount - fee,
            settings=settings,
        )
    try:
        made = payments.request_withdrawal(
            dbsession.session(),
            current_user,
            amount,
            form.destination.data or "",
            minimum=settings.min_withdrawal,
            fee_percent=settings.withdrawal_fee_percent,
            ip=client_ip(),
        )
    except DomainError as exc:
        form.amount.errors = [*form.amount.errors, exc.message]
        return _page(withdrawal=form), 400
    dbsession.after_commit([user_channel(current_user.id)])
    flash(
        f"Withdrawal #{made.id}: {made.amount} held; {made.payout} will be paid "
        f"after the {made.fee} fee once an admin processes it."
    )
    return redirect(url_for("wallet.index"), 303)


@bp.post("/payments/webhook")
@csrf.exempt  # a server-to-server call, authenticated by its HMAC signature
def provider_webhook():  # type: ignore[no-untyped-def]
    """The payment provider confirms a payment: signed, idempotent by its transaction id.

    Body: ``{"txn_id", "amount", "currency", "reference"}`` with header
    ``X-Payment-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.
    """
    settings = dbsession.settings()
    body = request.get_data(cache=False)
    if not payments.signature_valid(
        settings.payment_webhook_secret, body, request.headers.get("X-Payment-Signature")
    ):
        return {"error": {"code": "bad_signature", "message": "signature missing or wrong"}}, 401
    try:
        event = json.loads(body)
        txn_id, amount = str(event["txn_id"]), event["amount"]
        reference, currency = str(event["reference"]), str(event.get("currency", ""))
    except (ValueError, KeyError, TypeError):
        return {"error": {"code": "invalid_input", "message": "malformed payment event"}}, 400
    if currency.upper() != settings.currency.upper():
        return {"error": {"code": "invalid_input", "message": "wrong currency"}}, 400
    try:
        deposit, created = payments.provider_deposit(
            dbsession.session(),
            txn_id=txn_id,
            amount=amount,
            reference=reference,
            minimum=settings.min_deposit,
        )
    except NotFound as exc:
        return {"error": {"code": exc.code, "message": exc.message}}, 404
    except Conflict as exc:
        return {"error": {"code": exc.code, "message": exc.message}}, 409
    except DomainError as exc:
        return {"error": {"code": exc.code, "message": exc.message}}, 400
    dbsession.after_commit([user_channel(deposit.user_id)])
    return {"deposit": deposit.id, "status": deposit.status, "duplicate": not created}, (
        201 if created else 200
    )

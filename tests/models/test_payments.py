"""Deposits and withdrawals: credited once, held until decided, always balanced."""

from __future__ import annotations

import pytest

from models import ledger, payments
from models.errors import AccountSuspended, Conflict, InsufficientFunds, InvalidInput, NotFound
from tests.factories import make_user


def wallet(session, user) -> int:  # type: ignore[no-untyped-def]
    return ledger.balance(session, user.wallet)


def test_manual_deposit_waits_for_approval_then_credits_once(session) -> None:  # type: ignore[no-untyped-def]
    user, admin = make_user(session, credit=0), make_user(session, credit=0, is_admin=True)
    deposit = payments.request_deposit(session, user, 5000, "bank ref 42", minimum=100)
    assert deposit.status == payments.PENDING and wallet(session, user) == 0
    payments.approve_deposit(session, deposit.id, admin)
    assert wallet(session, user) == 5000
    with pytest.raises(Conflict):
        payments.approve_deposit(session, deposit.id, admin)
    with pytest.raises(Conflict):
        payments.reject_deposit(session, deposit.id, admin, "too late")
    assert wallet(session, user) == 5000
    assert ledger.check_invariants(session) == []


def test_rejected_manual_deposit_credits_nothing(session) -> None:  # type: ignore[no-untyped-def]
    user, admin = make_user(session, credit=0), make_user(session, credit=0, is_admin=True)
    deposit = payments.request_deposit(session, user, 5000, "ref", minimum=100)
    with pytest.raises(InvalidInput):
        payments.reject_deposit(session, deposit.id, admin, "  ")
    payments.reject_deposit(session, deposit.id, admin, "no money arrived")
    with pytest.raises(Conflict):
        payments.approve_deposit(session, deposit.id, admin)
    assert wallet(session, user) == 0


def test_deposit_below_minimum_is_shown_rejected(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, credit=0)
    deposit = payments.request_deposit(session, user, 99, "ref", minimum=100)
    assert deposit.status == payments.REJECTED and "minimum" in deposit.reason
    assert payments.pending_deposits(session) == []
    assert payments.deposits_for(session, user)[0].id == deposit.id


@pytest.mark.parametrize("amount", [0, -5, True, "100", 1.5])
def test_deposit_amount_must_be_positive_integer(session, amount) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput):
        payments.request_deposit(session, make_user(session), amount, "ref", minimum=1)


def test_provider_webhook_is_idempotent_by_transaction_id(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, credit=0)
    ref = payments.deposit_reference(user.id)
    first, created = payments.provider_deposit(
        session, txn_id="tx-1", amount=700, reference=ref, minimum=100
    )
    again, created_again = payments.provider_deposit(
        session, txn_id="tx-1", amount=700, reference=ref, minimum=100
    )
    assert created and not created_again and first.id == again.id
    assert wallet(session, user) == 700
    with pytest.raises(Conflict):
        payments.provider_deposit(session, txn_id="tx-1", amount=900, reference=ref, minimum=100)
    assert wallet(session, user) == 700


def test_provider_payment_below_minimum_is_rejected_not_credited(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, credit=0)
    deposit, _ = payments.provider_deposit(
        session,
        txn_id="small",
        amount=50,
        reference=payments.deposit_reference(user.id),
        minimum=100,
    )
    assert deposit.status == payments.REJECTED and wallet(session, user) == 0


def test_provider_payment_for_unknown_reference(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        payments.provider_deposit(session, txn_id="x", amount=500, reference="OIB999999", minimum=1)
    with pytest.raises(NotFound):
        payments.provider_deposit(session, txn_id="x", amount=500, reference="nonsense", minimum=1)


def test_signature() -> None:
    body = b'{"txn_id": "1"}'
    good = payments.sign("s3cret", body)
    assert payments.signature_valid("s3cret", body, good)
    assert not payments.signature_valid("s3cret", body + b" ", good)
    assert not payments.signature_valid("other", body, good)
    assert not payments.signature_valid("", body, payments.sign("", body))  # no secret: closed
    assert not payments.signature_valid("s3cret", body, None)


def test_withdrawal_holds_then_pays_with_fee(session) -> None:  # type: ignore[no-untyped-def]
    user, admin = make_user(session, credit=3000), make_user(session, credit=0, is_admin=True)
    w = payments.request_withdrawal(session, user, 1500, "IBAN DE00", minimum=1000, fee_percent=33)
    assert (w.fee, w.payout) == (495, 1005)
    assert wallet(session, user) == 1500
    assert ledger.balance(session, ledger.WITHDRAWALS) == 1500
    fees_before = ledger.balance(session, ledger.FEES)
    payments.pay_withdrawal(session, w.id, admin)
    assert ledger.balance(session, ledger.WITHDRAWALS) == 0
    assert ledger.balance(session, ledger.FEES) == fees_before + 495
    with pytest.raises(Conflict):
        payments.reject_withdrawal(session, w.id, admin, "changed my mind")
    assert wallet(session, user) == 1500
    assert ledger.check_invariants(session) == []


def test_rejected_withdrawal_returns_to_the_wallet(session) -> None:  # type: ignore[no-untyped-def]
    user, admin = make_user(session, credit=2000), make_user(session, credit=0, is_admin=True)
    w = payments.request_withdrawal(session, user, 2000, "acct", minimum=1000, fee_percent=33)
    assert wallet(session, user) == 0
    payments.reject_withdrawal(session, w.id, admin, "destination invalid")
    assert wallet(session, user) == 2000
    with pytest.raises(Conflict):
        payments.pay_withdrawal(session, w.id, admin)
    assert ledger.check_invariants(session) == []


def test_withdrawal_rules(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, credit=1500)
    with pytest.raises(InvalidInput):
        payments.request_withdrawal(session, user, 999, "acct", minimum=1000, fee_percent=33)
    with pytest.raises(InsufficientFunds):
        payments.request_withdrawal(session, user, 1600, "acct", minimum=1000, fee_percent=33)
    with pytest.raises(InvalidInput):
        payments.request_withdrawal(session, user, 1000, " ", minimum=1000, fee_percent=33)
    user.is_suspended = True
    with pytest.raises(AccountSuspended):
        payments.request_withdrawal(session, user, 1000, "acct", minimum=1000, fee_percent=33)


def test_fee_rounds_up() -> None:
    assert payments.withdrawal_fee(1000, 33) == 330
    assert payments.withdrawal_fee(1001, 33) == 331
    assert payments.withdrawal_fee(1000, 0) == 0

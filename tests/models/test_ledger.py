"""The double-entry ledger: balanced transactions, no overdraft, derivable balances."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from models import ledger
from models.errors import InsufficientFunds, UnbalancedTransaction
from tests.factories import make_user


def test_deposit_moves_money_into_the_wallet(session):
    user = make_user(session, credit=500)
    assert ledger.balance(session, user.wallet) == 500
    assert ledger.balance(session, ledger.DEPOSITS) == -500
    assert ledger.derived_balance(session, user.wallet) == 500


@pytest.mark.parametrize(
    "entries",
    [[], [("escrow", 10)], [("escrow", 10), ("revenue", -9)], [("escrow", 0)]],
    ids=["empty", "one-sided", "off-by-one", "all-zero"],
)
def test_unbalanced_transactions_are_refused(session, entries):
    with pytest.raises(UnbalancedTransaction):
        ledger.post_transaction(session, "test", entries)


def test_a_wallet_cannot_go_below_zero(session):
    user = make_user(session, credit=100)
    with pytest.raises(InsufficientFunds):
        ledger.post_transaction(session, "test", [(user.wallet, -101), (ledger.REVENUE, 101)])


def test_spending_exactly_the_balance_is_allowed(session):
    user = make_user(session, credit=100)
    ledger.post_transaction(session, "test", [(user.wallet, -100), (ledger.REVENUE, 100)])
    assert ledger.balance(session, user.wallet) == 0


def test_the_database_refuses_a_negative_wallet_even_without_our_code(session):
    user = make_user(session, credit=100)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            update(ledger.LedgerAccount)
            .where(ledger.LedgerAccount.code == user.wallet)
            .values(balance=-1)
        )


def test_a_business_key_moves_money_at_most_once(session):
    user = make_user(session, credit=100)
    ledger.post_transaction(session, "t", [(user.wallet, -10), (ledger.REVENUE, 10)], key="k:1")
    with pytest.raises(IntegrityError), session.begin_nested():
        ledger.post_transaction(session, "t", [(user.wallet, -10), (ledger.REVENUE, 10)], key="k:1")
    assert ledger.balance(session, user.wallet) == 90


def test_invariants_hold_and_history_lists_movements(session):
    user = make_user(session, credit=300)
    ledger.post_transaction(session, "spend", [(user.wallet, -120), (ledger.REVENUE, 120)])
    assert ledger.check_invariants(session) == []
    kinds = [(txn.kind, amount) for txn, amount in ledger.history(session, user.wallet)]
    assert kinds == [("spend", -120), ("deposit", 300)]


def test_check_invariants_reports_a_tampered_balance(session):
    user = make_user(session, credit=300)
    session.execute(
        update(ledger.LedgerAccount)
        .where(ledger.LedgerAccount.code == user.wallet)
        .values(balance=299)
    )
    problems = ledger.check_invariants(session)
    assert any(user.wallet in p for p in problems)


def test_several_postings_move_each_account_once_and_stay_balanced(session):
    user = make_user(session, credit=1000)
    postings = [
        ledger.Posting([(user.wallet, -100), (ledger.REVENUE, 100)], key="batch:1"),
        ledger.Posting([(user.wallet, -250), (ledger.REVENUE, 250)], key="batch:2"),
    ]
    ids = ledger.post_transactions(session, "spend", postings)
    assert len(set(ids)) == 2
    assert ledger.balance(session, user.wallet) == 650
    assert ledger.balance(session, ledger.REVENUE) == 350
    assert ledger.check_invariants(session) == []


def test_a_batch_is_checked_per_posting(session):
    user = make_user(session, credit=100)
    with pytest.raises(UnbalancedTransaction):
        ledger.post_transactions(
            session,
            "spend",
            [
                ledger.Posting([(user.wallet, -10), (ledger.REVENUE, 10)]),
                ledger.Posting([(user.wallet, -10), (ledger.REVENUE, 9)]),
            ],
        )
    with pytest.raises(InsufficientFunds):
        ledger.post_transactions(
            session,
            "spend",
            [ledger.Posting([(user.wallet, -60), (ledger.REVENUE, 60)]) for _ in range(2)],
        )

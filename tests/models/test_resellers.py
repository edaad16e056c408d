"""Resellers: sub-accounts, funding, markups, and the ledger split of their customers' orders."""

from __future__ import annotations

import pytest

from models import ledger, orders, resellers
from models.errors import AccountSuspended, InsufficientFunds, InvalidInput, NotFound
from models.invariants import check_order_settlements
from models.mail import InboundMessage, deliver
from tests.factories import make_user


@pytest.fixture
def admin(session):  # type: ignore[no-untyped-def]
    return make_user(session, credit=0, is_admin=True)


@pytest.fixture
def reseller(session, admin):  # type: ignore[no-untyped-def]
    user = make_user(session, credit=10_000)
    resellers.set_reseller(session, admin, user.id, True)
    return user


def _sub(session, reseller, credit: int = 1000):  # type: ignore[no-untyped-def]
    sub = resellers.create_sub_account(session, reseller, f"sub{reseller.id}-{credit}@example.com")
    if credit:
        resellers.fund_sub_account(session, reseller, sub.id, credit)
    return sub


def _books_ok(session) -> None:  # type: ignore[no-untyped-def]
    assert ledger.check_invariants(session) == []
    assert check_order_settlements(session) == []


def test_only_resellers_create_sub_accounts(session, catalog):
    plain = make_user(session)
    with pytest.raises(resellers.NotAReseller):
        resellers.create_sub_account(session, plain, "x@example.com")


def test_funding_moves_money_from_reseller_to_sub_account(session, catalog, reseller):
    sub = _sub(session, reseller, credit=0)
    assert resellers.fund_sub_account(session, reseller, sub.id, 700) == 700
    assert ledger.balance(session, reseller.wallet) == 9_300
    assert resellers.reclaim_from_sub_account(session, reseller, sub.id, 200) == 500
    assert ledger.balance(session, reseller.wallet) == 9_500
    with pytest.raises(InsufficientFunds):
        resellers.fund_sub_account(session, reseller, sub.id, 1_000_000)
    with pytest.raises(InvalidInput):
        resellers.fund_sub_account(session, reseller, sub.id, 0)
    _books_ok(session)


def test_another_resellers_sub_account_is_not_found(session, catalog, reseller, admin):
    other = make_user(session)
    resellers.set_reseller(session, admin, other.id, True)
    sub = _sub(session, reseller)
    with pytest.raises(NotFound):
        resellers.fund_sub_account(session, other, sub.id, 10)
    with pytest.raises(NotFound):
        resellers.get_sub_account(session, other, sub.id)
    with pytest.raises(NotFound):  # a plain account is no sub-account at all
        resellers.get_sub_account(session, reseller, other.id)


def test_completed_sub_account_order_splits_revenue_and_markup(session, catalog, reseller):
    resellers.set_price(session, reseller, "any", markup=40)
    sub = _sub(session, reseller)
    order = orders.purchase(session, sub, "any")
    assert order.price == 140  # ours (100) + the reseller's markup (40)
    assert ledger.balance(session, sub.wallet) == 860
    assert ledger.balance(session, ledger.ESCROW) == 140
    revenue_before = ledger.balance(session, ledger.REVENUE)
    reseller_before = ledger.balance(session, reseller.wallet)

    inbound = InboundMessage(
        raw=b"x", mail_from="a@b.c", rcpt_tos=(order.email,), code="123456", searchable_text="x"
    )
    deliver(session, inbound)
    session.refresh(order)
    assert order.status == orders.COMPLETED
    assert ledger.balance(session, ledger.ESCROW) == 0
    assert ledger.balance(session, ledger.REVENUE) - revenue_before == 100
    assert ledger.balance(session, reseller.wallet) - reseller_before == 40
    settle = session.query(ledger.LedgerTransaction).filter_by(key=f"settle:{order.id}").one()
    assert sorted(e.amount for e in settle.entries) == [-140, 40, 100]
    _books_ok(session)


def test_refund_returns_exactly_what_was_charged(session, catalog, reseller):
    resellers.set_price(session, reseller, "any", markup=25)
    sub = _sub(session, reseller)
    reseller_before = ledger.balance(session, reseller.wallet)
    order = orders.purchase(session, sub, "any")
    orders.cancel(session, sub, order.id)
    session.refresh(order)
    assert order.refunded == 125
    assert ledger.balance(session, sub.wallet) == 1000
    assert ledger.balance(session, reseller.wallet) == reseller_before  # no markup earned
    _books_ok(session)


def test_rental_and_extension_pay_markup_per_day_at_once(session, catalog, reseller):
    resellers.set_price(session, reseller, "discord", markup=0, rental_day_markup=10)
    sub = _sub(session, reseller)
    reseller_before = ledger.balance(session, reseller.wallet)
    rental = orders.purchase(session, sub, "discord", kind=orders.RENTAL, days=2)
    assert rental.price == 2 * (50 + 10)
    orders.extend_rental(session, sub, rental.id, 1)
    assert ledger.balance(session, sub.wallet) == 1000 - 120 - 60
    assert ledger.balance(session, reseller.wallet) - reseller_before == 30
    _books_ok(session)


def test_direct_customers_pay_our_price(session, catalog, reseller):
    resellers.set_price(session, reseller, "any", markup=40)
    plain = make_user(session)
    assert orders.purchase(session, plain, "any").price == 100


def test_suspending_a_reseller_suspends_its_sub_accounts(session, catalog, reseller, admin):
    from models import admin_ops

    sub = _sub(session, reseller)
    assert not resellers.effectively_suspended(session, sub)
    admin_ops.set_suspended(session, admin, reseller.id, True, "fraud")
    assert resellers.effectively_suspended(session, sub)
    with pytest.raises(AccountSuspended):
        orders.purchase(session, sub, "any")


def test_reseller_suspends_its_own_customer(session, catalog, reseller):
    sub = _sub(session, reseller)
    resellers.set_sub_account_suspended(session, reseller, sub.id, True)
    with pytest.raises(AccountSuspended):
        orders.purchase(session, sub, "any")
    resellers.set_sub_account_suspended(session, reseller, sub.id, False)
    orders.purchase(session, sub, "any")


def test_spending_report(session, catalog, reseller):
    resellers.set_price(session, reseller, "any", markup=20)
    sub = _sub(session, reseller)
    done = orders.purchase(session, sub, "any")
    deliver(
        session,
        InboundMessage(
            raw=b"x", mail_from="a@b.c", rcpt_tos=(done.email,), code="1234", searchable_text="x"
        ),
    )
    canceled = orders.purchase(session, sub, "any")
    orders.cancel(session, sub, canceled.id)
    orders.purchase(session, sub, "any")  # still waiting
    (row,) = resellers.spending(session, reseller)
    assert (row.orders, row.spent, row.markup_earned) == (3, 240, 20)
    assert row.balance == 1000 - 240
    listed = resellers.sub_account_orders(session, reseller)
    assert [o.id for o in listed][:3] == sorted((o.id for o in listed), reverse=True)[:3]


def test_markup_validation(session, catalog, reseller):
    with pytest.raises(InvalidInput):
        resellers.set_price(session, reseller, "any", markup=-1)
    with pytest.raises(NotFound):
        resellers.set_price(session, reseller, "nope", markup=1)
    resellers.set_price(session, reseller, "any", markup=5)
    resellers.set_price(session, reseller, "any", markup=7)  # updates, no duplicate
    prices = {s.name: m for s, m, _ in resellers.price_list(session, reseller)}
    assert prices == {"any": 7, "discord": 0}

"""Activations and rentals: purchase, cancel, expiry, reorder, extension, and their money."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import ledger, orders
from models.base import utcnow
from models.errors import (
    AccountSuspended,
    InsufficientFunds,
    InvalidInput,
    OrderNotCancellable,
    OrderNotFound,
    RentalNotActive,
    ReorderNotPossible,
    UnknownDomain,
    UnknownService,
)
from tests.factories import make_user


def complete_now(session, order, code="123456"):  # type: ignore[no-untyped-def]
    return orders.complete(
        session, order, message_id=1, code=code, link=None, value=code, now=utcnow()
    )


def test_purchase_holds_the_price_in_escrow(session, catalog):
    user = make_user(session, credit=1000)
    order = orders.purchase(session, user, "discord")
    assert order.status == "waiting" and order.price == 150
    assert order.email.endswith("@otpinbox.test")
    assert ledger.balance(session, user.wallet) == 850
    assert ledger.balance(session, ledger.ESCROW) == 150
    assert order.expires_at - order.created_at == timedelta(minutes=20)


def test_purchase_without_funds_is_refused(session, catalog):
    user = make_user(session, credit=149)
    with pytest.raises(InsufficientFunds):
        orders.purchase(session, user, "discord")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"service_name": "nope"}, UnknownService),
        ({"service_name": "any", "domain": "elsewhere.test"}, UnknownDomain),
        ({"service_name": "any", "kind": "bogus"}, InvalidInput),
        ({"service_name": "any", "kind": "rental"}, InvalidInput),
        ({"service_name": "any", "kind": "rental", "days": 0}, InvalidInput),
        ({"service_name": "any", "days": 3}, InvalidInput),
        ({"service_name": "any", "regex": "("}, InvalidInput),
    ],
)
def test_purchase_rejects_bad_input(session, catalog, kwargs, error):
    user = make_user(session)
    with pytest.raises(error):
        orders.purchase(session, user, **kwargs)
    assert ledger.balance(session, user.wallet) == 1000


def test_suspended_accounts_cannot_buy(session, catalog):
    user = make_user(session)
    user.is_suspended = True
    with pytest.raises(AccountSuspended):
        orders.purchase(session, user, "any")


def test_completion_moves_escrow_to_revenue(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    assert complete_now(session, order)
    session.refresh(order)
    assert order.status == "completed" and order.code == "123456"
    assert ledger.balance(session, ledger.ESCROW) == 0
    assert ledger.balance(session, ledger.REVENUE) == 100
    assert not complete_now(session, order), "a second completion must not happen"


def test_cancel_refunds_a_waiting_activation(session, catalog):
    user = make_user(session)
    order = orders.cancel(session, user, orders.purchase(session, user, "any").id)
    assert order.status == "canceled" and order.refunded == 100 and order.released_at
    assert ledger.balance(session, user.wallet) == 1000
    with pytest.raises(OrderNotCancellable):
        orders.cancel(session, user, order.id)


def test_cancel_after_completion_releases_without_refund(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    complete_now(session, order)
    released = orders.cancel(session, user, order.id)
    assert released.status == "completed" and released.refunded == 0 and released.released_at
    assert ledger.balance(session, user.wallet) == 900
    assert orders.cancel(session, user, order.id).status == "completed"  # idempotent


def test_orders_of_others_are_not_found(session, catalog):
    owner, other = make_user(session), make_user(session)
    order = orders.purchase(session, owner, "any")
    for action in (orders.cancel, orders.reorder, orders.get_order):
        with pytest.raises(OrderNotFound):
            action(session, other, order.id)
    with pytest.raises(OrderNotFound):
        orders.get_order(session, owner, "not-a-number")


def test_expiry_refunds_on_time_even_if_nobody_looks(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    assert orders.expire_due(session, now=order.expires_at - timedelta(seconds=1)) == []
    assert orders.expire_due(session, now=order.expires_at) == [order.id]
    assert orders.expire_due(session, now=order.expires_at) == []  # a second sweeper: no-op
    session.refresh(order)
    assert order.status == "expired" and order.refunded == 100
    assert ledger.balance(session, user.wallet) == 1000
    assert not complete_now(session, order)


def test_reading_an_order_past_its_deadline_finalises_it(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    orders.finalize_if_due(session, order, now=order.expires_at + timedelta(seconds=1))
    assert order.status == "expired" and ledger.balance(session, user.wallet) == 1000


def test_cancel_past_the_deadline_expires_with_refund(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    done = orders.cancel(session, user, order.id, now=order.expires_at + timedelta(seconds=1))
    assert done.status == "expired" and done.refunded == 100
    assert ledger.balance(session, user.wallet) == 1000


def test_delivery_after_the_deadline_does_not_complete(session, catalog):
    user = make_user(session)
    order = orders.purchase(session, user, "any")
    late = orders.complete(
        session, order, message_id=1, code="1", link=None, value="1", now=order.expires_at
    )
    assert not late


def test_reorder_buys_a_new_activation_on_the_same_address(session, catalog):
    user = make_user(session)
    first = orders.purchase(session, user, "any")
    with pytest.raises(ReorderNotPossible):
        orders.reorder(session, user, first.id)  # still waiting for its first message
    complete_now(session, first)
    second = orders.reorder(session, user, first.id)
    assert second.id != first.id and second.email == first.email
    assert second.status == "waiting" and second.price == 100
    assert ledger.balance(session, user.wallet) == 800
    with pytest.raises(ReorderNotPossible):
        orders.reorder(session, user, first.id)  # the address is busy again


def test_rental_is_paid_outright_and_cannot_be_canceled(session, catalog):
    user = make_user(session)
    rental = orders.purchase(session, user, "discord", kind="rental", days=3)
    assert rental.status == "active" and rental.price == 150
    assert ledger.balance(session, ledger.REVENUE) == 150
    with pytest.raises(OrderNotCancellable):
        orders.cancel(session, user, rental.id)
    extended = orders.extend_rental(session, user, rental.id, 2)
    assert extended.expires_at - extended.created_at == timedelta(days=5)
    assert ledger.balance(session, user.wallet) == 1000 - 150 - 100
    assert orders.expire_due(session, now=extended.expires_at) == [rental.id]
    session.refresh(rental)
    assert rental.status == "expired" and rental.refunded == 0
    with pytest.raises(RentalNotActive):
        orders.extend_rental(session, user, rental.id, 1)
    assert ledger.check_invariants(session) == []


def test_list_orders_is_keyset_paginated(session, catalog):
    user = make_user(session, credit=10_000)
    made = [orders.purchase(session, user, "any").id for _ in range(5)]
    page1 = orders.list_orders(session, user, limit=3)
    page2 = orders.list_orders(session, user, before=page1[-1].id, limit=3)
    assert [o.id for o in page1 + page2] == sorted(made, reverse=True)

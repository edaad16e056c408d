"""Admin operations: suspension, adjustments, forfeiture, catalogue, figures, audit."""

from __future__ import annotations

import pytest

from models import admin_ops, ledger, orders
from models.audit import recent
from models.errors import AccountSuspended, Conflict, InsufficientFunds, InvalidInput
from tests.factories import make_user


def test_suspend_blocks_buying_and_is_audited(session, catalog) -> None:  # type: ignore[no-untyped-def]
    admin, user = make_user(session, is_admin=True), make_user(session)
    with pytest.raises(InvalidInput):
        admin_ops.set_suspended(session, admin, user.id, True, "")
    admin_ops.set_suspended(session, admin, user.id, True, "chargeback fraud")
    with pytest.raises(AccountSuspended):
        orders.purchase(session, user, "any")
    admin_ops.set_suspended(session, admin, user.id, False, "cleared")
    orders.purchase(session, user, "any")
    actions = [e.action for e in recent(session, limit=5)]
    assert "admin.suspend" in actions and "admin.unsuspend" in actions
    with pytest.raises(Conflict):
        admin_ops.set_suspended(session, admin, admin.id, True, "oops")


def test_adjustment_moves_money_through_the_ledger(session) -> None:  # type: ignore[no-untyped-def]
    admin, user = make_user(session, is_admin=True), make_user(session, credit=100)
    admin_ops.adjust_balance(session, admin, user.id, 250, "goodwill")
    admin_ops.adjust_balance(session, admin, user.id, -50, "correction")
    assert ledger.balance(session, user.wallet) == 300
    with pytest.raises(InsufficientFunds):
        admin_ops.adjust_balance(session, admin, user.id, -301, "too much")
    with pytest.raises(InvalidInput):
        admin_ops.adjust_balance(session, admin, user.id, 10, "")
    history = ledger.history(session, user.wallet)
    assert [txn.memo for txn, _ in history[:2]] == ["correction", "goodwill"]
    assert ledger.check_invariants(session) == []


def test_forfeit_needs_suspension_and_takes_everything(session) -> None:  # type: ignore[no-untyped-def]
    admin, user = make_user(session, is_admin=True), make_user(session, credit=700)
    with pytest.raises(Conflict):
        admin_ops.forfeit(session, admin, user.id, "fraud")
    admin_ops.set_suspended(session, admin, user.id, True, "fraud")
    assert admin_ops.forfeit(session, admin, user.id, "fraud confirmed") == 700
    assert ledger.balance(session, user.wallet) == 0
    with pytest.raises(Conflict):
        admin_ops.forfeit(session, admin, user.id, "again")
    assert recent(session, limit=1)[0].action == "admin.forfeit"


def test_search_users_escapes_wildcards(session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, email="alice_one@example.com")
    make_user(session, email="aliceXone@example.com")
    found = [u.email for u in admin_ops.search_users(session, "alice_one")]
    assert found == ["alice_one@example.com"]


def test_catalogue_changes(session, catalog) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(session, is_admin=True)
    admin_ops.update_service(
        session, admin, "any", price=120, window_minutes=15, rental_day_price=40, active=True
    )
    assert catalog.any.price == 120
    with pytest.raises(InvalidInput):
        admin_ops.update_service(
            session, admin, "any", price=-1, window_minutes=15, rental_day_price=0, active=True
        )
    admin_ops.set_domain_active(session, admin, catalog.domain.id, False)
    assert not catalog.domain.active


def test_dashboard_figures(session, catalog) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, credit=1000)
    before = admin_ops.dashboard_figures(session)
    kept = orders.purchase(session, user, "any")
    canceled = orders.purchase(session, user, "any")
    orders.cancel(session, user, canceled.id)
    after = admin_ops.dashboard_figures(session)
    assert after.orders_24h == before.orders_24h + 2
    assert after.refunds_24h == before.refunds_24h + 1
    assert after.refunded_amount_24h == before.refunded_amount_24h + 100
    assert after.escrow == before.escrow + kept.price

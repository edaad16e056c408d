"""Disputes: inside the window, once per order, refunded through the ledger or rejected."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import disputes, ledger, mail, orders
from models.base import utcnow
from models.errors import Conflict, InvalidInput, NotFound
from tests.factories import make_user


def completed_order(session, user, when=None):  # type: ignore[no-untyped-def]
    when = when or utcnow()
    order = orders.purchase(session, user, "discord", now=when - timedelta(minutes=1))
    inbound = mail.InboundMessage(
        raw=b"x", mail_from="noreply@discord.com", rcpt_tos=(order.email,),
        from_header="noreply@discord.com", subject="code", code="123456",
    )  # fmt: skip
    mail.deliver(session, inbound, now=when)
    session.refresh(order)
    assert order.status == orders.COMPLETED
    return order


def test_dispute_refund_goes_to_the_wallet_once(session, catalog) -> None:  # type: ignore[no-untyped-def]
    user, admin = make_user(session, credit=1000), make_user(session, is_admin=True)
    order = completed_order(session, user)
    assert ledger.balance(session, user.wallet) == 850
    dispute = disputes.open_dispute(session, user, order.id, "code was rejected", "screenshot")
    with pytest.raises(Conflict):
        disputes.open_dispute(session, user, order.id, "again")
    disputes.refund(session, dispute.id, admin, note="confirmed")
    assert ledger.balance(session, user.wallet) == 1000
    with pytest.raises(Conflict):
        disputes.refund(session, dispute.id, admin)
    with pytest.raises(Conflict):
        disputes.reject(session, dispute.id, admin, "no")
    assert ledger.balance(session, user.wallet) == 1000
    assert ledger.check_invariants(session) == []


def test_partial_refund_is_bounded_by_the_price(session, catalog) -> None:  # type: ignore[no-untyped-def]
    user, admin = make_user(session), make_user(session, is_admin=True)
    dispute = disputes.open_dispute(session, user, completed_order(session, user).id, "bad")
    with pytest.raises(InvalidInput):
        disputes.refund(session, dispute.id, admin, amount=151)
    with pytest.raises(InvalidInput):
        disputes.refund(session, dispute.id, admin, amount=0)
    disputes.refund(session, dispute.id, admin, amount=50)
    assert ledger.balance(session, user.wallet) == 1000 - 150 + 50


def test_rejected_dispute_needs_a_reason_and_refunds_nothing(session, catalog) -> None:  # type: ignore[no-untyped-def]
    user, admin = make_user(session), make_user(session, is_admin=True)
    dispute = disputes.open_dispute(session, user, completed_order(session, user).id, "bad")
    with pytest.raises(InvalidInput):
        disputes.reject(session, dispute.id, admin, "")
    disputes.reject(session, dispute.id, admin, "the code was used successfully")
    assert ledger.balance(session, user.wallet) == 850


def test_dispute_window_and_state_rules(session, catalog) -> None:  # type: ignore[no-untyped-def]
    user, other = make_user(session), make_user(session)
    old = completed_order(session, user, when=utcnow() - timedelta(days=6))
    with pytest.raises(Conflict):
        disputes.open_dispute(session, user, old.id, "late", window_days=5)
    disputes.open_dispute(session, user, old.id, "ok with a longer window", window_days=7)
    waiting = orders.purchase(session, user, "any")
    with pytest.raises(Conflict):
        disputes.open_dispute(session, user, waiting.id, "not completed")
    fresh = completed_order(session, user)
    with pytest.raises(NotFound):
        disputes.open_dispute(session, other, fresh.id, "not mine")
    with pytest.raises(InvalidInput):
        disputes.open_dispute(session, user, fresh.id, "   ")


def test_outage_report_is_checked_against_received_mail(session, catalog) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session)
    start = utcnow() - timedelta(days=3)
    rental = orders.purchase(session, user, "discord", kind=orders.RENTAL, days=7, now=start)
    with pytest.raises(Conflict):
        disputes.report_outage(session, user, rental.id, "quiet", now=start + timedelta(hours=5))
    inbound = mail.InboundMessage(raw=b"x", mail_from="a@b.c", rcpt_tos=(rental.email,))
    mail.deliver(session, inbound, now=utcnow() - timedelta(hours=2))
    with pytest.raises(Conflict):
        disputes.report_outage(session, user, rental.id, "nothing arrives")
    later = utcnow() + timedelta(hours=25)
    report = disputes.report_outage(session, user, rental.id, "nothing arrives", now=later)
    assert report.kind == disputes.OUTAGE and "nothing received since" in report.evidence
    activation = orders.purchase(session, user, "any")
    with pytest.raises(Conflict):
        disputes.report_outage(session, user, activation.id, "not a rental")

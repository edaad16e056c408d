"""Abuse detection on crafted data: each rule flags what it should, once, and only that."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import abuse_detection as ad
from models import ledger, orders, payments, resellers, tickets
from models.audit import AuditEvent
from models.base import utcnow
from models.errors import Conflict, TooManyWaitingOrders
from models.users import User
from tests.factories import make_user

QUIET = ad.DetectionRules(
    shared_accounts=0, cancel_min_orders=0, burst_orders=0, bounced_deposits=0
)


@pytest.fixture
def admin(session):  # type: ignore[no-untyped-def]
    return make_user(session, credit=0, is_admin=True)


def _rules(**on) -> ad.DetectionRules:  # type: ignore[no-untyped-def]
    return QUIET.__class__(**{**QUIET.__dict__, **on})


def test_shared_registration_ip_flags_every_account_on_it(session):
    a, b, c = make_user(session), make_user(session), make_user(session)
    ad.record_login(session, a.id, ip="203.0.113.9", fingerprint="", registration=True)
    ad.record_login(session, b.id, ip="203.0.113.9", fingerprint="", registration=True)
    ad.record_login(session, c.id, ip="198.51.100.1", fingerprint="", registration=True)
    flags = ad.scan(session, _rules(shared_accounts=2))
    assert sorted(f.user_id for f in flags) == sorted([a.id, b.id])
    assert {f.rule for f in flags} == {"shared_register_ip"}
    evidence = next(f for f in flags if f.user_id == a.id).evidence_data
    assert evidence["other_accounts"] == [{"id": b.id, "email": b.email}]
    assert ad.scan(session, _rules(shared_accounts=2)) == []  # the same suspicion once


def test_shared_fingerprint_and_login_ip(session):
    a, b = make_user(session), make_user(session)
    fp = ad.browser_fingerprint("Mozilla/5.0 X", "en-US")
    ad.record_login(session, a.id, ip="192.0.2.1", fingerprint=fp)
    ad.record_login(session, b.id, ip="192.0.2.1", fingerprint=fp)
    rules = {f.rule for f in ad.scan(session, _rules(shared_accounts=2))}
    assert rules == {"shared_login_ip", "shared_fingerprint"}


def test_a_reseller_and_its_customers_on_one_ip_are_one_party(session, catalog, admin):
    reseller = make_user(session)
    resellers.set_reseller(session, admin, reseller.id, True)
    sub = resellers.create_sub_account(session, reseller, "c1@example.com")
    for uid in (reseller.id, sub.id):
        ad.record_login(session, uid, ip="192.0.2.50", fingerprint="")
    assert ad.scan(session, _rules(shared_accounts=2)) == []


def test_cancel_ratio_over_the_threshold(session, catalog):
    canceler, honest = make_user(session, credit=10_000), make_user(session, credit=10_000)
    for user, cancels in ((canceler, 8), (honest, 2)):
        for i in range(10):
            order = orders.purchase(session, user, "any")
            if i < cancels:
                orders.cancel(session, user, order.id)
            else:
                orders.expire_due(session, now=order.expires_at)
    flags = ad.scan(session, _rules(cancel_min_orders=10, cancel_ratio=0.7))
    assert [(f.user_id, f.rule) for f in flags] == [(canceler.id, "cancel_ratio")]
    assert flags[0].evidence_data["canceled"] == 8


def test_order_burst(session, catalog):
    buyer = make_user(session, credit=10_000)
    for _ in range(5):
        orders.purchase(session, buyer, "any")
    assert ad.scan(session, _rules(burst_orders=6, burst_minutes=5)) == []
    orders.purchase(session, buyer, "any")
    (flag,) = ad.scan(session, _rules(burst_orders=6, burst_minutes=5))
    assert flag.rule == "order_burst" and flag.evidence_data["orders"] == 6


def test_bounced_deposits_but_not_below_minimum_ones(session, admin):
    user, small = make_user(session), make_user(session)
    payments.request_deposit(session, small, 5, "tiny", minimum=100)  # auto-rejected: no bounce
    bounced = payments.request_deposit(session, user, 500, "ref", minimum=100)
    payments.reject_deposit(session, bounced.id, admin, "transfer reversed by the bank")
    (flag,) = ad.scan(session, _rules(bounced_deposits=1))
    assert flag.user_id == user.id and flag.evidence_data["deposit_ids"] == [bounced.id]


def test_nothing_is_suspended_unless_a_rule_says_so(session):
    a, b = make_user(session), make_user(session)
    for u in (a, b):
        ad.record_login(session, u.id, ip="192.0.2.7", fingerprint="", registration=True)
    ad.scan(session, _rules(shared_accounts=2))
    assert not session.get(User, a.id, populate_existing=True).is_suspended

    c = make_user(session)
    ad.record_login(session, c.id, ip="192.0.2.7", fingerprint="", registration=True)
    rules = _rules(shared_accounts=2, auto_suspend=("shared_register_ip",))
    (flag,) = ad.scan(session, rules)  # only c's flag is new
    assert flag.user_id == c.id and flag.status == ad.ACTIONED
    assert session.get(User, c.id, populate_existing=True).is_suspended
    assert session.query(AuditEvent).filter_by(action="abuse.auto_suspend").count() == 1


def _flag(session, user) -> ad.AbuseFlag:  # type: ignore[no-untyped-def]
    other = make_user(session)
    for u in (user, other):
        ad.record_login(session, u.id, ip="192.0.2.99", fingerprint="", registration=True)
    return next(f for f in ad.scan(session, _rules(shared_accounts=2)) if f.user_id == user.id)


def test_review_actions_are_audited_and_decided_once(session, catalog, admin):
    user = make_user(session, credit=700)
    flag = _flag(session, user)
    ad.decide(session, admin, flag.id, "forfeit", "fraud ring")
    assert session.get(User, user.id, populate_existing=True).is_suspended
    assert ledger.balance(session, user.wallet) == 0
    forfeits = session.query(ledger.LedgerTransaction).filter_by(kind="forfeiture").all()
    assert len(forfeits) == 1
    with pytest.raises(Conflict):
        ad.decide(session, admin, flag.id, "dismiss", "again")
    actions = [e.action for e in session.query(AuditEvent).filter_by(user_id=admin.id)]
    assert "admin.abuse.forfeit" in actions and "admin.forfeit" in actions


def test_warn_opens_a_staff_ticket_and_limit_caps_waiting_orders(session, catalog, admin):
    user = make_user(session, credit=1000)
    ad.decide(session, admin, _flag(session, user).id, "warn", "Stop sharing accounts.")
    (ticket,) = tickets.tickets_for(session, user)
    assert ticket.topic == tickets.WARNING and tickets.unread_count(session, user) == 1

    other_flag = ad.scan(session, _rules(shared_accounts=2))  # nothing new
    assert other_flag == []
    user2 = make_user(session, credit=1000)
    ad.decide(session, admin, _flag(session, user2).id, "limit", "slow down", max_waiting_orders=1)
    orders.purchase(session, user2, "any")
    with pytest.raises(TooManyWaitingOrders):
        orders.purchase(session, user2, "any")
    later = utcnow() + timedelta(days=31)
    ad.check_review_limit(session, user2, later)  # the limit has lapsed


def test_dismiss_does_nothing_to_the_account(session, admin):
    user = make_user(session)
    flag = ad.decide(session, admin, _flag(session, user).id, "dismiss", "same office")
    assert flag.status == ad.DISMISSED
    assert not session.get(User, user.id, populate_existing=True).is_suspended

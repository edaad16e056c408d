"""Privacy: the export holds what we keep; deletion anonymises but keeps the records."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from models import abuse_detection, ledger, orders, privacy, terms, tickets, users
from models.audit import AuditEvent, audit
from models.base import utcnow
from models.errors import AuthenticationFailed, Conflict
from models.invariants import check_order_settlements
from models.mail import InboundMessage, Message, deliver
from tests.factories import make_user


def _customer(session, catalog):  # type: ignore[no-untyped-def]
    admin = make_user(session, credit=0, is_admin=True)
    user = users.create_user(session, "priv@example.com", "correct horse", credit=300)
    terms.accept(session, user, [terms.publish(session, admin, terms.TERMS, "t").id], ip="1.1.1.1")
    order = orders.purchase(session, user, "any")
    deliver(
        session,
        InboundMessage(
            raw=b"Subject: c\r\n\r\n123456", mail_from="a@b.c", rcpt_tos=(order.email,),
            code="123456", text="your code 123456", searchable_text="x",
        ),
    )  # fmt: skip
    tickets.open_ticket(session, user, "Help", "my secret words")
    abuse_detection.record_login(session, user.id, ip="203.0.113.5", fingerprint="abc")
    audit(session, "login", user_id=user.id, ip="203.0.113.5")
    users.create_api_key(session, user, "bot")
    return user, order


def test_export_contains_what_the_policy_lists(session, catalog):
    user, order = _customer(session, catalog)
    data = privacy.export_data(session, user)
    json.dumps(data)  # JSON-ready
    assert data["account"]["email"] == "priv@example.com"
    assert data["account"]["balance"] == 200
    assert [o["id"] for o in data["orders"]] == [order.id]
    assert {t["kind"] for t in data["transactions"]} >= {"deposit", "purchase"}
    assert data["terms_acceptances"][0]["ip"] == "1.1.1.1"
    assert data["tickets"][0]["messages"][0]["body"] == "my secret words"
    assert any(e["ip"] == "203.0.113.5" for e in data["activity"])
    assert {s["kind"] for s in data["signals"]} == {"login_ip", "fingerprint"}
    assert data["api_keys"][0]["name"] == "bot" and "key_hash" not in data["api_keys"][0]


def test_deletion_needs_an_empty_wallet_and_the_password(session, catalog):
    user, _ = _customer(session, catalog)
    with pytest.raises(Conflict, match="wallet"):
        privacy.delete_account(session, user, "correct horse")
    ledger.post_transaction(
        session, "withdrawal_hold", [(user.wallet, -200), (ledger.WITHDRAWALS, 200)]
    )
    with pytest.raises(AuthenticationFailed):
        privacy.delete_account(session, user, "wrong password")


def test_deletion_anonymises_and_keeps_orders_and_ledger(session, catalog):
    user, order = _customer(session, catalog)
    ledger.post_transaction(
        session, "withdrawal_hold", [(user.wallet, -200), (ledger.WITHDRAWALS, 200)]
    )
    entries_before = session.query(ledger.LedgerEntry).count()
    privacy.delete_account(session, user, "correct horse", ip="9.9.9.9")

    assert user.email == f"deleted-{user.id}@deleted.invalid" and user.is_suspended
    with pytest.raises(AuthenticationFailed):
        users.authenticate(session, "priv@example.com", "correct horse")
    kept = session.get(orders.Order, order.id, populate_existing=True)
    assert kept.code == "123456" and kept.status == orders.COMPLETED  # the record stays
    assert session.query(ledger.LedgerEntry).count() == entries_before
    assert ledger.check_invariants(session) == [] and check_order_settlements(session) == []
    assert session.query(Message).count() == 0
    assert session.query(abuse_detection.AccountSignal).filter_by(user_id=user.id).count() == 0
    assert {e.ip for e in session.query(AuditEvent).filter_by(user_id=user.id)} == {""}
    assert all(k.revoked_at for k in users.list_api_keys(session, user))
    (ticket,) = tickets.tickets_for(session, user)
    assert [m.body for m, _ in tickets.messages(session, ticket)] == ["[deleted]"]


def test_retention_blanks_old_ips_and_closed_ticket_texts(session, catalog):
    user, _ = _customer(session, catalog)
    (ticket,) = tickets.tickets_for(session, user)
    ticket.status = tickets.RESOLVED
    session.flush()
    later = utcnow() + timedelta(days=400)
    touched = privacy.apply_retention(
        session, privacy.Retention(ip_days=180, closed_ticket_days=365), later
    )
    assert touched > 0
    assert {e.ip for e in session.query(AuditEvent).filter_by(user_id=user.id)} == {""}
    assert session.query(abuse_detection.AccountSignal).count() == 0
    assert [m.body for m, _ in tickets.messages(session, ticket)] == ["[expired]"]
    assert privacy.apply_retention(session, privacy.Retention(0, 0), later) == 0

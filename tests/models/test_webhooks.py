"""models.webhooks: events queued with the delivery, leased claims, backoff, signatures."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import mail, orders, webhooks
from models.base import utcnow
from models.errors import InvalidInput, NotFound
from models.mail import InboundMessage
from tests.factories import make_user


def inbound(to: str, code: str | None = "482913") -> InboundMessage:
    return InboundMessage(
        raw=b"Subject: code\r\n\r\nYour code 482913",
        mail_from="noreply@discord.com",
        rcpt_tos=(to,),
        subject="Your code",
        text="Your code is 482913",
        code=code,
    )


def queued(session, endpoint) -> list[webhooks.WebhookDelivery]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(
            select(webhooks.WebhookDelivery)
            .where(webhooks.WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(webhooks.WebhookDelivery.id)
        )
    )


def hook(session, user, **kw) -> webhooks.WebhookEndpoint:  # type: ignore[no-untyped-def]
    return webhooks.create_endpoint(
        session, user, "http://127.0.0.1:9/hook", allow_private=True, **kw
    )


def test_a_completing_delivery_queues_message_received_then_order_completed(session, catalog):
    user = make_user(session)
    endpoint = hook(session, user)
    order = orders.purchase(session, user, "discord")
    mail.deliver(session, inbound(order.email))
    rows = queued(session, endpoint)
    assert [r.event for r in rows] == [webhooks.MESSAGE_RECEIVED, webhooks.ORDER_COMPLETED]
    completed = json.loads(rows[1].body)
    assert completed["event"] == "order.completed" and completed["id"] == rows[1].event_id
    assert completed["order"]["id"] == str(order.id)
    assert completed["order"]["status"] == "completed" and completed["order"]["code"] == "482913"
    received = json.loads(rows[0].body)
    assert received["message"]["order_id"] == str(order.id)
    assert received["message"]["code"] == "482913"
    assert {r.status for r in rows} == {webhooks.PENDING}
    assert rows[0].event_id != rows[1].event_id


def test_a_message_without_code_queues_only_message_received(session, catalog):
    user = make_user(session)
    endpoint = hook(session, user)
    order = orders.purchase(session, user, "any")
    mail.deliver(session, inbound(order.email, code=None))
    assert [r.event for r in queued(session, endpoint)] == [webhooks.MESSAGE_RECEIVED]


def test_endpoints_get_only_their_subscribed_events_and_only_their_owners(session, catalog):
    user, other = make_user(session), make_user(session)
    completed_only = hook(session, user, events=[webhooks.ORDER_COMPLETED])
    others = hook(session, other)
    order = orders.purchase(session, user, "discord")
    mail.deliver(session, inbound(order.email))
    assert [r.event for r in queued(session, completed_only)] == [webhooks.ORDER_COMPLETED]
    assert queued(session, others) == []


def test_a_deleted_endpoint_gets_nothing_new_and_its_pending_deliveries_fail(session, catalog):
    user = make_user(session)
    endpoint = hook(session, user)
    first = orders.purchase(session, user, "discord")
    mail.deliver(session, inbound(first.email))
    webhooks.delete_endpoint(session, user, endpoint.id)
    second = orders.purchase(session, user, "discord")
    mail.deliver(session, inbound(second.email))
    rows = queued(session, endpoint)
    assert len(rows) == 2
    for row in rows:
        session.refresh(row)
    assert {r.status for r in rows} == {webhooks.FAILED}
    with pytest.raises(NotFound):
        webhooks.get_endpoint(session, user, endpoint.id)


def test_urls_are_checked(session, catalog):
    user = make_user(session)
    for bad in ("ftp://example.com/x", "not a url", "http://user:pw@example.com/"):
        with pytest.raises(InvalidInput):
            webhooks.create_endpoint(session, user, bad, allow_private=True)
    for private in ("http://127.0.0.1:8080/x", "http://10.1.2.3/x", "http://[::1]/x"):
        with pytest.raises(InvalidInput):
            webhooks.create_endpoint(session, user, private)
    with pytest.raises(InvalidInput):
        webhooks.create_endpoint(session, user, "https://example.com/", events=["order.refunded"])


def test_other_users_cannot_see_or_delete_an_endpoint(session, catalog):
    owner, stranger = make_user(session), make_user(session)
    endpoint = hook(session, owner)
    with pytest.raises(NotFound):
        webhooks.delete_endpoint(session, stranger, endpoint.id)
    with pytest.raises(NotFound):
        webhooks.deliveries_for(session, stranger, endpoint.id)


def test_a_claim_is_exclusive_until_its_lease_ends(session, catalog):
    user = make_user(session)
    hook(session, user)
    order = orders.purchase(session, user, "discord")
    mail.deliver(session, inbound(order.email))
    now = utcnow()
    first = webhooks.claim_due(session, now=now, lease_seconds=60)
    assert len(first) == 2
    assert webhooks.claim_due(session, now=now + timedelta(seconds=59)) == []
    again = webhooks.claim_due(session, now=now + timedelta(seconds=61))
    assert {c.delivery_id for c in again} == {c.delivery_id for c in first}
    # The first worker's lease is gone: its late result is logged but changes nothing.
    outcome = webhooks.Outcome(200, None, 5)
    assert webhooks.record_attempt(session, first[0], outcome) == "stale"
    assert webhooks.record_attempt(session, again[0], outcome) == webhooks.DELIVERED


def test_failures_back_off_exponentially_then_give_up(session, catalog):
    user = make_user(session)
    endpoint = hook(session, user, events=[webhooks.ORDER_COMPLETED])
    order = orders.purchase(session, user, "discord")
    mail.deliver(session, inbound(order.email))
    now = utcnow()
    waits = []
    for attempt in range(1, 4):
        (claim,) = webhooks.claim_due(session, now=now)
        status = webhooks.record_attempt(
            session, claim, webhooks.Outcome(500, "HTTP 500", 3), now=now, max_attempts=3
        )
        (row,) = queued(session, endpoint)
        session.refresh(row)
        assert row.attempts == attempt
        if attempt < 3:
            assert status == webhooks.PENDING
            waits.append((row.next_attempt_at - now).total_seconds())
            assert webhooks.claim_due(session, now=now) == []  # not due yet
            now = row.next_attempt_at
        else:
            assert status == webhooks.FAILED and row.status == webhooks.FAILED
    assert waits == [webhooks.backoff_seconds(1), webhooks.backoff_seconds(2)]
    assert waits[1] == 2 * waits[0]
    assert len(webhooks.attempts_for(session, row)) == 3
    assert webhooks.claim_due(session, now=now + timedelta(days=1)) == []


def test_signature_covers_timestamp_and_body():
    ts = int(time.time())
    signature = webhooks.sign("whsec_x", ts, '{"a":1}')
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert webhooks.verify("whsec_x", str(ts), b'{"a":1}', signature)
    assert not webhooks.verify("whsec_x", str(ts), b'{"a":2}', signature)
    assert not webhooks.verify("whsec_y", str(ts), b'{"a":1}', signature)
    assert not webhooks.verify("whsec_x", str(ts + 1), b'{"a":1}', signature)
    old = ts - 3600
    assert not webhooks.verify("whsec_x", str(old), b'{"a":1}', webhooks.sign("whsec_x", old, "{}"))

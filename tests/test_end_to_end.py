"""End to end: buy over the API, mail over real SMTP, the long-poll hands back the code.

The SMTP side is a real aiosmtpd server on a free port driven with ``smtplib``; the
web side is the Flask app; both share the database and the in-process notifier.
"""

from __future__ import annotations

import smtplib
import threading
import time
from datetime import timedelta

import pytest

from cli import worker_tick
from models import orders, users
from models.base import utcnow
from tests.factories import mail_bytes, make_catalog, make_user


@pytest.fixture
def headers(clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        make_catalog(session)
        _, key = users.create_api_key(session, make_user(session, credit=1000))
    return {"Authorization": f"Bearer {key}"}


def send(server, to: str, **kw) -> dict:  # type: ignore[no-untyped-def]
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as client:
        return client.sendmail("noreply@discord.com", [to], mail_bytes(to, **kw))


def test_buy_send_wait_cancel(client, app, headers, smtp_server):
    order = client.post("/api/v1/orders", json={"service": "discord"}, headers=headers).json
    result: dict = {}

    def wait() -> None:
        with app.test_client() as waiter:
            started = time.monotonic()
            response = waiter.get(f"/api/v1/orders/{order['id']}/wait?timeout=20", headers=headers)
            result.update(response.json, took=time.monotonic() - started)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)  # the waiter is parked on the notifier
    assert send(smtp_server, order["email"], body="Your Discord code is 736120.") == {}
    waiter.join(25)
    assert result["status"] == "completed" and result["code"] == "736120"
    assert result["took"] < 20, "the long-poll returned on the notification, not the timeout"

    canceled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers).json
    assert canceled["status"] == "completed" and canceled["refunded"] is False
    assert client.get("/api/v1/me", headers=headers).json["balance"] == 850
    messages = client.get(f"/api/v1/orders/{order['id']}/messages", headers=headers).json
    assert [m["code"] for m in messages] == ["736120"]


def test_unknown_and_foreign_recipients_are_rejected_at_rcpt(headers, smtp_server):
    with smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=10) as client:
        client.ehlo("test")
        client.mail("a@example.com")
        assert client.rcpt("nobody@otpinbox.test")[0] == 550
        code, text = client.rcpt("someone@gmail.com")
        assert code == 550 and b"5.7.1" in text


def test_buy_expire_refund(client, headers, clean_db, notifier):
    order = client.post("/api/v1/orders", json={"service": "any"}, headers=headers).json
    assert client.get("/api/v1/me", headers=headers).json["balance"] == 900
    later = utcnow() + timedelta(minutes=21)
    with clean_db.transaction() as session:
        assert orders.expire_due(session, now=later) == [int(order["id"])]
    assert worker_tick(clean_db, notifier) == 0  # already done: the sweeper is idempotent
    expired = client.get(f"/api/v1/orders/{order['id']}", headers=headers).json
    assert expired["status"] == "expired" and expired["refunded"] is True
    assert client.get("/api/v1/me", headers=headers).json["balance"] == 1000


def test_the_worker_sweeps_due_orders(headers, clean_db, notifier, client):
    order = client.post("/api/v1/orders", json={"service": "any"}, headers=headers).json
    with clean_db.transaction() as session:  # the deadline passes
        session.get(orders.Order, int(order["id"])).expires_at = utcnow() - timedelta(seconds=1)
    version = notifier.version(f"order:{order['id']}")
    assert worker_tick(clean_db, notifier) == 1
    assert notifier.version(f"order:{order['id']}") == version + 1
    assert client.get("/api/v1/me", headers=headers).json["balance"] == 1000


def test_a_database_failure_answers_451_and_stores_nothing(
    headers, smtp_server, client, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    order = client.post("/api/v1/orders", json={"service": "any"}, headers=headers).json

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr("models.mail.deliver_many", broken)
    with pytest.raises(smtplib.SMTPDataError) as failure:
        send(smtp_server, order["email"])
    assert failure.value.smtp_code == 451
    monkeypatch.undo()
    assert send(smtp_server, order["email"]) == {}  # the sender's retry succeeds
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=headers).json["status"] == "completed"
    )

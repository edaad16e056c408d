"""Webhooks end to end: API, SMTP delivery, worker sending to a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
import smtplib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cli import send_webhooks
from models import users, webhooks
from tests.factories import mail_bytes, make_catalog, make_user


class Receiver:
    """A real HTTP server that records each POST and answers with the next queued status."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append((dict(self.headers.items()), body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def hook_settings(settings):  # type: ignore[no-untyped-def]
    return settings.replace(webhook_allow_private=True)


@pytest.fixture
def hook_app(hook_settings, clean_db, notifier):  # type: ignore[no-untyped-def]
    from web import create_app

    application = create_app(hook_settings, db=clean_db, notifier=notifier)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def api(hook_app, clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        make_catalog(session)
        user = make_user(session, credit=1000)
        _, key = users.create_api_key(session, user)
    return hook_app.test_client(), {"Authorization": f"Bearer {key}"}


def send_code(settings, email: str) -> None:  # type: ignore[no-untyped-def]
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port) as smtp:
        smtp.sendmail("noreply@discord.com", [email], mail_bytes(email))


def test_webhook_crud_over_the_api(api, receiver):  # type: ignore[no-untyped-def]
    client, headers = api
    created = client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["url"] == receiver.url
    assert body["events"] == ["order.completed", "message.received"]
    listed = client.get("/api/v1/webhooks", headers=headers).get_json()
    assert [w["id"] for w in listed] == [body["id"]] and "secret" not in listed[0]
    assert client.delete(f"/api/v1/webhooks/{body['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/webhooks", headers=headers).get_json() == []
    assert client.delete(f"/api/v1/webhooks/{body['id']}", headers=headers).status_code == 404


def test_invalid_webhooks_are_refused(api, settings, clean_db):  # type: ignore[no-untyped-def]
    client, headers = api
    for payload in (
        {},
        {"url": 5},
        {"url": "ftp://x.example/"},
        {"url": "https://x.example", "events": "x"},
    ):
        answer = client.post("/api/v1/webhooks", json=payload, headers=headers)
        assert answer.status_code == 400, payload
        assert answer.get_json()["error"]["code"] == "invalid_input"
    # Without the opt-in, loopback targets are refused (SSRF guard).
    from web import create_app

    strict = create_app(settings, db=clean_db).test_client()
    answer = strict.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:1/"}, headers=headers)
    assert answer.status_code == 400


def test_a_code_over_smtp_reaches_the_receiver_signed(  # type: ignore[no-untyped-def]
    api, receiver, smtp_server, hook_settings, clean_db
):
    client, headers = api
    secret = client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers)
    secret = secret.get_json()["secret"]
    order = client.post("/api/v1/orders", json={"service": "discord"}, headers=headers).get_json()
    send_code(hook_settings, order["email"])
    assert send_webhooks(clean_db, hook_settings) == 2
    assert len(receiver.requests) == 2
    events = {}
    for sent_headers, body in receiver.requests:
        assert webhooks.verify(
            secret, sent_headers["X-Otpinbox-Timestamp"], body, sent_headers["X-Otpinbox-Signature"]
        )
        payload = json.loads(body)
        assert sent_headers["X-Otpinbox-Event-Id"] == payload["id"]
        events[payload["event"]] = payload
    # The webhook's order is exactly what the API shows.
    api_order = client.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json()
    assert events["order.completed"]["order"] == api_order
    assert api_order["status"] == "completed" and api_order["code"] == "482913"
    assert events["message.received"]["message"]["order_id"] == order["id"]
    # Delivered once: nothing more to send.
    assert send_webhooks(clean_db, hook_settings) == 0


def test_a_failing_receiver_is_retried_and_the_log_shows_it(  # type: ignore[no-untyped-def]
    api, receiver, hook_settings, clean_db
):
    client, headers = api
    created = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "events": ["order.completed"]},
        headers=headers,
    ).get_json()
    order = client.post("/api/v1/orders", json={"service": "discord"}, headers=headers).get_json()
    from tests.web.webutil import deliver

    deliver(clean_db, mail_bytes(order["email"]), order["email"])
    receiver.statuses = [503]
    assert send_webhooks(clean_db, hook_settings) == 1
    log = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=headers).get_json()
    assert len(log) == 1
    assert log[0]["status"] == "pending" and log[0]["attempts"] == 1
    assert log[0]["last_status_code"] == 503 and log[0]["next_attempt_at"]
    assert send_webhooks(clean_db, hook_settings) == 0  # backing off
    # Make the retry due now, as the clock would after the backoff.
    from sqlalchemy import update

    with clean_db.transaction() as session:
        session.execute(update(webhooks.WebhookDelivery).values(next_attempt_at=webhooks.utcnow()))
    assert send_webhooks(clean_db, hook_settings) == 1
    log = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=headers).get_json()
    assert log[0]["status"] == "delivered" and log[0]["attempts"] == 2
    first, second = (json.loads(body) for _, body in receiver.requests)
    assert first["id"] == second["id"]  # the same event id on every retry: receivers dedupe


def test_deliveries_survive_a_restart(api, receiver, hook_settings, clean_db):  # type: ignore[no-untyped-def]
    """The queue is in the database: a fresh Database (a restarted worker) sends it."""
    from models.db import Database
    from tests.web.webutil import deliver

    client, headers = api
    client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers)
    order = client.post("/api/v1/orders", json={"service": "discord"}, headers=headers).get_json()
    deliver(clean_db, mail_bytes(order["email"]), order["email"])
    restarted = Database(hook_settings.database_url)
    try:
        assert send_webhooks(restarted, hook_settings) == 2
    finally:
        restarted.dispose()
    assert len(receiver.requests) == 2


def test_the_delivery_log_is_visible_in_the_browser(  # type: ignore[no-untyped-def]
    hook_app, receiver, hook_settings, clean_db
):
    from tests.web.webutil import deliver

    with clean_db.transaction() as session:
        make_catalog(session)
        users.create_user(session, "hooks@example.com", "correct horse", credit=1000)
        other = make_user(session)
        hidden = webhooks.create_endpoint(session, other, receiver.url, allow_private=True)
        session.flush()
        hidden_id = hidden.id
    hook_app.config["WTF_CSRF_ENABLED"] = False
    client = hook_app.test_client()
    client.post("/login", data={"email": "hooks@example.com", "password": "correct horse"})
    client.post("/settings/webhooks", data={"url": receiver.url})
    with clean_db.read() as session:
        mine = session.query(webhooks.WebhookEndpoint).filter_by(url=receiver.url)
        endpoint_id = mine.order_by(webhooks.WebhookEndpoint.id.desc()).first().id
    listing = client.get("/settings/webhooks").get_data(as_text=True)
    assert f"/settings/webhooks/{endpoint_id}" in listing
    with clean_db.transaction() as session:
        from models import orders

        buyer = users.get_user(session, "hooks@example.com")
        order = orders.purchase(session, buyer, "any")
        email = order.email
    deliver(clean_db, mail_bytes(email), email)
    receiver.statuses = [500]
    assert send_webhooks(clean_db, hook_settings) == 2  # order.completed + message.received
    page = client.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "order.completed" in page and "message.received" in page
    assert "HTTP 500" in page and "pending" in page and "delivered" in page
    assert client.get(f"/settings/webhooks/{hidden_id}").status_code == 404  # not yours
    assert client.get(f"/settings/webhooks/{10**20}").status_code == 404

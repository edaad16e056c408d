"""Long-poll over real HTTP through the async front end (uvicorn + web/asgi.py) and the
threaded fallback; the notifier's per-channel wake-ups."""

from __future__ import annotations

import json
import smtplib
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from models import users
from models.notify import LocalNotifier
from tests.factories import mail_bytes, make_catalog, make_user


class LiveServer:
    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        import uvicorn

        from tests.conftest import free_port
        from web.asgi import create_asgi_app

        self.asgi = create_asgi_app(app, threads=8)
        self.port = free_port()
        config = uvicorn.Config(
            self.asgi, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.05)
        assert self.server.started

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture
def key(clean_db) -> str:  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        make_catalog(session)
        _, secret = users.create_api_key(session, make_user(session, credit=1000))
    return secret


def call(live: LiveServer, key: str, path: str, method: str = "GET", body=None):  # type: ignore[no-untyped-def]
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        live.url(path),
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), dict(exc.headers)


def send(settings, email: str, code: str = "482913") -> None:  # type: ignore[no-untyped-def]
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port) as smtp:
        smtp.sendmail(
            "noreply@discord.com", [email], mail_bytes(email, body=f"Your code is {code}")
        )


def test_a_waiter_is_answered_when_the_code_arrives(live, key, smtp_server, settings):  # type: ignore[no-untyped-def]
    _, order, _ = call(live, key, "/api/v1/orders", "POST", {"service": "any"})
    result = {}

    def wait() -> None:
        result["answer"] = call(live, key, f"/api/v1/orders/{order['id']}/wait?timeout=30")
        result["at"] = time.monotonic()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive()  # parked, not answered
    send(settings, order["email"])
    sent = time.monotonic()
    waiter.join(30)
    status, body, _ = result["answer"]
    assert status == 200 and body["status"] == "completed" and body["code"] == "482913"
    assert result["at"] - sent < 25  # answered by the delivery, not by the 30 s timeout


def test_a_lost_notification_is_caught_by_the_recheck(live, key, clean_db, app):  # type: ignore[no-untyped-def]
    """Deliver straight into the database with no publish: the re-check still answers."""
    from tests.web.webutil import deliver

    _, order, _ = call(live, key, "/api/v1/orders", "POST", {"service": "any"})
    timer = threading.Timer(0.3, deliver, (clean_db, mail_bytes(order["email"]), order["email"]))
    timer.start()
    started = time.monotonic()
    status, body, _ = call(live, key, f"/api/v1/orders/{order['id']}/wait?timeout=20")
    assert status == 200 and body["status"] == "completed"
    assert time.monotonic() - started < 15  # answered, not timed out (20 s)


def test_timeouts_errors_and_rate_limit_go_through_flask(live, key, settings):  # type: ignore[no-untyped-def]
    _, order, _ = call(live, key, "/api/v1/orders", "POST", {"service": "any"})
    started = time.monotonic()
    status, body, _ = call(live, key, f"/api/v1/orders/{order['id']}/wait?timeout=1")
    assert status == 200 and body["status"] == "waiting"
    assert time.monotonic() - started >= 0.9  # held for the timeout it asked for
    assert call(live, key, f"/api/v1/orders/{order['id']}/wait?timeout=999")[0] == 400
    assert call(live, key, "/api/v1/orders/999999/wait?timeout=1")[0] == 404
    assert call(live, "oib_wrong", f"/api/v1/orders/{order['id']}/wait")[0] == 401
    status, body, _ = call(live, key, f"/api/v1/orders/{order['id']}/wait?timeout=0")
    assert status == 200 and body["status"] == "waiting"


def test_many_waiters_hold_no_threads(live, key, smtp_server, settings, clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        user = users.user_for_api_key(session, key)
        from models import orders as orders_module

        bought = [orders_module.purchase(session, user, "any") for _ in range(5)]
        emails = {str(o.id): o.email for o in bought}
    before = threading.active_count()
    results: dict[str, tuple] = {}
    clients = [
        threading.Thread(
            target=lambda oid=oid: results.__setitem__(
                oid, call(live, key, f"/api/v1/orders/{oid}/wait?timeout=30")
            )
        )
        for oid in emails
    ]
    for client in clients:
        client.start()
    time.sleep(0.5)
    # Parked as asyncio events on the server's loop, none holding a thread of the pool.
    assert sorted(live.asgi.waiting) == sorted(int(oid) for oid in emails)
    assert threading.active_count() - before < len(clients) + 8 + 6  # clients + pools
    for email in emails.values():
        send(settings, email)
    for client in clients:
        client.join(30)
    assert {r[1]["status"] for r in results.values()} == {"completed"}


def test_the_notifier_wakes_only_the_channel_published():
    notifier = LocalNotifier()
    woken: list[str] = []
    notifier.subscribe("order:1", woken.append)
    notifier.subscribe("order:2", woken.append)
    notifier.publish(["order:1"])
    assert woken == ["order:1"] and notifier.version("order:1") == 1
    notifier.unsubscribe("order:1", woken.append)
    notifier.publish(["order:1", "order:2"])
    assert woken == ["order:1", "order:2"]
    start = time.monotonic()
    assert notifier.wait("order:3", 0, 0.05) == 0 and time.monotonic() - start >= 0.04
    threading.Timer(0.05, notifier.publish, (["order:3"],)).start()
    assert notifier.wait("order:3", 0, 10) == 1

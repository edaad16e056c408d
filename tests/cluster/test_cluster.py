"""Two SMTP daemons, two web servers and two workers as real processes, one PostgreSQL,
one Redis: orders go in on one node and come out on another.

- buy on web A, mail via SMTP B, a long-poll parked on web B wakes (Redis carried the
  notification from the SMTP process: the test listens on Redis too);
- every order bought on one web node and mailed through either SMTP node is read back
  completed on the other web node, with its code;
- a batch of orders all past their deadline at once, swept by two workers racing each
  other: each is expired and refunded exactly once;
- webhooks: one event per completed order, sent by whichever worker claimed it, never
  by both;
- `otpinbox ledger check` (books and order trails) passes; every node's metrics agree.

Skipped only when PostgreSQL or Redis cannot be reached (with the reason).
"""

from __future__ import annotations

import json
import smtplib
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select, update

from models import ledger, orders
from models.base import utcnow
from models.db import Database
from tests.cluster.harness import Cluster, api, mail, redis_url, running_cluster, seed, unreachable

pytestmark = pytest.mark.slow

PRICE = 100
CREDIT = 1_000_000
EXPIRY_BATCH = 30


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    reason = unreachable()
    if reason:
        pytest.skip(reason)
    with running_cluster(smtp=2, web=2, workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def customer(cluster: Cluster) -> tuple[int, str]:
    return seed(cluster.database_url, credit=CREDIT, price=PRICE)


@pytest.fixture(scope="module")
def database(cluster: Cluster) -> Iterator[Database]:
    db = Database(cluster.database_url)
    yield db
    db.dispose()


class Receiver(BaseHTTPRequestHandler):
    """Collects webhook bodies."""

    received: list[dict] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.lock:
            self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _send(node_port: int, to: str, token: str) -> None:
    with smtplib.SMTP("127.0.0.1", node_port, timeout=30) as client:
        refused = client.sendmail("noreply@discord.com", [to], mail(to, token))
    assert refused == {}


def _until(predicate, timeout: float = 30, step: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def _settlements(db: Database, order_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(ledger.LedgerTransaction.kind).where(
                    ledger.LedgerTransaction.key == f"settle:{order_id}"
                )
            )
        )


def test_long_poll_on_web_b_wakes_for_mail_via_smtp_b_after_buying_on_web_a(
    cluster: Cluster, customer: tuple[int, str], receiver: str
) -> None:
    import redis

    web_a, web_b = cluster.web
    _, key = customer
    status, hook = api(web_a.url, "POST", "/webhooks", key, {"url": receiver})
    assert status == 201, hook
    status, order = api(web_a.url, "POST", "/orders", key, {"service": "any"})
    assert status == 201, order

    # The test listens on Redis like a web process does: the SMTP process must publish there.
    listener = redis.Redis.from_url(redis_url()).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(f"otpinbox:order:{order['id']}")
    answer: dict = {}
    poll = threading.Thread(
        target=lambda: answer.update(
            zip(
                ("status", "body"),
                api(web_b.url, "GET", f"/orders/{order['id']}/wait?timeout=30", key, timeout=60),
                strict=True,
            )
        )
    )
    poll.start()
    time.sleep(0.5)  # let the long-poll park on web B first (if not, it answers at once)
    _send(cluster.smtp[1].port, order["email"], "wake-1")
    poll.join(60)
    assert answer["status"] == 200
    assert answer["body"]["status"] == "completed"
    assert answer["body"]["code"] == "482913"
    published = _until(lambda: listener.get_message(timeout=0.5), timeout=10)
    listener.close()
    assert published is not None and published["type"] == "message"


def test_orders_flow_through_every_node(
    cluster: Cluster, customer: tuple[int, str], database: Database
) -> None:
    _, key = customer
    bought = []
    for i in range(8):
        status, order = api(cluster.web[i % 2].url, "POST", "/orders", key, {"service": "any"})
        assert status == 201, order
        bought.append(order)
    for i, order in enumerate(bought):
        _send(cluster.smtp[i % 2].port, order["email"], f"flow-{i}")
    for i, order in enumerate(bought):
        status, seen = api(cluster.web[(i + 1) % 2].url, "GET", f"/orders/{order['id']}", key)
        assert status == 200
        assert (seen["status"], seen["code"], seen["refunded"]) == ("completed", "482913", False)
        assert _settlements(database, int(order["id"])) == ["settle"]

    # A cancel on the other node refunds once; a second cancel changes nothing.
    status, order = api(cluster.web[0].url, "POST", "/orders", key, {"service": "any"})
    assert status == 201
    for web in cluster.web:
        status, canceled = api(web.url, "POST", f"/orders/{order['id']}/cancel", key)
        assert status in (200, 409), canceled
    status, seen = api(cluster.web[0].url, "GET", f"/orders/{order['id']}", key)
    assert (seen["status"], seen["refunded"]) == ("canceled", True)
    assert _settlements(database, int(order["id"])) == ["cancel_refund"]


def test_two_workers_expire_each_order_exactly_once(
    cluster: Cluster, customer: tuple[int, str], database: Database
) -> None:
    _, key = customer
    ids = []
    for i in range(EXPIRY_BATCH):
        status, order = api(cluster.web[i % 2].url, "POST", "/orders", key, {"service": "any"})
        assert status == 201, order
        ids.append(int(order["id"]))
    # Time travel: the whole batch falls due at the same instant, so both workers race.
    with database.transaction() as session:
        session.execute(
            update(orders.Order)
            .where(orders.Order.id.in_(ids))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    def all_expired() -> bool:
        with database.read() as session:
            return not session.scalar(
                select(func.count())
                .select_from(orders.Order)
                .where(orders.Order.id.in_(ids), orders.Order.status == orders.WAITING)
            )

    assert _until(all_expired, timeout=30), "the workers left orders waiting past expiry"
    for order_id in ids:
        assert _settlements(database, order_id) == ["expiry_refund"]
    with database.read() as session:
        found = session.execute(
            select(orders.Order.status, orders.Order.refunded).where(orders.Order.id.in_(ids))
        ).all()
    assert set(found) == {("expired", PRICE)}
    by_worker = [w.metric("otpinbox_worker_expired_orders_total") for w in cluster.workers]
    assert sum(by_worker) == EXPIRY_BATCH, by_worker
    assert all(w.metric("otpinbox_worker_ticks_total", outcome="ok") > 0 for w in cluster.workers)

    # Dead addresses are refused at RCPT on every SMTP node.
    with database.read() as session:
        dead = session.get(orders.Order, ids[0]).email
    for node in cluster.smtp:
        with smtplib.SMTP("127.0.0.1", node.port, timeout=30) as client:
            client.ehlo()
            client.mail("noreply@discord.com")
            assert client.rcpt(dead)[0] == 550


def test_webhooks_once_per_event_and_the_books_balance(
    cluster: Cluster, customer: tuple[int, str], database: Database
) -> None:
    user_id, key = customer
    with database.read() as session:
        completed = set(
            session.scalars(
                select(orders.Order.id).where(
                    orders.Order.user_id == user_id, orders.Order.status == orders.COMPLETED
                )
            )
        )
    assert len(completed) == 9

    def completed_events() -> list[dict]:
        with Receiver.lock:
            return [e for e in Receiver.received if e["event"] == "order.completed"]

    _until(lambda: len(completed_events()) >= len(completed), timeout=30)
    events = completed_events()
    assert sorted(int(e["order"]["id"]) for e in events) == sorted(completed)
    with Receiver.lock:
        ids = [e["id"] for e in Receiver.received]
    assert len(ids) == len(set(ids)), "an event was delivered twice"

    status, me = api(cluster.web[1].url, "GET", "/me", key)
    assert status == 200
    assert me["balance"] == CREDIT - PRICE * len(completed)

    result = cluster.cli("ledger", "check")
    assert result.returncode == 0, result.stderr
    assert "ledger ok" in result.stdout
    assert sum(n.metric("otpinbox_smtp_accepted_messages_total") for n in cluster.smtp) == 9
    for web in cluster.web:
        assert web.metric("otpinbox_http_requests_total") > 0

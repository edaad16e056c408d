"""How fast the inbox and message pages answer with 100,000 stored messages.

Usage: .venv/bin/python bench/web_pages.py [--messages 100000] [--requests 200] [--url DB_URL]

Seeds a fresh database (SQLite file in a temp folder unless --url names an empty one):
one customer with 1,000 activations and one rental whose address holds most of the
messages (the worst case for its order page), then times each page through the Flask
test client (no network, one thread) and prints p50/p95/max in milliseconds, next to
``/healthz`` measured in the same run as the reference for "the framework alone".
The goal from the issue: inbox and message pages at or under 50 ms p95.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

import models  # noqa: E402
from config import Settings  # noqa: E402
from models import catalog, orders, users  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.db import Database  # noqa: E402
from models.mail import Message, RawMessage  # noqa: E402

PASSWORD = "bench password 1"
HTML = "<p>Hello,</p><p>Your verification code is <b>{code}</b>.</p>" + "<p>filler text</p>" * 40


def seed(db: Database, total: int) -> tuple[int, int, int]:
    """Returns (rental order id, an activation order id, a message id in the middle)."""
    with db.transaction() as session:
        catalog.add_domain(session, "otpinbox.test")
        catalog.add_service(session, "any", price=1, window_minutes=20)
        user = users.create_user(session, "bench@example.com", PASSWORD, credit=10_000_000)
        rental = orders.purchase(session, user, "any", kind=orders.RENTAL, days=30)
        activations = [orders.purchase(session, user, "any") for _ in range(1000)]
        targets = [(rental.id, rental.address_id)] + [(o.id, o.address_id) for o in activations]
    start = utcnow() - timedelta(days=1)
    batch = 5000
    with db.transaction() as session:
        for first in range(0, total, batch):
            count = min(batch, total - first)
            raws = (
                session.execute(
                    insert(RawMessage).returning(RawMessage.id),
                    [
                        {
                            "mail_from": "a@b.c",
                            "peer": "",
                            "size": 900,
                            "data": b"x" * 900,
                            "received_at": start,
                        }
                        for _ in range(count)
                    ],
                )
                .scalars()
                .all()
            )
            rows = []
            for n, raw_id in enumerate(raws):
                index = first + n
                # Nine in ten go to the rental; the rest spread over the activations.
                order_id, address_id = targets[0] if index % 10 else targets[1 + index % 1000]
                rows.append({
                    "raw_id": raw_id, "address_id": address_id, "order_id": order_id,
                    "rcpt_to": "x@otpinbox.test", "mail_from": "noreply@service.example",
                    "from_header": "Service <noreply@service.example>", "to_header": "",
                    "subject": f"Your code {index}", "message_id_header": f"<{index}@b>",
                    "text": f"Your verification code is {index:06d}.",
                    "html": HTML.format(code=f"{index:06d}"), "headers": "Subject: x",
                    "code": f"{index:06d}", "matched": True, "size": 900,
                    "received_at": start + timedelta(seconds=index),
                })  # fmt: skip
            session.execute(insert(Message), rows)
    with db.read() as session:
        from sqlalchemy import func, select

        middle = session.scalar(
            select(func.min(Message.id)).where(Message.order_id == targets[0][0])
        )
    return targets[0][0], targets[1][0], int(middle or 1) + total // 2


def timed(client, url: str, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="otpinbox-bench-")
    url = args.url or f"sqlite:///{folder}/bench.db"
    db = Database(url)
    models.Base.metadata.create_all(db.engine)
    t0 = time.perf_counter()
    rental_id, activation_id, message_id = seed(db, args.messages)
    print(f"seeded {args.messages} messages in {time.perf_counter() - t0:.1f} s ({url})")

    from web import create_app

    settings = Settings.from_env({}, database_url=url, data_dir=folder, secret_key="bench")
    app = create_app(settings, db=db)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
    pages = {
        "reference /healthz": "/healthz",
        "inbox /orders": "/orders",
        "rental page (90k msgs), newest": f"/orders/{rental_id}",
        "rental page, deep keyset page": f"/orders/{rental_id}?before={message_id}",
        "activation page": f"/orders/{activation_id}",
        "status poll": f"/orders/{rental_id}/status",
        "message page": f"/messages/{message_id}",
        "message body (sanitised)": f"/messages/{message_id}/body",
    }
    print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, path in pages.items():
        timed(client, path, 5)  # warm caches
        samples = sorted(timed(client, path, args.requests))
        p95 = samples[int(len(samples) * 0.95) - 1]
        print(f"{name:34} {statistics.median(samples):8.2f} {p95:8.2f} {samples[-1]:8.2f}")
    db.dispose()


if __name__ == "__main__":
    main()

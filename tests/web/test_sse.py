"""Server-Sent Events over real HTTP (uvicorn + web/asgi.py) and through the WSGI fallback."""

# ruff: noqa: F811  (the live-server fixtures are imported from test_wait_async)

from __future__ import annotations

import http.client
import json
import threading
import time

from tests.web.test_wait_async import call, key, live, send  # noqa: F401  (fixtures)


def read_events(port: int, token: str, path: str, count: int, seconds: float = 15) -> list:
    """Open a stream, collect ``count`` events (name, data), then hang up."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/event-stream")
    events, name = [], None
    deadline = time.monotonic() + seconds
    while len(events) < count and time.monotonic() < deadline:
        try:
            line = response.fp.readline().decode().rstrip("\n")
        except TimeoutError:
            break  # fewer events than asked for: the caller's assertions say what is missing
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name:
            events.append((name, json.loads(line[6:])))
            name = None
    conn.close()
    return events


def test_an_order_stream_pushes_the_completion_and_the_message(live, key, smtp_server, settings):  # type: ignore[no-untyped-def]
    _, order, _ = call(live, key, "/api/v1/orders", "POST", {"service": "any"})
    got: list = []
    reader = threading.Thread(
        target=lambda: got.extend(
            read_events(live.port, key, f"/api/v1/orders/{order['id']}/events", 3)
        )
    )
    reader.start()
    time.sleep(0.5)
    send(settings, order["email"])
    reader.join(20)
    names = [name for name, _ in got]
    assert names[0] == "order" and got[0][1]["status"] == "waiting"
    assert "message" in names and got[names.index("message")][1]["code"] == "482913"
    completed = [data for name, data in got[1:] if name == "order"]
    assert completed and completed[-1]["status"] == "completed"


def test_the_account_stream_reports_changes_only(live, key, smtp_server, settings):  # type: ignore[no-untyped-def]
    _, old, _ = call(live, key, "/api/v1/orders", "POST", {"service": "any"})
    got: list = []
    reader = threading.Thread(
        target=lambda: got.extend(read_events(live.port, key, "/api/v1/events", 1))
    )
    reader.start()
    time.sleep(0.5)
    call(live, key, f"/api/v1/orders/{old['id']}/cancel", "POST")
    reader.join(20)
    assert [name for name, _ in got][:1] == ["order"]
    assert got[0][1]["id"] == old["id"] and got[0][1]["status"] == "canceled"


def test_streams_of_other_accounts_orders_are_404(live, key, clean_db):  # type: ignore[no-untyped-def]
    assert call(live, key, "/api/v1/orders/999999/events")[0] == 404
    assert call(live, "oib_nope", "/api/v1/events")[0] == 401


def test_the_wsgi_fallback_streams_too(client, clean_db, smtp_server, settings):  # type: ignore[no-untyped-def]
    from models import users
    from tests.factories import make_catalog, make_user

    with clean_db.transaction() as session:
        make_catalog(session)
        _, token = users.create_api_key(session, make_user(session))
    headers = {"Authorization": f"Bearer {token}"}
    order = client.post("/api/v1/orders", json={"service": "any"}, headers=headers).get_json()
    response = client.get(f"/api/v1/orders/{order['id']}/events", headers=headers, buffered=False)
    assert response.status_code == 200
    stream = response.response
    assert next(iter(stream)).startswith(b": stream open")
    first = next(iter(stream))
    assert b"event: order" in first and b'"status":"waiting"' in first
    sender = threading.Timer(0.2, send, (settings, order["email"]))
    sender.start()
    seen = b""
    for chunk in stream:
        seen += chunk
        if b'"status":"completed"' in seen and b"event: message" in seen:
            break
    assert b'"code":"482913"' in seen
    response.close()
    sender.join(30)  # the stream can see the commit before the sender reads its 250

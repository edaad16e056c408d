"""REST API v1 through the Flask test client: auth, errors, orders, messages, idempotency."""

from __future__ import annotations

import threading

import pytest

from models import ledger, mail, users
from models.mail import InboundMessage
from tests.factories import make_catalog, make_user


@pytest.fixture
def account(clean_db):  # type: ignore[no-untyped-def]
    """A customer with 1000 in the wallet and an API key; returns (user id, headers)."""
    with clean_db.transaction() as session:
        make_catalog(session)
        user = make_user(session, credit=1000, email="buyer@example.com")
        _, key = users.create_api_key(session, user)
        return user.id, {"Authorization": f"Bearer {key}"}


def deliver(db, email: str, code: str = "482913") -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        mail.deliver(
            session,
            InboundMessage(
                raw=f"Subject: code\r\n\r\nYour code {code}".encode(),
                mail_from="noreply@discord.com",
                rcpt_tos=(email,),
                subject="code",
                text=f"Your code {code}",
                html=f"<p onclick='x()'>Your code <b>{code}</b><script>alert(1)</script></p>",
                code=code,
            ),
        )


def buy(client, headers, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/orders", json={"service": "any", **body}, headers=headers)


def test_requests_without_a_valid_key_get_401_json(client, account):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_services_domains(client, account):
    _, headers = account
    assert client.get("/api/v1/me", headers=headers).json == {
        "email": "buyer@example.com",
        "balance": 1000,
        "currency": "USD",
    }
    services = client.get("/api/v1/services", headers=headers).json
    assert {s["name"]: (s["price"], s["window_minutes"]) for s in services} == {
        "any": (100, 20),
        "discord": (150, 20),
    }
    assert client.get("/api/v1/domains", headers=headers).json == [{"domain": "otpinbox.test"}]


def test_buy_then_read_the_order(client, account):
    _, headers = account
    created = buy(client, headers)
    assert created.status_code == 201
    order = created.json
    assert set(order) >= {
        "id", "kind", "service", "email", "status", "price", "refunded", "code", "link",
        "created_at", "expires_at", "completed_at",
    }  # fmt: skip
    assert order["status"] == "waiting" and order["kind"] == "activation" and order["price"] == 100
    assert order["refunded"] is False and isinstance(order["id"], str)
    assert created.headers["Location"].endswith(f"/api/v1/orders/{order['id']}")
    assert client.get(f"/api/v1/orders/{order['id']}", headers=headers).json == order
    assert client.get("/api/v1/me", headers=headers).json["balance"] == 900


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"service": "nope"}, 404, "unknown_service"),
        ({"service": "any", "domain": "x.test"}, 404, "unknown_domain"),
        ({"service": "any", "kind": "rental"}, 400, "invalid_input"),
        ({"service": "any", "kind": "rental", "days": "3"}, 400, "invalid_input"),
        ({"service": "any", "regex": "("}, 400, "invalid_input"),
        ({}, 400, "invalid_input"),
        ({"service": 5}, 400, "invalid_input"),
    ],
)
def test_bad_orders_get_clear_errors(client, account, body, status, code):
    _, headers = account
    response = client.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == status
    assert response.json["error"]["code"] == code and response.json["error"]["message"]
    assert client.get("/api/v1/me", headers=headers).json["balance"] == 1000


def test_non_json_body_is_a_400(client, account):
    _, headers = account
    response = client.post(
        "/api/v1/orders", data="service=any", headers={**headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 400


def test_insufficient_funds_is_402_and_nothing_changes(client, account):
    _, headers = account
    for _ in range(10):
        assert buy(client, headers).status_code == 201
    response = buy(client, headers)
    assert response.status_code == 402 and response.json["error"]["code"] == "insufficient_funds"
    assert len(client.get("/api/v1/orders", headers=headers).json) == 10


def test_suspended_account_gets_403(client, account, clean_db):
    user_id, headers = account
    with clean_db.transaction() as session:
        session.get(users.User, user_id).is_suspended = True
    assert client.get("/api/v1/me", headers=headers).status_code == 403


def test_revoked_key_is_refused(client, account, clean_db):
    user_id, headers = account
    with clean_db.transaction() as session:
        user = session.get(users.User, user_id)
        for key in users.list_api_keys(session, user):
            users.revoke_api_key(session, user, key.id)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_keys_are_stored_hashed(account, clean_db):
    _, headers = account
    secret = headers["Authorization"].split()[1]
    with clean_db.read() as session:
        stored = session.query(users.ApiKey).one()
        assert secret not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64


def test_cancel_refunds_and_completed_orders_are_not_refunded(client, account, clean_db):
    _, headers = account
    first = buy(client, headers).json
    canceled = client.post(f"/api/v1/orders/{first['id']}/cancel", headers=headers)
    assert canceled.status_code == 200 and canceled.json["status"] == "canceled"
    assert canceled.json["refunded"] is True
    again = client.post(f"/api/v1/orders/{first['id']}/cancel", headers=headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "order_not_cancellable"

    second = buy(client, headers).json
    deliver(clean_db, second["email"])
    done = client.post(f"/api/v1/orders/{second['id']}/cancel", headers=headers).json
    assert done["status"] == "completed" and done["refunded"] is False and done["code"] == "482913"
    assert client.get("/api/v1/me", headers=headers).json["balance"] == 900


def test_orders_of_another_account_are_404(client, account, clean_db):
    _, headers = account
    order = buy(client, headers).json
    with clean_db.transaction() as session:
        _, other_key = users.create_api_key(session, make_user(session))
    other = {"Authorization": f"Bearer {other_key}"}
    for method, path in [
        ("get", f"/api/v1/orders/{order['id']}"),
        ("get", f"/api/v1/orders/{order['id']}/wait?timeout=0"),
        ("get", f"/api/v1/orders/{order['id']}/messages"),
        ("post", f"/api/v1/orders/{order['id']}/cancel"),
        ("post", f"/api/v1/orders/{order['id']}/reorder"),
        ("get", "/api/v1/orders/abc"),
    ]:
        assert getattr(client, method)(path, headers=other).status_code == 404, path


def test_messages_raw_and_sanitised_html(client, account, clean_db):
    _, headers = account
    order = buy(client, headers).json
    deliver(clean_db, order["email"])
    listed = client.get(f"/api/v1/orders/{order['id']}/messages", headers=headers).json
    assert len(listed) == 1 and listed[0]["code"] == "482913"
    message = client.get(f"/api/v1/messages/{listed[0]['id']}", headers=headers).json
    assert set(message) >= {
        "id", "from", "to", "subject", "received_at", "text", "html", "code", "link", "attachments",
    }  # fmt: skip
    assert "<script" not in message["html"] and "onclick" not in message["html"]
    assert "<b>482913</b>" in message["html"]
    raw = client.get(f"/api/v1/messages/{listed[0]['id']}/raw", headers=headers)
    assert raw.mimetype == "message/rfc822" and raw.data.endswith(b"Your code 482913")


def test_reorder_after_completion(client, account, clean_db):
    _, headers = account
    order = buy(client, headers).json
    early = client.post(f"/api/v1/orders/{order['id']}/reorder", headers=headers)
    assert early.status_code == 409
    deliver(clean_db, order["email"])
    again = client.post(f"/api/v1/orders/{order['id']}/reorder", headers=headers)
    assert again.status_code == 201
    assert again.json["email"] == order["email"] and again.json["id"] != order["id"]


def test_rental_and_extension(client, account):
    _, headers = account
    rental = buy(client, headers, service="discord", kind="rental", days=2).json
    assert rental["status"] == "active" and rental["price"] == 100
    extended = client.post(
        f"/api/v1/orders/{rental['id']}/extend", json={"days": 1}, headers=headers
    )
    assert extended.status_code == 200 and extended.json["expires_at"] > rental["expires_at"]
    assert client.post(f"/api/v1/orders/{rental['id']}/cancel", headers=headers).status_code == 409


def test_order_list_is_newest_first_with_a_next_link(client, account):
    _, headers = account
    ids = [buy(client, headers).json["id"] for _ in range(3)]
    page = client.get("/api/v1/orders?limit=2", headers=headers)
    assert [o["id"] for o in page.json] == ids[::-1][:2]
    next_url = page.headers["Link"].split(";")[0].strip("<>")
    assert [o["id"] for o in client.get(next_url, headers=headers).json] == [ids[0]]
    assert client.get("/api/v1/orders?limit=0", headers=headers).status_code == 400


def test_idempotency_key_replays_and_charges_once(client, account):
    _, headers = account
    keyed = {**headers, "Idempotency-Key": "order-1"}
    first = client.post("/api/v1/orders", json={"service": "any"}, headers=keyed)
    second = client.post("/api/v1/orders", json={"service": "any"}, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert first.json == second.json and second.headers["Idempotent-Replayed"] == "true"
    assert client.get("/api/v1/me", headers=headers).json["balance"] == 900
    reused = client.post("/api/v1/orders", json={"service": "discord"}, headers=keyed)
    assert reused.status_code == 422 and reused.json["error"]["code"] == "idempotency_key_reused"


def test_a_failed_request_does_not_burn_its_idempotency_key(client, account):
    _, headers = account
    keyed = {**headers, "Idempotency-Key": "retry-me"}
    assert client.post("/api/v1/orders", json={"service": "nope"}, headers=keyed).status_code == 404
    assert client.post("/api/v1/orders", json={"service": "nope"}, headers=keyed).status_code == 404


def test_concurrent_requests_with_one_key_execute_once(app, account, clean_db):
    user_id, headers = account
    keyed = {**headers, "Idempotency-Key": "burst"}
    barrier = threading.Barrier(6)
    answers: list[tuple[int, str]] = []

    def post() -> None:
        with app.test_client() as client:
            barrier.wait()
            response = client.post("/api/v1/orders", json={"service": "any"}, headers=keyed)
            answers.append((response.status_code, (response.json or {}).get("id", "")))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert {status for status, _ in answers} == {201}
    assert len({order_id for _, order_id in answers}) == 1
    with clean_db.read() as session:
        assert ledger.balance(session, f"wallet:{user_id}") == 900


def test_wait_returns_at_once_for_a_finished_order_and_times_out_otherwise(client, account):
    _, headers = account
    order = buy(client, headers).json
    waited = client.get(f"/api/v1/orders/{order['id']}/wait?timeout=0.2", headers=headers)
    assert waited.status_code == 200 and waited.json["status"] == "waiting"
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    done = client.get(f"/api/v1/orders/{order['id']}/wait?timeout=30", headers=headers)
    assert done.json["status"] == "canceled"
    for bad in ("-1", "61", "soon"):
        response = client.get(f"/api/v1/orders/{order['id']}/wait?timeout={bad}", headers=headers)
        assert response.status_code == 400


def test_unknown_routes_and_methods_are_json(client, account):
    _, headers = account
    assert client.get("/api/v1/nothing", headers=headers).json["error"]["code"] == "not_found"
    response = client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 405 and response.json["error"]


def test_openapi_document_lists_every_route(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    for path in ("/me", "/services", "/domains", "/orders", "/orders/{order_id}/wait",
                 "/orders/{order_id}/cancel", "/orders/{order_id}/reorder",
                 "/messages/{message_id}", "/messages/{message_id}/raw"):  # fmt: skip
        assert path in document["paths"], path

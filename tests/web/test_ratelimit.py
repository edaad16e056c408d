"""API rate limits (Flask-Limiter) and abuse controls, through real requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from models import orders, users
from models.base import utcnow
from tests.factories import make_catalog, make_user


def make_client(settings, clean_db, **overrides):  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app(settings.replace(**overrides), db=clean_db)
    app.config.update(TESTING=True)
    return app.test_client()


def new_key(clean_db, *, credit: int = 10_000, user_id: int | None = None):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        user = session.get(users.User, user_id) if user_id else make_user(session, credit=credit)
        _, key = users.create_api_key(session, user)
        return user.id, {"Authorization": f"Bearer {key}"}


@pytest.fixture
def shop(clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        make_catalog(session)


def test_the_limit_is_per_account_with_429_json_and_retry_after(settings, clean_db, shop):  # type: ignore[no-untyped-def]
    client = make_client(settings, clean_db, rate_limit="5/minute")
    user_id, first_key = new_key(clean_db)
    _, second_key = new_key(clean_db, user_id=user_id)  # same account, another key
    _, stranger = new_key(clean_db)
    answers = [client.get("/api/v1/me", headers=first_key).status_code for _ in range(3)]
    answers += [client.get("/api/v1/me", headers=second_key).status_code for _ in range(2)]
    assert answers == [200] * 5
    refused = client.get("/api/v1/me", headers=second_key)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another account has its own budget.
    assert client.get("/api/v1/me", headers=stranger).status_code == 200


def test_one_budget_covers_every_api_route(settings, clean_db, shop):  # type: ignore[no-untyped-def]
    client = make_client(settings, clean_db, rate_limit="4/minute")
    _, key = new_key(clean_db)
    paths = ["/api/v1/me", "/api/v1/services", "/api/v1/domains", "/api/v1/orders"]
    assert [client.get(p, headers=key).status_code for p in paths] == [200] * 4
    assert client.get("/api/v1/me", headers=key).status_code == 429
    assert client.get("/api/v1/services", headers=key).status_code == 429


def test_unauthenticated_requests_are_limited_by_ip(settings, clean_db, shop):  # type: ignore[no-untyped-def]
    client = make_client(settings, clean_db, rate_limit="3/minute")
    codes = [client.get("/api/v1/me").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_pages_outside_the_api_are_not_limited(settings, clean_db, shop):  # type: ignore[no-untyped-def]
    client = make_client(settings, clean_db, rate_limit="2/minute")
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}


def test_the_default_is_20_per_second(settings):  # type: ignore[no-untyped-def]
    from config import Settings

    assert Settings().rate_limit == "20/second"
    assert Settings.from_env({"OTPINBOX_RATE_LIMIT": "5/second"}).rate_limit == "5/second"


def test_waiting_orders_are_capped_per_account(settings, clean_db, shop):  # type: ignore[no-untyped-def]
    client = make_client(settings, clean_db, max_waiting_orders=2)
    _, headers = new_key(clean_db)
    for _ in range(2):
        assert (
            client.post("/api/v1/orders", json={"service": "any"}, headers=headers).status_code
            == 201
        )
    refused = client.post("/api/v1/orders", json={"service": "any"}, headers=headers)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_waiting_orders"
    assert refused.headers["Retry-After"]
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["balance"] == 10_000 - 2 * 100  # the refused purchase took nothing
    first = client.get("/api/v1/orders", headers=headers).get_json()[-1]
    client.post(f"/api/v1/orders/{first['id']}/cancel", headers=headers)
    assert (
        client.post("/api/v1/orders", json={"service": "any"}, headers=headers).status_code == 201
    )


def test_accounts_that_cancel_most_orders_cool_down(settings, clean_db, shop):  # type: ignore[no-untyped-def]
    client = make_client(
        settings,
        clean_db,
        cancel_window_orders=4,
        cancel_ratio_limit=0.75,
        cancel_cooldown_minutes=10,
    )
    _, headers = new_key(clean_db)
    for _ in range(3):
        order = client.post("/api/v1/orders", json={"service": "any"}, headers=headers).get_json()
        client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    # Three of three canceled, but the sample is not full yet: buying still works.
    order = client.post("/api/v1/orders", json={"service": "any"}, headers=headers).get_json()
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    refused = client.post("/api/v1/orders", json={"service": "any"}, headers=headers)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "cancel_cooldown"
    assert 9 * 60 < int(refused.headers["Retry-After"]) <= 10 * 60 + 1
    # Reorder is a purchase too.
    assert client.post(f"/api/v1/orders/{order['id']}/reorder", headers=headers).status_code == 429
    # Once the cooldown has passed (move the cancels back in time), buying works again.
    with clean_db.transaction() as session:
        session.execute(update(orders.Order).values(finished_at=utcnow() - timedelta(minutes=11)))
    assert (
        client.post("/api/v1/orders", json={"service": "any"}, headers=headers).status_code == 201
    )


def test_suspended_accounts_get_403_everywhere_in_the_api(settings, clean_db, shop):  # type: ignore[no-untyped-def]
    client = make_client(settings, clean_db)
    user_id, headers = new_key(clean_db)
    order = client.post("/api/v1/orders", json={"service": "any"}, headers=headers).get_json()
    with clean_db.transaction() as session:
        session.execute(
            update(users.User).where(users.User.id == user_id).values(is_suspended=True)
        )
    for method, path in [
        ("get", "/api/v1/me"),
        ("get", "/api/v1/orders"),
        ("get", f"/api/v1/orders/{order['id']}"),
        ("get", f"/api/v1/orders/{order['id']}/wait?timeout=0"),
        ("post", f"/api/v1/orders/{order['id']}/cancel"),
        ("post", "/api/v1/orders"),
        ("get", "/api/v1/webhooks"),
    ]:
        answer = getattr(client, method)(
            path, headers=headers, json={"service": "any"} if method == "post" else None
        )
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert answer.get_json()["error"]["code"] == "account_suspended"


def test_workers_share_the_budget_through_redis(settings, clean_db, shop):  # type: ignore[no-untyped-def]
    """Two apps (two gunicorn workers) on one Redis count together."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        conn = redis.Redis.from_url(url)
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    for stale in conn.scan_iter("LIMITS*otpinbox*"):  # earlier runs reuse user ids
        conn.delete(stale)
    first = make_client(settings, clean_db, rate_limit="4/minute", redis_url=url)
    second = make_client(settings, clean_db, rate_limit="4/minute", redis_url=url)
    _, headers = new_key(clean_db)
    codes = [c.get("/api/v1/me", headers=headers).status_code for c in (first, second) * 2]
    assert codes == [200] * 4
    assert second.get("/api/v1/me", headers=headers).status_code == 429
    assert first.get("/api/v1/me", headers=headers).status_code == 429

"""Reseller API over the app: sub-accounts, funding, markup prices, orders, spending, suspension."""

from __future__ import annotations

from models import resellers, users
from tests.web.webutil import make_account, seed_catalog


def _key(db, account_id: int) -> str:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return users.create_api_key(s, s.get(users.User, account_id))[1]


def _reseller(db):  # type: ignore[no-untyped-def]
    admin = make_account(db, admin=True, credit=0)
    seller = make_account(db, credit=5000)
    with db.transaction() as s:
        resellers.set_reseller(s, s.get(users.User, admin.id), seller.id, True)
    return admin, seller, {"Authorization": f"Bearer {_key(db, seller.id)}"}


def test_plain_accounts_are_told_they_are_not_resellers(client, clean_db):
    seed_catalog(clean_db)
    plain = make_account(clean_db)
    r = client.get(
        "/api/v1/reseller/sub-accounts",
        headers={"Authorization": f"Bearer {_key(clean_db, plain.id)}"},
    )
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_a_reseller"


def test_reseller_runs_a_customer_end_to_end(client, clean_db):
    seed_catalog(clean_db)
    _, _, auth = _reseller(clean_db)
    r = client.post(
        "/api/v1/reseller/sub-accounts", json={"email": "cust@example.com"}, headers=auth
    )
    assert r.status_code == 201, r.text
    sub_id = r.get_json()["id"]

    funded = client.post(
        f"/api/v1/reseller/sub-accounts/{sub_id}/fund",
        json={"amount": 1000},
        headers={**auth, "Idempotency-Key": "fund-1"},
    )
    again = client.post(
        f"/api/v1/reseller/sub-accounts/{sub_id}/fund",
        json={"amount": 1000},
        headers={**auth, "Idempotency-Key": "fund-1"},
    )
    assert funded.get_json()["balance"] == 1000 and again.get_json()["balance"] == 1000

    price = client.put("/api/v1/reseller/prices/any", json={"markup": 50}, headers=auth)
    assert price.get_json()["price"] == 150

    key = client.post(f"/api/v1/reseller/sub-accounts/{sub_id}/api-keys", json={}, headers=auth)
    sub_auth = {"Authorization": f"Bearer {key.get_json()['key']}"}
    order = client.post("/api/v1/orders", json={"service": "any"}, headers=sub_auth)
    assert order.status_code == 201 and order.get_json()["price"] == 150

    listed = client.get("/api/v1/reseller/orders", headers=auth).get_json()
    assert listed[0]["sub_account"] == sub_id and listed[0]["order"]["price"] == 150
    (spent,) = client.get("/api/v1/reseller/spending", headers=auth).get_json()
    assert (spent["orders"], spent["spent"], spent["balance"]) == (1, 150, 850)

    client.post(f"/api/v1/reseller/sub-accounts/{sub_id}/suspend", headers=auth)
    blocked = client.post("/api/v1/orders", json={"service": "any"}, headers=sub_auth)
    assert blocked.status_code == 403


def test_suspending_the_reseller_locks_out_its_customers_api_keys(client, clean_db):
    seed_catalog(clean_db)
    admin, seller, auth = _reseller(clean_db)
    sub_id = client.post(
        "/api/v1/reseller/sub-accounts", json={"email": "c2@example.com"}, headers=auth
    ).get_json()["id"]
    sub_key = client.post(f"/api/v1/reseller/sub-accounts/{sub_id}/api-keys", headers=auth)
    sub_auth = {"Authorization": f"Bearer {sub_key.get_json()['key']}"}
    assert client.get("/api/v1/me", headers=sub_auth).status_code == 200
    with clean_db.transaction() as s:
        from models import admin_ops

        admin_ops.set_suspended(s, s.get(users.User, admin.id), seller.id, True, "chargebacks")
    r = client.get("/api/v1/me", headers=sub_auth)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "account_suspended"


def test_another_resellers_customer_is_not_found(client, clean_db):
    seed_catalog(clean_db)
    _, _, auth = _reseller(clean_db)
    _, _, other_auth = _reseller(clean_db)
    sub_id = client.post(
        "/api/v1/reseller/sub-accounts", json={"email": "c3@example.com"}, headers=auth
    ).get_json()["id"]
    r = client.post(
        f"/api/v1/reseller/sub-accounts/{sub_id}/fund", json={"amount": 1}, headers=other_auth
    )
    assert r.status_code == 404
    assert (
        client.get(f"/api/v1/reseller/sub-accounts/{sub_id}", headers=other_auth).status_code == 404
    )

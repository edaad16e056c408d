"""mail.tm protocol details: Hydra vs plain JSON, error bodies, paging, scoping, the off switch."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import ledger, orders
from tests.factories import make_catalog, make_user
from tests.web.test_api import deliver

OWNER = "freetier@example.com"
PASSWORD = "s3cret-mailbox-pass"
BASE = "/compat/mailtm"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.replace(mailtm_owner=OWNER, mailtm_rate_limit="10000/second")


@pytest.fixture
def owner_id(clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        make_catalog(session)
        return make_user(session, credit=0, email=OWNER).id


def account(client, local: str = "bob") -> tuple[str, str, dict]:  # type: ignore[no-untyped-def]
    address = f"{local}@otpinbox.test"
    created = client.post(f"{BASE}/accounts", json={"address": address, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = client.post(f"{BASE}/token", json={"address": address, "password": PASSWORD})
    assert token.status_code == 200 and set(token.get_json()) == {"id", "token"}
    return address, token.get_json()["id"], {"Authorization": f"Bearer {token.get_json()['token']}"}


def test_hydra_by_default_and_plain_json_on_request(client, owner_id):  # type: ignore[no-untyped-def]
    hydra = client.get(f"{BASE}/domains")
    assert hydra.mimetype == "application/ld+json"
    body = hydra.get_json(force=True)
    assert body["hydra:totalItems"] == 1 and "hydra:view" not in body
    [member] = body["hydra:member"]
    assert member["@id"] == f"/domains/{member['id']}" and member["isPrivate"] is False
    plain = client.get(f"{BASE}/domains", headers={"Accept": "application/json"})
    assert plain.mimetype == "application/json"
    assert plain.get_json() == [{k: v for k, v in member.items() if not k.startswith("@")}]
    one = client.get(f"{BASE}/domains/{member['id']}").get_json(force=True)
    assert one["domain"] == "otpinbox.test" and one["@context"] == "/contexts/Domain"


def test_account_fields_are_exactly_the_documented_ones(client, owner_id):  # type: ignore[no-untyped-def]
    _, account_id, auth = account(client)
    me = client.get(f"{BASE}/me", headers=auth).get_json(force=True)
    assert set(me) == {
        "@context",
        "@id",
        "@type",
        "id",
        "address",
        "used",
        "isDisabled",
        "isDeleted",
        "createdAt",
        "updatedAt",
    }
    assert me["id"] == account_id and me["used"] == 0
    assert client.get(f"{BASE}/accounts/{account_id}", headers=auth).get_json(force=True) == me


def test_creating_an_account_is_free_and_validated(client, owner_id, clean_db):  # type: ignore[no-untyped-def]
    account(client, "carol")
    cases = [
        ({"address": "carol@otpinbox.test", "password": PASSWORD}, "address"),
        ({"address": "x@otpinbox.test", "password": PASSWORD}, "address"),  # too short
        ({"address": "dave@elsewhere.example", "password": PASSWORD}, "address"),
        ({"address": "dave@otpinbox.test", "password": "short"}, "password"),
        ({"address": "dave@otpinbox.test"}, "password"),
    ]
    for body, field in cases:
        answer = client.post(f"{BASE}/accounts", json=body)
        assert answer.status_code == 422, (body, answer.text)
        problem = answer.get_json(force=True)
        assert problem["violations"][0]["propertyPath"] == field
        assert problem["detail"].startswith(f"{field}: ")
    with clean_db.read() as session:
        assert ledger.balance(session, ledger.wallet_code(owner_id)) == 0
        kinds = session.execute(select(orders.Order.kind, orders.Order.price)).all()
        assert kinds == [(orders.RENTAL, 0)]  # one free rental, and nothing left of the rest


def test_bad_credentials_and_tokens_answer_401_in_lexik_shape(client, owner_id):  # type: ignore[no-untyped-def]
    address, _, _ = account(client)
    wrong = client.post(f"{BASE}/token", json={"address": address, "password": "nope-nope"})
    assert (wrong.status_code, wrong.get_json()) == (
        401,
        {"code": 401, "message": "Invalid credentials."},
    )
    assert client.get(f"{BASE}/me").get_json() == {"code": 401, "message": "JWT Token not found"}
    forged = client.get(f"{BASE}/messages", headers={"Authorization": "Bearer forged.token"})
    assert (forged.status_code, forged.get_json()["message"]) == (401, "Invalid JWT Token")


def test_messages_are_scoped_to_the_account_and_flags_stick(client, owner_id, clean_db):  # type: ignore[no-untyped-def]
    address, _, auth = account(client, "erin")
    _, other_id, other = account(client, "frank")
    deliver(clean_db, address, code="771122")
    [summary] = client.get(f"{BASE}/messages", headers=auth).get_json(force=True)["hydra:member"]
    assert "text" not in summary and "html" not in summary  # list items stay small
    message_id = summary["id"]
    assert client.get(f"{BASE}/messages", headers=other).get_json(force=True)["hydra:member"] == []
    for method in ("get", "patch", "delete"):
        answer = getattr(client, method)(f"{BASE}/messages/{message_id}", headers=other)
        assert answer.status_code == 404, method
    assert client.get(f"{BASE}/sources/{message_id}", headers=other).status_code == 404
    assert client.get(f"{BASE}/accounts/{other_id}", headers=auth).status_code == 404

    detail = client.get(f"{BASE}/messages/{message_id}", headers=auth).get_json(force=True)
    assert "<script" not in detail["html"][0] and "771122" in detail["html"][0]
    seen = client.patch(
        f"{BASE}/messages/{message_id}",
        json={"seen": True},
        headers={**auth, "Content-Type": "application/merge-patch+json"},
    )
    assert seen.get_json(force=True) == {"seen": True}
    unseen = client.patch(f"{BASE}/messages/{message_id}", json={"seen": False}, headers=auth)
    assert unseen.get_json(force=True) == {"seen": False}
    raw = client.get(f"{BASE}/messages/{message_id}/download", headers=auth)
    assert raw.mimetype == "message/rfc822" and b"771122" in raw.data
    assert client.delete(f"{BASE}/messages/{message_id}", headers=auth).status_code == 204
    assert client.get(f"{BASE}/messages/{message_id}", headers=auth).status_code == 404


def test_pages_of_30_with_next_only_when_there_is_more(client, owner_id, clean_db):  # type: ignore[no-untyped-def]
    address, _, auth = account(client, "grace")
    for n in range(31):
        deliver(clean_db, address, code=f"{100000 + n}")
    first = client.get(f"{BASE}/messages?page=1", headers=auth).get_json(force=True)
    assert len(first["hydra:member"]) == 30 and first["hydra:totalItems"] == 31
    assert first["hydra:view"]["hydra:next"] == "/messages?page=2"
    second = client.get(f"{BASE}/messages?page=2", headers=auth).get_json(force=True)
    assert len(second["hydra:member"]) == 1 and "hydra:next" not in second["hydra:view"]
    assert client.get(f"{BASE}/messages?page=0", headers=auth).status_code == 422


def test_the_tier_is_off_without_an_owner(app, client, owner_id, clean_db, settings):  # type: ignore[no-untyped-def]
    from web import create_app

    off = create_app(settings.replace(mailtm_owner=""), db=clean_db).test_client()
    assert off.get(f"{BASE}/domains").status_code == 404
    answer = off.post(f"{BASE}/accounts", json={"address": "h@otpinbox.test", "password": "x"})
    assert answer.status_code == 404
    with clean_db.read() as session:
        assert session.scalar(select(func.count()).select_from(orders.Order)) == 0

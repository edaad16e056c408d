"""The terms gate on the web (redirect to the new terms) and the API (403 with the URL)."""

from __future__ import annotations

from models import terms, users
from models.audit import AuditEvent
from models.terms import LegalAcceptance
from tests.web.webutil import PASSWORD, login, make_account, seed_catalog


def _publish(db, admin_id: int, body: str = "# Terms\n\n1. Be nice.") -> int:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return terms.publish(s, s.get(users.User, admin_id), terms.TERMS, body, "first").id


def test_api_answers_403_terms_not_accepted_with_the_url(client, clean_db):
    seed_catalog(clean_db)
    admin, user = make_account(clean_db, admin=True), make_account(clean_db)
    with clean_db.transaction() as s:
        key = users.create_api_key(s, s.get(users.User, user.id))[1]
    auth = {"Authorization": f"Bearer {key}"}
    assert client.post("/api/v1/orders", json={"service": "any"}, headers=auth).status_code == 201
    version_id = _publish(clean_db, admin.id)

    r = client.post("/api/v1/orders", json={"service": "any"}, headers=auth)
    assert r.status_code == 403
    error = r.get_json()["error"]
    assert error["code"] == "terms_not_accepted" and error["url"].endswith("/legal/accept")

    (state,) = client.get("/api/v1/terms", headers=auth).get_json()
    assert state["id"] == str(version_id) and state["accepted"] is False
    accepted = client.post("/api/v1/terms/accept", json={"versions": [state["id"]]}, headers=auth)
    assert accepted.get_json()[0]["accepted"] is True
    assert client.post("/api/v1/orders", json={"service": "any"}, headers=auth).status_code == 201


def test_web_purchase_redirects_to_the_new_terms_and_records_time_and_ip(client, clean_db):
    seed_catalog(clean_db)
    admin, user = make_account(clean_db, admin=True), make_account(clean_db)
    _publish(clean_db, admin.id, "# Terms\n\n<script>alert(1)</script> **bold**")
    login(client, user)
    r = client.post("/orders", data={"service": "any", "kind": "activation"})
    assert r.status_code == 303 and "/legal/accept" in r.headers["Location"]

    page = client.get("/legal/accept")
    assert b"<strong>bold</strong>" in page.data
    assert b"<script>" not in page.data  # Markdown without raw HTML, then nh3
    version = terms.current_versions
    with clean_db.read() as s:
        vid = version(s)[0].id
    done = client.post("/legal/accept?next=/orders", data={"version": str(vid)})
    assert done.status_code == 303 and done.headers["Location"].endswith("/orders")
    with clean_db.read() as s:
        (row,) = s.query(LegalAcceptance).filter_by(user_id=user.id).all()
        assert row.ip == "127.0.0.1" and row.accepted_at is not None
        assert s.query(AuditEvent).filter_by(action="terms.accept", user_id=user.id).count() == 1
    bought = client.post("/orders", data={"service": "any", "kind": "activation"})
    assert bought.status_code == 303 and "/orders/" in bought.headers["Location"]


def test_the_new_version_page_shows_the_diff(client, clean_db):
    seed_catalog(clean_db)
    admin, user = make_account(clean_db, admin=True), make_account(clean_db)
    first = _publish(clean_db, admin.id, "1. Be nice.")
    with clean_db.transaction() as s:
        terms.accept(s, s.get(users.User, user.id), [first])
    _publish(clean_db, admin.id, "1. Be nice.\n2. Pay on time.")
    login(client, user)
    page = client.get("/legal/accept").get_data(as_text=True)
    assert "+2. Pay on time." in page and "Changes since the version you accepted" in page


def test_registration_records_the_published_versions_and_age(client, clean_db):
    seed_catalog(clean_db)
    admin = make_account(clean_db, admin=True)
    _publish(clean_db, admin.id)
    r = client.post(
        "/register",
        data={"email": "new@example.com", "password": PASSWORD, "confirm": PASSWORD,
              "age": "y", "terms": "y"},
    )  # fmt: skip
    assert r.status_code == 302
    with clean_db.read() as s:
        user = users.get_user(s, "new@example.com")
        assert user.age_confirmed and user.terms_accepted_at is not None
        assert terms.pending(s, user) == []


def test_admin_publishes_from_the_back_office(client, clean_db):
    admin = make_account(clean_db, admin=True)
    login(client, admin)
    r = client.post("/admin/terms", data={"document": "privacy", "body": "We keep little."})
    assert r.status_code == 303
    assert b"We keep little." in client.get("/legal/privacy").data

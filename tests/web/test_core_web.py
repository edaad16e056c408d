"""The contract-level web flows: register, log in, buy, see the code, cancel, keys, CSRF."""

from __future__ import annotations

import re

from models import mail
from models.mail import InboundMessage
from tests.factories import make_catalog


def register(client, email="new@example.com", password="correct horse"):  # type: ignore[no-untyped-def]
    return client.post(
        "/register",
        data={"email": email, "password": password, "confirm": password, "age": "y", "terms": "y"},
    )


def test_register_requires_age_and_terms(client, clean_db):
    response = client.post(
        "/register", data={"email": "a@example.com", "password": "x" * 10, "confirm": "x" * 10}
    )
    assert response.status_code == 200 and b"18" in response.data
    assert client.get("/orders").status_code == 302  # not logged in


def test_register_login_logout(client, clean_db):
    assert register(client).status_code == 302
    assert client.get("/orders").status_code == 200
    client.post("/logout")
    assert client.get("/orders").status_code == 302
    bad = client.post("/login", data={"email": "new@example.com", "password": "wrong one"})
    unknown = client.post("/login", data={"email": "nobody@example.com", "password": "wrong one"})
    assert bad.status_code == unknown.status_code == 200
    assert b"Wrong e-mail or password" in bad.data and b"Wrong e-mail or password" in unknown.data
    ok = client.post("/login", data={"email": "NEW@example.com", "password": "correct horse"})
    assert ok.status_code == 302


def test_login_never_redirects_off_site(client, clean_db):
    register(client)
    client.post("/logout")
    for target in ("https://evil.test/", "//evil.test", "/\\evil.test", "javascript:alert(1)"):
        response = client.post(
            "/login?next=" + target, data={"email": "new@example.com", "password": "correct horse"}
        )
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"], target
        client.post("/logout")


def test_buy_see_code_cancel_in_the_browser(client, clean_db):
    with clean_db.transaction() as session:
        make_catalog(session)
        from models.users import create_user

        create_user(session, "shopper@example.com", "correct horse", credit=500)
    client.post("/login", data={"email": "shopper@example.com", "password": "correct horse"})
    bought = client.post("/orders", data={"service": "any", "domain": "", "kind": "activation"})
    assert bought.status_code == 303
    order_url = bought.headers["Location"]
    page = client.get(order_url).get_data(as_text=True)
    email = re.search(r"[a-z0-9]{10}@otpinbox\.test", page).group(0)
    with clean_db.transaction() as session:
        mail.deliver(
            session,
            InboundMessage(
                raw=b"x",
                mail_from="a@b.test",
                rcpt_tos=(email,),
                subject="<b>hi</b>",
                code="552211",
            ),
        )
    page = client.get(order_url).get_data(as_text=True)
    assert "552211" in page and "&lt;b&gt;hi&lt;/b&gt;" in page
    client.post(order_url + "/cancel")
    assert "400" in client.get("/wallet").get_data(as_text=True)  # no refund after the code


def test_api_key_is_shown_once(client, clean_db):
    register(client)
    created = client.post("/settings/api-keys", data={"name": "laptop"}).get_data(as_text=True)
    key = re.search(r"oib_[A-Za-z0-9_-]{20,}", created).group(0)
    assert key not in client.get("/settings/api-keys").get_data(as_text=True)


def test_forms_need_a_csrf_token(app, clean_db):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/login", data={"email": "a@example.com", "password": "whatever1"})
    assert response.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": "a@example.com", "password": "whatever1", "csrf_token": token}
    )
    assert response.status_code == 200  # a real (failed) login attempt, not a CSRF error


def test_admin_area_is_hidden_from_customers(client, clean_db):
    register(client)
    assert client.get("/admin/").status_code == 404


def test_session_cookie_flags(client, clean_db):
    response = register(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_ids_beyond_any_bigint_are_404_not_500(app, client, clean_db):
    from models.users import create_user

    app.config["PROPAGATE_EXCEPTIONS"] = False
    with clean_db.transaction() as session:
        create_user(session, "boss@example.com", "correct horse", is_admin=True)
    client.post("/login", data={"email": "boss@example.com", "password": "correct horse"})
    huge = 10**20
    assert client.get(f"/orders/{huge}").status_code == 404
    assert client.get(f"/messages/{huge}").status_code == 404
    assert client.post(f"/admin/deposits/{huge}/approve").status_code == 404
    assert client.post(f"/admin/withdrawals/{huge}/pay").status_code == 404
    assert client.get(f"/orders/{2**31 - 1}").status_code == 404  # the largest id still routes
    assert client.get(f"/orders/{2**31}").status_code == 404

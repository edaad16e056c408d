"""Customer pages and the web security rules (W1, W2, W6, W7, W8), through the test client."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from models import ledger, orders, payments
from models.users import User
from tests.factories import mail_bytes
from tests.web.webutil import PASSWORD, buy, deliver, login, make_account, seed_catalog


@pytest.fixture
def customer(app, client, clean_db):  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    account = make_account(clean_db, credit=1000)
    login(client, account)
    return account


def balance(db, account) -> int:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return ledger.balance(session, f"wallet:{account.id}")


def test_buy_shows_the_order_and_the_balance_change(client, customer, clean_db) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/orders").text
    assert "any" in page and "Balance <b>1000</b>" in page
    response = client.post("/orders", data={"service": "any", "kind": "activation", "domain": ""})
    assert response.status_code == 303
    detail = client.get(response.headers["Location"]).text
    assert "waiting" in detail and "countdown" in detail
    assert balance(clean_db, customer) == 900


def test_refused_purchase_leaves_no_unpaid_order(client, clean_db) -> None:  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    poor = make_account(clean_db, credit=50)
    login(client, poor)
    response = client.post("/orders", data={"service": "any", "kind": "activation"})
    assert response.status_code == 303
    assert "does not cover" in client.get("/orders").text
    with clean_db.read() as session:
        assert session.scalar(select(func.count()).select_from(orders.Order)) == 0
        assert ledger.check_invariants(session) == []


def test_code_arrives_then_cancel_releases_without_refund(client, customer, clean_db) -> None:  # type: ignore[no-untyped-def]
    order_id, address = buy(clean_db, customer)
    status = client.get(f"/orders/{order_id}/status").json
    assert status["status"] == "waiting" and status["messages"] == 0
    deliver(clean_db, mail_bytes(address, body="Your code is 482913"), address)
    assert client.get(f"/orders/{order_id}/status").json["value"] == "482913"
    page = client.get(f"/orders/{order_id}").text
    assert 'id="code">482913<' in page and "Dispute" in page
    client.post(f"/orders/{order_id}/cancel")
    assert balance(clean_db, customer) == 900


def test_cancel_shows_the_refund(client, customer, clean_db) -> None:  # type: ignore[no-untyped-def]
    order_id, _ = buy(clean_db, customer)
    response = client.post(f"/orders/{order_id}/cancel", follow_redirects=True)
    assert "Canceled: 100 returned to your wallet." in response.text
    assert "refunded 100" in response.text
    assert balance(clean_db, customer) == 1000
    again = client.post(f"/orders/{order_id}/reorder", follow_redirects=True)
    assert again.status_code == 200 and balance(clean_db, customer) == 900


def test_manual_deposit_is_pending_then_listed(client, customer, clean_db) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/wallet/deposits", data={"amount": 5000, "reference": "SEPA 77"})
    assert response.status_code == 303
    page = client.get("/wallet").text
    assert "SEPA 77" in page and "pending" in page and f"OIB{customer.id}" in page
    assert balance(clean_db, customer) == 1000
    small = client.post("/wallet/deposits", data={"amount": 10, "reference": "tiny"})
    assert small.status_code == 303
    assert "below the minimum deposit" in client.get("/wallet").text


def test_withdrawal_shows_the_fee_before_confirming(client, clean_db) -> None:  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    rich = make_account(clean_db, credit=3000)
    login(client, rich)
    too_small = client.post("/wallet/withdrawals", data={"amount": 999, "destination": "IBAN"})
    assert too_small.status_code == 400 and "minimum withdrawal is 1000" in too_small.text
    preview = client.post("/wallet/withdrawals", data={"amount": 1500, "destination": "IBAN X"})
    assert preview.status_code == 200
    assert 'id="w-fee">495<' in preview.text and "<b>1005</b>" in preview.text
    assert balance(clean_db, rich) == 3000  # nothing held before confirming
    confirmed = client.post(
        "/wallet/withdrawals", data={"amount": 1500, "destination": "IBAN X", "confirm": "yes"}
    )
    assert confirmed.status_code == 303
    assert balance(clean_db, rich) == 1500
    assert "pending" in client.get("/wallet").text


def _signed(app, event: dict) -> tuple[bytes, dict[str, str]]:  # type: ignore[no-untyped-def]
    body = json.dumps(event).encode()
    return body, {"X-Payment-Signature": payments.sign("whsec-test", body)}


@pytest.fixture
def payment_app(settings, clean_db, notifier):  # type: ignore[no-untyped-def]
    from web import create_app

    application = create_app(
        settings.replace(payment_webhook_secret="whsec-test"), db=clean_db, notifier=notifier
    )
    application.config.update(TESTING=True)  # CSRF stays on: the webhook must be exempt
    return application


def test_payment_webhook_signed_and_idempotent(payment_app, clean_db) -> None:  # type: ignore[no-untyped-def]
    client = payment_app.test_client()
    account = make_account(clean_db, credit=0)
    event = {"txn_id": "pay_1", "amount": 2500, "currency": "USD", "reference": f"OIB{account.id}"}
    body, headers = _signed(payment_app, event)
    assert client.post("/payments/webhook", data=body, headers={}).status_code == 401
    forged = {"X-Payment-Signature": payments.sign("wrong", body)}
    assert client.post("/payments/webhook", data=body, headers=forged).status_code == 401
    first = client.post("/payments/webhook", data=body, headers=headers)
    second = client.post("/payments/webhook", data=body, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json["duplicate"] is True
    assert balance(clean_db, account) == 2500
    small, small_headers = _signed(payment_app, {**event, "txn_id": "pay_2", "amount": 5})
    answer = client.post("/payments/webhook", data=small, headers=small_headers)
    assert answer.json["status"] == "rejected" and balance(clean_db, account) == 2500
    euro, euro_headers = _signed(payment_app, {**event, "txn_id": "pay_3", "currency": "EUR"})
    assert client.post("/payments/webhook", data=euro, headers=euro_headers).status_code == 400


def test_dispute_flow_for_customer(client, customer, clean_db) -> None:  # type: ignore[no-untyped-def]
    order_id, address = buy(clean_db, customer)
    deliver(clean_db, mail_bytes(address, body="Your code is 482913"), address)
    empty = client.post(f"/orders/{order_id}/dispute", data={"reason": ""})
    assert empty.status_code == 400
    response = client.post(
        f"/orders/{order_id}/dispute", data={"reason": "site said invalid", "evidence": "at 10:02"}
    )
    assert response.status_code == 303
    assert "site said invalid" in client.get("/disputes").text
    twice = client.post(f"/orders/{order_id}/dispute", data={"reason": "again"})
    assert twice.status_code == 400 and "already been disputed" in twice.text


def test_account_pages(client, customer) -> None:  # type: ignore[no-untyped-def]
    assert customer.email in client.get("/settings").text
    assert "18 or older" in client.get("/terms").text
    created = client.post("/settings/api-keys", data={"name": "bot"}).text
    secret = re.search(r"oib_[\w-]{20,}", created).group(0)
    assert secret not in client.get("/settings/api-keys").text  # shown once
    assert "never" in client.get("/settings/api-keys").text


# ---- security rules ---------------------------------------------------------------------


def test_idor_gives_404_everywhere(client, customer, clean_db) -> None:  # type: ignore[no-untyped-def]
    other = make_account(clean_db)
    order_id, address = buy(clean_db, other)
    (message_id,) = deliver(clean_db, mail_bytes(address), address)
    for url in (f"/orders/{order_id}", f"/orders/{order_id}/status", f"/orders/{order_id}/dispute",
                f"/messages/{message_id}", f"/messages/{message_id}/body",
                f"/messages/{message_id}/raw"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert client.post(f"/orders/{order_id}/cancel").status_code == 404
    assert client.post(f"/orders/{order_id}/reorder").status_code == 404
    assert balance(clean_db, other) == 900  # the owner's order was not refunded


def test_login_same_answer_for_unknown_user_and_bad_password(client, clean_db) -> None:  # type: ignore[no-untyped-def]
    account = make_account(clean_db)
    unknown = client.post("/login", data={"email": "nobody@example.com", "password": "x" * 10})
    wrong = client.post("/login", data={"email": account.email, "password": "x" * 10})
    assert unknown.status_code == wrong.status_code == 200
    assert unknown.text.replace("nobody@example.com", account.email) == wrong.text


def test_login_rate_limit_per_account(client, clean_db) -> None:  # type: ignore[no-untyped-def]
    account = make_account(clean_db)
    for _ in range(10):
        assert (
            client.post("/login", data={"email": account.email, "password": "bad" * 4}).status_code
            == 200
        )
    blocked = client.post("/login", data={"email": account.email, "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "///evil.example", "////evil.example", "/\\evil.example",
     "\\/evil.example", "/\\/evil.example", "/\t/evil.example", " //evil.example",
     "https:evil.example", "https://evil.example/", "javascript:alert(1)"],
)  # fmt: skip
def test_no_open_redirect_after_login(client, clean_db, target) -> None:  # type: ignore[no-untyped-def]
    account = make_account(clean_db)
    response = client.post(
        "/login", query_string={"next": target}, data={"email": account.email, "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/orders"


def test_login_keeps_a_local_next(client, clean_db) -> None:  # type: ignore[no-untyped-def]
    account = make_account(clean_db)
    response = client.post(
        "/login",
        query_string={"next": "/wallet?x=1"},
        data={"email": account.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/wallet?x=1"


def test_csrf_is_required_on_forms(settings, clean_db, notifier) -> None:  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app(settings, db=clean_db, notifier=notifier)
    app.config.update(TESTING=True)  # WTF_CSRF_ENABLED stays True
    client = app.test_client()
    seed_catalog(clean_db)
    account = make_account(clean_db)
    assert (
        client.post("/login", data={"email": account.email, "password": PASSWORD}).status_code
        == 400
    )
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ok = client.post(
        "/login", data={"email": account.email, "password": PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 302
    for url in ("/orders", "/wallet/deposits", "/wallet/withdrawals", "/logout"):
        assert client.post(url, data={"amount": 5000, "reference": "x"}).status_code == 400, url


def test_cookie_flags_and_security_headers(settings, clean_db, notifier) -> None:  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app(settings.replace(secure_cookies=True), db=clean_db, notifier=notifier)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    account = make_account(clean_db)
    response = client.post("/login", data={"email": account.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    headers = client.get("/login").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_passwords_are_argon2id(clean_db) -> None:  # type: ignore[no-untyped-def]
    account = make_account(clean_db)
    with clean_db.read() as session:
        assert session.get(User, account.id).password_hash.startswith("$argon2id$")

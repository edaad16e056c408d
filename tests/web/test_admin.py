"""The back office through the test client: access, money decisions, disputes, users, audit."""

from __future__ import annotations

import re

import pytest

from models import ledger
from models.audit import AuditEvent
from tests.factories import mail_bytes
from tests.web.webutil import buy, deliver, login, make_account, seed_catalog

ADMIN_PAGES = ["/admin/", "/admin/figures.json", "/admin/users", "/admin/services",
               "/admin/domains", "/admin/deposits", "/admin/withdrawals", "/admin/disputes",
               "/admin/audit"]  # fmt: skip


@pytest.fixture
def admin(app, client, clean_db):  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    account = make_account(clean_db, credit=0, admin=True)
    login(client, account)
    return account


def wallet(db, account) -> int:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return ledger.balance(session, f"wallet:{account.id}")


def actions(db) -> list[str]:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id)]


def test_customers_and_visitors_do_not_see_the_admin_area(app, client, clean_db) -> None:  # type: ignore[no-untyped-def]
    for url in ADMIN_PAGES:
        assert client.get(url).status_code in (302, 401), url  # to the login page
    seed_catalog(clean_db)
    login(client, make_account(clean_db))
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 404, url
    assert client.post("/admin/deposits/1/approve").status_code == 404


def test_every_admin_page_renders(client, admin) -> None:  # type: ignore[no-untyped-def]
    for url in [*ADMIN_PAGES, f"/admin/users/{admin.id}"]:
        assert client.get(url).status_code == 200, url
    figures = client.get("/admin/figures.json").json
    assert {"orders_24h", "completion_rate", "revenue_24h", "messages_per_minute"} <= set(figures)


def test_approve_and_reject_deposits(client, admin, clean_db, app) -> None:  # type: ignore[no-untyped-def]
    customer = make_account(clean_db, credit=0)
    other = app.test_client()
    login(other, customer)
    other.post("/wallet/deposits", data={"amount": 5000, "reference": "SEPA 1"})
    other.post("/wallet/deposits", data={"amount": 700, "reference": "SEPA 2"})
    page = client.get("/admin/deposits").text
    assert "SEPA 1" in page and customer.email in page
    first, second = sorted(int(x) for x in re.findall(r'id="deposit-(\d+)"', page))
    assert client.post(f"/admin/deposits/{first}/approve").status_code == 303
    assert client.post(f"/admin/deposits/{second}/reject", data={"reason": ""}).status_code == 400
    client.post(f"/admin/deposits/{second}/reject", data={"reason": "never arrived"})
    again = client.post(f"/admin/deposits/{first}/approve", follow_redirects=True)
    assert "already credited" in again.text
    assert wallet(clean_db, customer) == 5000
    assert "credited" in other.get("/wallet").text and "never arrived" in other.get("/wallet").text
    assert {"admin.deposit.approve", "admin.deposit.reject"} <= set(actions(clean_db))


def test_pay_and_reject_withdrawals(client, admin, clean_db, app) -> None:  # type: ignore[no-untyped-def]
    customer = make_account(clean_db, credit=5000)
    other = app.test_client()
    login(other, customer)
    for amount in (2000, 1000):
        other.post(
            "/wallet/withdrawals", data={"amount": amount, "destination": "IBAN", "confirm": "yes"}
        )
    assert wallet(clean_db, customer) == 2000
    page = client.get("/admin/withdrawals").text
    ids = sorted(int(x) for x in re.findall(r'id="withdrawal-(\d+)"', page))
    client.post(f"/admin/withdrawals/{ids[0]}/pay")
    client.post(f"/admin/withdrawals/{ids[1]}/reject", data={"reason": "bad IBAN"})
    assert wallet(clean_db, customer) == 3000  # the rejected 1000 came back
    with clean_db.read() as session:
        assert ledger.balance(session, ledger.WITHDRAWALS) == 0
        assert ledger.balance(session, ledger.FEES) == 660
        assert ledger.check_invariants(session) == []


def test_resolve_disputes(client, admin, clean_db, app) -> None:  # type: ignore[no-untyped-def]
    customer = make_account(clean_db, credit=1000)
    other = app.test_client()
    login(other, customer)
    ids = []
    for _ in range(2):
        order_id, address = buy(clean_db, customer)
        deliver(clean_db, mail_bytes(address, body="Your code is 111222"), address)
        other.post(f"/orders/{order_id}/dispute", data={"reason": "code invalid"})
        ids.append(order_id)
    page = client.get("/admin/disputes").text
    disputes = sorted(int(x) for x in re.findall(r'id="dispute-(\d+)"', page))
    assert len(disputes) == 2 and "111222" in page
    client.post(f"/admin/disputes/{disputes[0]}/refund", data={"amount": "", "reason": "ok"})
    client.post(f"/admin/disputes/{disputes[1]}/reject", data={"reason": "code worked"})
    assert wallet(clean_db, customer) == 900
    mine = other.get("/disputes").text
    assert "refunded" in mine and "code worked" in mine


def test_user_actions(client, admin, clean_db) -> None:  # type: ignore[no-untyped-def]
    customer = make_account(clean_db, credit=500)
    assert customer.email in client.get(f"/admin/users?q={customer.email[:6]}").text
    base = f"/admin/users/{customer.id}"
    client.post(f"{base}/adjust", data={"amount": 250, "reason": "goodwill"})
    assert wallet(clean_db, customer) == 750
    refused = client.post(
        f"{base}/adjust", data={"amount": -5000, "reason": "x"}, follow_redirects=True
    )
    assert "does not cover" in refused.text and wallet(clean_db, customer) == 750
    early = client.post(f"{base}/forfeit", data={"reason": "fraud"}, follow_redirects=True)
    assert "suspend the account before" in early.text
    client.post(f"{base}/suspend", data={"reason": "fraud"})
    assert "suspended" in client.get(base).text
    client.post(f"{base}/forfeit", data={"reason": "fraud confirmed"})
    assert wallet(clean_db, customer) == 0
    client.post(f"{base}/unsuspend", data={"reason": "appeal"})
    log = client.get("/admin/audit?action=admin.").text
    for action in ("admin.adjust", "admin.suspend", "admin.forfeit", "admin.unsuspend"):
        assert action in log
    with clean_db.read() as session:
        assert ledger.check_invariants(session) == []


def test_suspended_user_cannot_log_in_or_buy(client, admin, clean_db, app) -> None:  # type: ignore[no-untyped-def]
    customer = make_account(clean_db, credit=500)
    client.post(f"/admin/users/{customer.id}/suspend", data={"reason": "abuse"})
    other = app.test_client()
    from tests.web.webutil import PASSWORD

    page = other.post("/login", data={"email": customer.email, "password": PASSWORD})
    assert page.status_code == 200 and "suspended" in page.text


def test_services_and_domains(client, admin, clean_db) -> None:  # type: ignore[no-untyped-def]
    client.post(
        "/admin/services",
        data={
            "name": "telegram",
            "price": 80,
            "window_minutes": 15,
            "rental_day_price": 30,
            "active": "y",
        },
    )
    client.post("/admin/services", data={"name": "any", "price": 0, "window_minutes": 20})
    page = client.get("/admin/services").text
    assert "telegram" in page and "not sold" in page  # "any" saved without "active"
    client.post("/admin/domains", data={"name": "mail.example.org"})
    domains = client.get("/admin/domains").text
    assert "mail.example.org" in domains
    with clean_db.read() as session:
        from models.catalog import Domain

        domain_id = session.query(Domain.id).filter_by(name="mail.example.org").scalar()
    client.post(f"/admin/domains/{domain_id}/disable")
    assert "disabled" in client.get("/admin/domains").text
    assert "admin.domain.disable" in actions(clean_db)


def test_logins_are_audited_with_ip(client, admin, clean_db) -> None:  # type: ignore[no-untyped-def]
    log = client.get("/admin/audit?action=login").text
    assert "login" in log and "127.0.0.1" in log

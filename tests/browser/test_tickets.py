"""Support flow in a real browser: a customer reports a deposit with an attachment, the admin
answers from the queue with the deposit linked, the customer sees the unread badge and replies."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models.payments import Deposit
from tests.browser.conftest import shot
from tests.browser.test_flows import log_in
from tests.web.webutil import make_account, seed_catalog

pytestmark = pytest.mark.browser


def test_deposit_ticket_round_trip_with_unread_badge(chromium, site, clean_db, tmp_path):  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    admin = make_account(clean_db, admin=True, credit=0)
    customer = make_account(clean_db, credit=0)
    receipt = tmp_path / "receipt.txt"
    receipt.write_text("bank receipt 42")

    page = chromium.new_context(viewport={"width": 1200, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, site, customer.email)
    page.goto(f"{site}/wallet")
    page.fill("#deposit-form input[name=amount]", "700")
    page.fill("#deposit-form input[name=reference]", "BANK 77")
    page.locator("#deposit-form button").click()
    expect(page.locator("#deposits")).to_contain_text("pending")

    with clean_db.read() as session:
        deposit_id = session.scalar(select(Deposit.id).where(Deposit.user_id == customer.id))

    page.goto(f"{site}/support")
    page.select_option("#new-ticket select[name=topic]", "deposit")
    page.fill("#new-ticket input[name=ref]", str(deposit_id))
    page.fill("#new-ticket input[name=subject]", "My deposit is not credited")
    page.fill("#new-ticket textarea[name=body]", "I paid 700 with reference BANK 77.")
    page.set_input_files("#new-ticket input[name=attachment]", str(receipt))
    page.locator("#new-ticket button").click()
    expect(page.locator("#ticket-status")).to_have_text("open")
    expect(page.locator("a.button", has_text="receipt.txt")).to_be_visible()

    admin_page = chromium.new_context().new_page()
    log_in(admin_page, site, admin.email)
    admin_page.goto(f"{site}/admin/tickets?topic=deposit")
    admin_page.get_by_role("link", name="My deposit is not credited").click()
    expect(admin_page.locator("#deposit-link")).to_contain_text(f"deposit #{deposit_id}")
    admin_page.fill("#staff-reply textarea[name=body]", "Found it: credited now.")
    admin_page.locator("#staff-reply button").click()
    expect(admin_page.locator("#ticket-status")).to_have_text("waiting")
    shot(admin_page, "admin-ticket")

    page.goto(f"{site}/orders")
    expect(page.locator("#support-unread")).to_have_text("1")
    page.get_by_role("link", name="Support").click()
    page.get_by_role("link", name="My deposit is not credited").click()
    expect(page.locator(".ticket-message.staff")).to_contain_text("credited now")
    expect(page.locator("#support-unread")).to_have_count(0)
    page.fill("#reply textarea[name=body]", "Thank you!")
    page.locator("#reply button").click()
    expect(page.locator("#ticket-status")).to_have_text("open")
    shot(page, "ticket")
    assert errors == []

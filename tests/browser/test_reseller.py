"""Reseller flow in a real browser: admin grants the status, the reseller creates and funds a
customer, sets a markup; the customer buys at that price; the reseller sees order and earnings."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_flows import log_in
from tests.web.webutil import PASSWORD, make_account, seed_catalog

pytestmark = pytest.mark.browser


def test_reseller_creates_funds_prices_and_sees_its_customer_buy(chromium, site, clean_db):  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    admin = make_account(clean_db, admin=True, credit=0)
    seller = make_account(clean_db, credit=3000)

    admin_page = chromium.new_context().new_page()
    log_in(admin_page, site, admin.email)
    admin_page.goto(f"{site}/admin/users/{seller.id}")
    admin_page.check("#reseller-status input[value='1']")
    admin_page.locator("#reseller-status button").click()
    expect(admin_page.locator(".flash")).to_contain_text("granted")

    page = chromium.new_context(viewport={"width": 1200, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, site, seller.email)
    page.goto(f"{site}/reseller")
    page.fill("#new-sub input[name=email]", "customer@example.com")
    page.fill("#new-sub input[name=password]", PASSWORD)
    page.locator("#new-sub button").click()
    expect(page.locator(".flash")).to_contain_text("customer@example.com")

    price = page.locator("form.price-form[data-service=any]")
    price.locator("input[name=markup]").fill("40")
    price.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("saved")

    page.get_by_role("link", name="customer@example.com").click()
    page.fill("#fund input[name=amount]", "500")
    page.locator("#fund button").click()
    expect(page.locator("#sub-balance")).to_have_text("500")
    shot(page, "reseller-sub-account")

    customer = chromium.new_context().new_page()
    log_in(customer, site, "customer@example.com")
    customer.select_option("select[name=service]", "any")
    customer.get_by_role("button", name="Buy").click()
    expect(customer).to_have_url(re.compile(r"/orders/\d+$"))

    page.reload()
    expect(page.locator("#sub-orders")).to_contain_text("140")  # ours 100 + markup 40
    expect(page.locator("#sub-balance")).to_have_text("360")
    page.goto(f"{site}/reseller")
    expect(page.locator("#subs")).to_contain_text("customer@example.com")
    expect(page.locator("#reseller-balance")).to_have_text("2500")
    shot(page, "reseller")
    assert errors == []

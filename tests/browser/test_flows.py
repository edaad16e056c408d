"""The flows that matter, in a real browser: from registration to a copied code; cancel."""

from __future__ import annotations

import re
import smtplib

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.factories import mail_bytes
from tests.web.webutil import PASSWORD, make_account, seed_catalog

pytestmark = pytest.mark.browser


def log_in(page, site: str, email: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form button").last.click()
    expect(page).to_have_url(re.compile(r"/orders$"))


def test_register_deposit_buy_code_arrives_live_and_copies(
    chromium, site, clean_db, smtp_server, settings
) -> None:  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    admin = make_account(clean_db, admin=True, credit=0)
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{site}/register")
    page.fill("input[name=email]", "alice@example.com")
    page.fill("input[name=password]", "a long passphrase")
    page.fill("input[name=confirm]", "a long passphrase")
    page.check("input[name=age]")
    page.check("input[name=terms]")
    page.locator("form button").last.click()
    expect(page).to_have_url(re.compile(r"/orders$"))

    page.goto(f"{site}/wallet")
    page.fill("#deposit-form input[name=amount]", "2000")
    page.fill("#deposit-form input[name=reference]", "BANK 0042")
    page.locator("#deposit-form button").click()
    expect(page.locator("#deposits")).to_contain_text("pending")
    shot(page, "wallet")

    admin_page = chromium.new_context().new_page()
    log_in(admin_page, site, admin.email)
    admin_page.goto(f"{site}/admin/deposits")
    shot(admin_page, "admin-deposits")
    admin_page.locator("tr", has_text="BANK 0042").get_by_role("button", name="Approve").click()
    expect(admin_page.locator(".flash")).to_contain_text("credited")

    page.goto(f"{site}/orders")
    expect(page.locator(".balance")).to_contain_text("2000")
    page.select_option("select[name=service]", "discord")
    page.get_by_role("button", name="Buy").click()
    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    expect(page.locator(".status").first).to_have_text("waiting")
    address = page.locator("#address").inner_text().strip()
    page.evaluate("window.__stillHere = true")  # gone if the page reloads

    with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=10) as smtp:
        smtp.sendmail("noreply@discord.com", [address], mail_bytes(address, body="Code: 482913"))

    expect(page.locator("#code")).to_have_text("482913", timeout=15000)
    expect(page.locator(".status").first).to_have_text("completed")
    assert page.evaluate("window.__stillHere") is True  # updated in place, no reload
    button = page.locator("button.copy[data-copy='#code']")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "482913"
    shot(page, "order-code")

    page.locator(".list a").first.click()  # the message
    expect(page.locator("h1.subject")).to_have_text("Your code")
    shot(page, "message")
    page.goto(f"{site}/orders")
    expect(page.locator(".balance")).to_contain_text("1850")
    shot(page, "orders")
    admin_page.goto(f"{site}/admin/")
    shot(admin_page, "admin-dashboard")
    assert errors == []


def test_cancel_shows_the_refund(chromium, site, clean_db) -> None:  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    customer = make_account(clean_db, credit=1000)
    page = chromium.new_context().new_page()
    log_in(page, site, customer.email)
    page.get_by_role("button", name="Buy").click()
    expect(page.locator(".status").first).to_have_text("waiting")
    page.get_by_role("button", name="Cancel and refund").click()
    expect(page.locator(".flash")).to_contain_text("Canceled: 100 returned to your wallet.")
    expect(page.locator(".status").first).to_have_text("canceled")
    page.goto(f"{site}/orders")
    expect(page.locator(".balance")).to_contain_text("1000")


def test_mobile_layout_keeps_the_code_readable(chromium, site, clean_db) -> None:  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    customer = make_account(clean_db, credit=1000)
    page = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    log_in(page, site, customer.email)
    page.get_by_role("button", name="Buy").click()
    expect(page.locator("#address")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # no sideways scrolling on a phone
    shot(page, "order-mobile")

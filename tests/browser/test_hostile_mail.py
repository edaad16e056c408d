"""H1: the hostile-mail corpus shown in Chromium: no script runs, nothing leaves for the canary."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_flows import log_in
from tests.web.webutil import buy, deliver, make_account, seed_catalog
from tests.web.xss_corpus import VECTORS, vector_mail

pytestmark = pytest.mark.browser

# Anything that reaches these from a page is script running where it must not.
TRAPS = """
window.__xss = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = (...args) => { window.__xss.push(name); };
}
"""


def test_corpus_in_a_real_browser(chromium, site, clean_db, canary) -> None:  # type: ignore[no-untyped-def]
    seed_catalog(clean_db)
    customer = make_account(clean_db)
    order_id, address = buy(clean_db, customer, kind="rental", days=1)
    ids = {}
    for vector in VECTORS:
        (ids[vector[0]],) = deliver(clean_db, vector_mail(vector, address, canary.url), address)

    context = chromium.new_context()
    context.add_init_script(TRAPS)
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    offsite: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: None if r.url.startswith((site, "data:", "about:")) else offsite.append(r.url),
    )
    log_in(page, site, customer.email)

    failures: dict[str, list[str]] = {}
    page.goto(f"{site}/orders/{order_id}")
    for vid, _, _ in [("order-page", "", ""), *VECTORS]:
        if vid != "order-page":
            page.goto(f"{site}/messages/{ids[vid]}", wait_until="load")
        found = page.evaluate("window.__xss")
        if found or dialogs or errors or offsite:
            failures[vid] = [*found, *dialogs, *errors, *offsite]
            dialogs.clear(), errors.clear(), offsite.clear()
    assert failures == {}
    assert canary.hits == []

    # Positive control: the canary does see a load once the reader asks for remote images,
    # so the silence above is the sandbox and the sanitiser working, not a broken canary.
    page.goto(f"{site}/messages/{ids['h-remote-img']}")
    page.get_by_role("link", name="Show images").click()
    expect(page.locator("#mail-body")).to_be_visible()
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert "/pixel.gif" in canary.hits

"""H1 (without a browser) and H3: hostile mail through the real pages and their headers."""

from __future__ import annotations

import pytest

from tests.web.webutil import Markup, buy, deliver, login, make_account, seed_catalog
from tests.web.xss_corpus import VECTORS, vector_mail

CANARY = "http://127.0.0.1:9"


@pytest.fixture
def mailbox(app, client, clean_db):  # type: ignore[no-untyped-def]
    """A logged-in customer with a rental that received every vector: {vector id: message id}."""
    seed_catalog(clean_db)
    owner = make_account(clean_db)
    login(client, owner)
    order_id, address = buy(clean_db, owner, kind="rental", days=1)
    ids = {}
    for vector in VECTORS:
        (ids[vector[0]],) = deliver(clean_db, vector_mail(vector, address, CANARY), address)
    return order_id, ids


def live_markup(page: str) -> list[str]:
    """Anything in an app page that a browser would execute or load from elsewhere."""
    found = []
    markup = Markup(page)
    for tag, attrs in markup.tags:
        if tag in {"script"} and attrs.get("src") != "/static/app.js":
            found.append(f"script {attrs}")
        sandboxed = attrs.get("sandbox") == "allow-popups allow-popups-to-escape-sandbox"
        if tag in {"iframe", "object", "embed", "svg", "math", "base"} and not (
            tag == "iframe" and sandboxed
        ):
            found.append(f"<{tag}> {attrs}")
        if tag == "img":
            found.append(f"img {attrs}")
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"{tag} {name}")
            if "javascript:" in value.replace(" ", "").lower():
                found.append(f"{tag} {name}={value!r}")
    return found


def test_order_page_lists_hostile_subjects_and_senders_as_text(client, mailbox) -> None:  # type: ignore[no-untyped-def]
    order_id, _ = mailbox
    page = client.get(f"/orders/{order_id}").text
    assert live_markup(page) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # shown, escaped
    assert "{{7*7}}" in page  # shown literally: never rendered as a template


def test_every_message_page_and_body_is_inert(client, mailbox) -> None:  # type: ignore[no-untyped-def]
    """One pass over the corpus (a test per vector would re-seed the mailbox 90 times)."""
    _, ids = mailbox
    failures: dict[str, list[str]] = {}
    for vid, _, _ in VECTORS:
        failures[vid] = problems_of_message(client, ids[vid])
    assert {vid: found for vid, found in failures.items() if found} == {}


def problems_of_message(client, message_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    page = client.get(f"/messages/{message_id}")
    if page.status_code != 200:
        return [f"status {page.status_code}"]
    found = live_markup(page.text)
    if "script-src 'self'" not in page.headers["Content-Security-Policy"]:
        found.append("app CSP missing")
    for iframe in Markup(page.text).find("iframe"):
        if "allow-scripts" in iframe["sandbox"] or "allow-same-origin" in iframe["sandbox"]:
            found.append(f"iframe sandbox {iframe['sandbox']!r}")
        body = client.get(iframe["src"])
        csp = body.headers["Content-Security-Policy"]
        for needed in ("default-src 'none'", "script-src 'none'", "img-src data:;", "sandbox"):
            if needed not in csp:
                found.append(f"body CSP lacks {needed}")
        if body.headers.get("X-Content-Type-Options") != "nosniff":
            found.append("body without nosniff")
        if "127.0.0.1" in body.text:  # remote loads are gone, not only blocked by the CSP
            found.append("remote reference left in body")
        for tag, attrs in Markup(body.text).tags:
            if tag == "script" or any(k.startswith("on") for k in attrs):
                found.append(f"body {tag} {attrs}")
    return found


def test_attachments_never_render_in_our_origin(client, mailbox, clean_db) -> None:  # type: ignore[no-untyped-def]
    _, ids = mailbox
    for vid in ("n-img", "n-html", "n-svg", "n-rfc2231", "n-traversal", "n-crlf"):
        page = client.get(f"/messages/{ids[vid]}").text
        links = [a["href"] for a in Markup(page).find("a") if a["href"].startswith("/attachments/")]
        assert links, vid
        for href in links:
            response = client.get(href)
            assert response.status_code == 200
            assert response.mimetype in {"application/octet-stream", "text/plain"}, vid
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith("attachment;")
            assert "\r" not in disposition and "\n" not in disposition
            assert "/" not in disposition.split("filename=", 1)[1].split(";")[0]
            assert "sandbox" in response.headers["Content-Security-Policy"]


def test_remote_images_wait_for_the_readers_choice(client, mailbox) -> None:  # type: ignore[no-untyped-def]
    _, ids = mailbox
    page = client.get(f"/messages/{ids['h-remote-img']}").text
    assert "remote image blocked" in page and "Show images" in page
    hidden = client.get(f"/messages/{ids['h-remote-img']}/body")
    assert "pixel.gif" not in hidden.text
    shown = client.get(f"/messages/{ids['h-remote-img']}/body?images=1")
    assert f"{CANARY}/pixel.gif" in shown.text
    assert "img-src data: https: http:" in shown.headers["Content-Security-Policy"]


def test_raw_eml_is_a_download(client, mailbox) -> None:  # type: ignore[no-untyped-def]
    _, ids = mailbox
    response = client.get(f"/messages/{ids['h-script']}/raw")
    assert response.mimetype == "message/rfc822"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert b"<script>alert(1)</script>" in response.data  # exact bytes, never rendered

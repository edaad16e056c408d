"""The real PyPI client ``kopeechka==8.0`` drives a full flow against our app over HTTP.

The client hard-codes ``http(s)://api.kopeechka.store``; its requests are rerouted to the
app served on 127.0.0.1, and the letter travels through our real SMTP server.
"""

from __future__ import annotations

import smtplib

import pytest
import requests
from kopeechka import KopeechkaApiError, MailActivations

from models import ledger, users
from tests.factories import mail_bytes, make_catalog, make_user

KOPEECHKA_HOSTS = ("http://api.kopeechka.store", "https://api.kopeechka.store")


@pytest.fixture
def rerouted(live_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    original = requests.Session.request

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        for host in KOPEECHKA_HOSTS:
            if url.startswith(host):
                url = live_server + url[len(host) :]
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    return live_server


@pytest.fixture
def customer(clean_db):  # type: ignore[no-untyped-def]
    """A catalog and a customer with 1000 minor units (10.00 USD); returns (user id, key)."""
    with clean_db.transaction() as session:
        make_catalog(session)
        user = make_user(session, credit=1000)
        _, key = users.create_api_key(session, user)
        return user.id, key


def send(settings, to: str, body: str) -> None:  # type: ignore[no-untyped-def]
    with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=10) as smtp:
        smtp.sendmail("noreply@discord.com", [to], mail_bytes(to, body=body))


def test_full_flow_with_the_real_client(rerouted, customer, smtp_server, settings, clean_db):  # type: ignore[no-untyped-def]
    user_id, key = customer
    with pytest.raises(KopeechkaApiError) as bad:
        MailActivations("not-a-key")  # the constructor checks the token with user-balance
    assert bad.value.value == "BAD_TOKEN"

    api = MailActivations(key)
    assert api.user_balance().balance == 10

    got = api.mailbox_get_email("discord.com")  # a site's domain names our service "discord"
    assert got.id.isdigit() and got.mail.endswith("@otpinbox.test")

    with pytest.raises(KopeechkaApiError) as waiting:
        api.mailbox_get_message(got.id)
    assert waiting.value.value == "WAIT_LINK"

    send(settings, got.mail, "Your Discord verification code is 731904.")
    message = api.mailbox_get_message(got.id)
    assert (message.status, message.value, message.fullmessage) == ("OK", "731904", "")
    assert "731904" in api.mailbox_get_message(got.id, full=1).fullmessage

    assert api.mailbox_get_fresh_id("discord.com", got.mail).id == got.id
    assert api.mailbox_cancel(got.id).status == "OK"  # releases a completed order, no refund

    again = api.mailbox_reorder("discord.com", got.mail)
    assert again.mail == got.mail and again.id != got.id
    assert api.mailbox_get_fresh_id("discord", got.mail).id == again.id
    assert api.mailbox_cancel(again.id).status == "OK"  # waiting: canceled and refunded
    for call in (api.mailbox_get_message, api.mailbox_cancel):
        with pytest.raises(KopeechkaApiError) as canceled:
            call(again.id)
        assert canceled.value.value == "ACTIVATION_CANCELED"

    # 1000 - 150 (delivered, kept) - 150 + 150 (canceled, refunded) = 850 cents.
    assert api.user_balance().balance == 8.5
    with clean_db.read() as session:
        assert ledger.balance(session, ledger.wallet_code(user_id)) == 850

    domains = api.mailbox_get_domains()
    assert (domains.count, domains.domains) == (1, ["otpinbox.test"])
    zones = api.mailbox_zones(popular=1, zones=1)
    assert [(z.name, z.cost) for z in zones.zones] == [("test", 1)]
    assert [(p.name, p.cost) for p in zones.popular] == [("otpinbox.test", 1)]
    assert api.mailbox_zones(zones=1, site="discord").zones[0].cost == 1.5

    with pytest.raises(KopeechkaApiError) as unknown:
        api.mailbox_get_email("no-such-site.example")
    assert unknown.value.value == "BAD_SITE"

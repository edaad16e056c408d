"""The real PyPI client ``mailtm-python==0.1.0`` drives a full flow over HTTP + real SMTP.

Its base URL is a class attribute (``MailTMClient.BASE_URL``), pointed at the app served
on 127.0.0.1 under /compat/mailtm; the letter travels through our SMTP server.
"""

from __future__ import annotations

import smtplib

import pytest
import requests
from mailtm import MailTMClient

from tests.factories import mail_bytes, make_catalog, make_user

OWNER = "freetier@example.com"
PASSWORD = "s3cret-mailbox-pass"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.replace(mailtm_owner=OWNER, mailtm_rate_limit="10000/second")


@pytest.fixture
def mailtm_base(live_server, clean_db, monkeypatch):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        make_catalog(session)
        make_user(session, credit=0, email=OWNER)
    base = f"{live_server}/compat/mailtm"
    monkeypatch.setattr(MailTMClient, "BASE_URL", base)
    return base


def test_full_flow_with_the_real_client(mailtm_base, smtp_server, settings):  # type: ignore[no-untyped-def]
    [domain] = MailTMClient.get_domains()
    assert domain.domain == "otpinbox.test" and domain.isActive
    address = f"alice.smith@{domain.domain}"
    created = MailTMClient.create_account(address, PASSWORD)
    assert created.address == address and created.a_id == f"/accounts/{created.id}"
    with pytest.raises(requests.HTTPError) as taken:
        MailTMClient.create_account(address, PASSWORD)
    assert taken.value.response.status_code == 422

    client = MailTMClient(account=address, password=PASSWORD)
    assert client.account.id == created.id and client.get_messages() == []

    with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=10) as smtp:
        smtp.sendmail(
            "noreply@discord.com", [address], mail_bytes(address, body="Your code is 402918.")
        )
    [summary] = client.get_messages()
    assert summary.from_.address == "noreply@discord.com"
    assert summary.to[0].address == address and summary.seen is False
    assert "402918" in summary.intro

    detail = client.get_message_by_id(summary.id)
    assert "402918" in detail.text and detail.verifications == ["402918"]
    source = client.get_message_source(summary.id)
    assert source.data.startswith("From: Service <noreply@discord.com>")

    client.mark_message_as_read(summary.id)  # a PATCH without a body
    assert client.get_messages()[0].seen is True
    assert client.get_account().used == summary.size

    assert client.delete_message(summary.id) is True
    assert client.get_messages() == []
    assert client.delete_account(created.id) is True
    with pytest.raises(requests.HTTPError) as gone:
        client.get_account()
    assert gone.value.response.status_code == 401
    with (
        smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused),  # the mailbox no longer receives
    ):
        smtp.sendmail("noreply@discord.com", [address], mail_bytes(address))

"""The real daemon on a free port, driven with smtplib and raw sockets: limits and replies."""

from __future__ import annotations

import smtplib
import time

import pytest

from models.orders import Order
from tests.factories import mail_bytes
from tests.smtp.smtputil import (
    RawClient,
    live_addresses,
    running_server,
    stored_messages,
    stored_raw,
)


@pytest.fixture
def server(settings, clean_db, notifier):  # type: ignore[no-untyped-def]
    with running_server(settings, clean_db, notifier) as controller:
        yield controller


def session_to(port: int, rcpt: str) -> RawClient:
    """A raw session that got as far as an accepted RCPT."""
    client = RawClient(port)
    assert client.reply().startswith("220 ")
    assert client.command("EHLO client.test").startswith("250")
    assert client.command("MAIL FROM:<sender@example.com>").startswith("250")
    assert client.command(f"RCPT TO:<{rcpt}>").startswith("250")
    return client


def test_a_code_mail_is_stored_and_completes_the_order(settings, clean_db, server):
    [addr] = live_addresses(clean_db)
    with smtplib.SMTP("127.0.0.1", settings.smtp_port) as client:
        client.ehlo()
        client.sendmail("noreply@discord.com", [addr], mail_bytes(addr))
    [message] = stored_messages(clean_db)
    assert message.code == "482913" and message.matched
    with clean_db.read() as session:
        assert session.get(Order, message.order_id).status == "completed"


def test_ehlo_advertises_the_extensions(settings, clean_db, server):
    with smtplib.SMTP("127.0.0.1", settings.smtp_port) as client:
        client.ehlo()
        for ext in ("pipelining", "8bitmime", "smtputf8", "enhancedstatuscodes", "size"):
            assert client.has_extn(ext), ext
        assert client.esmtp_features["size"] == str(settings.smtp_max_message_bytes)
        assert not client.has_extn("starttls")  # no certificate configured


def test_every_reply_after_ehlo_carries_an_enhanced_status_code(settings, clean_db, server):
    [addr] = live_addresses(clean_db)
    with RawClient(settings.smtp_port) as client:
        client.reply()
        client.command("EHLO client.test")
        replies = [
            client.command("NOOP"),
            client.command("MAIL FROM:<a@example.com>"),
            client.command(f"RCPT TO:<{addr}>"),
            client.command("RCPT TO:<nobody@otpinbox.test>"),
            client.command("RSET"),
            client.command("DATA"),
            client.command("QUIT"),
        ]
    codes = [reply.split(" ")[1] for reply in replies]
    assert codes == ["2.0.0", "2.0.0", "2.1.5", "5.1.1", "2.0.0", "5.5.1", "2.0.0"], replies


def test_unknown_and_foreign_recipients_are_refused_at_rcpt(settings, clean_db, server):
    live_addresses(clean_db)
    with RawClient(settings.smtp_port) as client:
        client.reply()
        client.command("EHLO client.test")
        client.command("MAIL FROM:<a@example.com>")
        assert client.command("RCPT TO:<nobody@otpinbox.test>").startswith("550 5.1.1")
        assert client.command("RCPT TO:<victim@gmail.com>").startswith("550 5.7.1")
        assert client.command("RCPT TO:<no-at-sign>").startswith("550 5.7.1")
        assert client.command("DATA").startswith("503")
    assert stored_raw(clean_db) == []


def test_recipients_over_the_cap_get_452_and_the_first_ones_are_delivered(
    settings, clean_db, notifier
):
    addrs = live_addresses(clean_db, 4)
    with (
        running_server(settings, clean_db, notifier, smtp_max_recipients=3),
        RawClient(settings.smtp_port) as client,
    ):
        client.reply()
        client.command("EHLO client.test")
        client.command("MAIL FROM:<a@example.com>")
        replies = [client.command(f"RCPT TO:<{a}>") for a in addrs]
        assert [r[:3] for r in replies] == ["250", "250", "250", "452"]
        assert replies[3].startswith("452 4.5.3")
        assert client.command("DATA").startswith("354")
        assert client.command(mail_bytes(addrs[0]) + b".").startswith("250")
    assert sorted(m.rcpt_to for m in stored_messages(clean_db)) == sorted(addrs[:3])


def test_mail_size_over_the_limit_is_refused_up_front(settings, clean_db, notifier):
    with (
        running_server(settings, clean_db, notifier, smtp_max_message_bytes=10_000),
        RawClient(settings.smtp_port) as client,
    ):
        client.reply()
        client.command("EHLO client.test")
        assert client.command("MAIL FROM:<a@example.com> SIZE=10001").startswith("552")
        assert client.command("MAIL FROM:<a@example.com> SIZE=9000").startswith("250")


def test_data_over_the_limit_is_streamed_away_and_refused_with_552(settings, clean_db, notifier):
    [addr] = live_addresses(clean_db)
    with running_server(settings, clean_db, notifier, smtp_max_message_bytes=10_000):
        client = session_to(settings.smtp_port, addr)
        assert client.command("DATA").startswith("354")
        # 2 MB in 900-byte lines: far more than the limit, never held by the server.
        client.send((b"x" * 900 + b"\r\n") * 2300)
        assert client.command(b".").startswith("552 5.3.4")
        # The session goes on: a small message right after is accepted.
        client.command("MAIL FROM:<a@example.com>")
        client.command(f"RCPT TO:<{addr}>")
        client.command("DATA")
        assert client.command(mail_bytes(addr) + b".").startswith("250")
        client.close()
    assert len(stored_raw(clean_db)) == 1


def test_a_data_line_over_1000_bytes_is_refused(settings, clean_db, server):
    [addr] = live_addresses(clean_db)
    client = session_to(settings.smtp_port, addr)
    client.command("DATA")
    assert client.command(b"Subject: x\r\n\r\n" + b"y" * 5000 + b"\r\n.").startswith("500 5.5.2")
    client.close()
    assert stored_raw(clean_db) == []


def test_command_lines_over_the_limit_get_500_and_the_session_continues(settings, clean_db, server):
    with RawClient(settings.smtp_port) as client:
        client.reply()
        assert client.command("EHLO " + "h" * 600).startswith("500 5.5.2 Command line too long")
        assert client.command("MAIL FROM:<" + "a" * 600 + "@x.test>").startswith("500")
        assert client.command("EHLO client.test").startswith("250")


def test_repeated_ehlo_does_not_raise_the_mail_line_limit(settings, clean_db, server):
    """aiosmtpd adds 36 bytes to a class-wide MAIL limit per EHLO; ours stays per session."""
    with RawClient(settings.smtp_port) as client:
        client.reply()
        for _ in range(30):
            client.command("EHLO client.test")
        long_mail = "MAIL FROM:<" + "a" * 560 + "@x.test>"  # over 512+36 whatever was sent
        assert client.command(long_mail).startswith("500")


def test_unknown_commands_exhaust_a_budget_then_disconnect(settings, clean_db, notifier):
    with (
        running_server(settings, clean_db, notifier, smtp_max_unknown_commands=3),
        RawClient(settings.smtp_port) as client,
    ):
        client.reply()
        assert client.command("FOO").startswith("500")
        assert client.command("BAR").startswith("500")
        assert client.command("BAZ").startswith("502 5.5.1")
        assert client.closed()


def test_junk_commands_exhaust_a_budget_then_disconnect(settings, clean_db, notifier):
    with (
        running_server(settings, clean_db, notifier, smtp_max_junk_commands=5),
        RawClient(settings.smtp_port) as client,
    ):
        client.reply()
        client.send(b"NOOP\r\n" * 6)
        replies = [client.reply() for _ in range(6)]
        assert [r[:3] for r in replies] == ["250"] * 5 + ["421"]
        assert client.closed()


def test_an_idle_client_is_disconnected(settings, clean_db, notifier):
    with running_server(settings, clean_db, notifier, smtp_timeout=0.5):
        client = RawClient(settings.smtp_port, timeout=5)
        client.reply()
        client.send(b"EHLO slowloris")  # a line never finished does not reset the timer
        assert client.closed()
        client.close()


def test_a_stalled_data_phase_is_cut_off_and_nothing_is_stored(settings, clean_db, notifier):
    [addr] = live_addresses(clean_db)
    with running_server(settings, clean_db, notifier, smtp_data_timeout=0.5):
        client = session_to(settings.smtp_port, addr)
        client.sock.settimeout(5)
        assert client.command("DATA").startswith("354")
        client.send(b"Subject: half a message\r\n\r\nand then nothing")
        assert client.closed()
        client.close()
    assert stored_raw(clean_db) == []


def test_connections_over_the_per_ip_cap_get_421(settings, clean_db, notifier):
    with running_server(settings, clean_db, notifier, smtp_max_connections_per_ip=2):
        first, second = RawClient(settings.smtp_port), RawClient(settings.smtp_port)
        assert first.reply().startswith("220") and second.reply().startswith("220")
        third = RawClient(settings.smtp_port)
        assert third.reply().startswith("421 4.7.0")
        assert third.closed()
        third.close()
        first.command("QUIT")
        first.close()
        _wait_until(lambda: _greeting(settings.smtp_port).startswith("220"))
        second.close()


def test_connections_over_the_total_cap_get_421(settings, clean_db, notifier):
    with running_server(settings, clean_db, notifier, smtp_max_connections=2):
        first, second = RawClient(settings.smtp_port), RawClient(settings.smtp_port)
        first.reply(), second.reply()
        assert _greeting(settings.smtp_port).startswith("421 4.7.0 Too many connections")
        first.close()
        second.close()
        _wait_until(lambda: _greeting(settings.smtp_port).startswith("220"))


def test_smtputf8_local_part_and_headers_are_stored_intact(settings, clean_db, server):
    [addr] = live_addresses(clean_db)
    body = (
        f"From: Jürgen <jürgen@bücher.example>\r\nTo: {addr}\r\nSubject: Ваш код 482913\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Код подтверждения: 482913\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", settings.smtp_port) as client:
        client.ehlo()
        client.sendmail("jürgen@bücher.example", [addr], body, mail_options=["SMTPUTF8"])
    [message] = stored_messages(clean_db)
    assert message.mail_from == "jürgen@bücher.example"
    assert message.subject == "Ваш код 482913"
    assert "jürgen@bücher.example" in message.from_header
    assert message.code == "482913"
    assert stored_raw(clean_db) == [body]


def test_eight_bit_mime_body_is_kept_byte_for_byte(settings, clean_db, server):
    [addr] = live_addresses(clean_db)
    body = b"Subject: latin-1\r\nContent-Type: text/plain; charset=latin-1\r\n\r\n"
    body += b"caf\xe9 123456\r\n"
    with smtplib.SMTP("127.0.0.1", settings.smtp_port) as client:
        client.ehlo()
        client.sendmail("a@example.com", [addr], body, mail_options=["BODY=8BITMIME"])
    assert stored_raw(clean_db) == [body]
    assert "café" in stored_messages(clean_db)[0].text


def test_a_pipelined_session_in_one_write_is_answered_in_order(settings, clean_db, server):
    [addr] = live_addresses(clean_db)
    with RawClient(settings.smtp_port) as client:
        client.reply()
        client.command("EHLO client.test")
        client.send(
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<nobody@otpinbox.test>\r\n"
            + f"RCPT TO:<{addr}>\r\nDATA\r\n".encode()
        )
        replies = [client.reply() for _ in range(4)]
        assert [r[:3] for r in replies] == ["250", "550", "250", "354"]
        assert client.command(mail_bytes(addr) + b".").startswith("250 2.0.0 OK: queued as")
    assert len(stored_raw(clean_db)) == 1


def test_many_messages_over_one_connection_each_get_their_own_250(settings, clean_db, server):
    addrs = live_addresses(clean_db, 5)
    with smtplib.SMTP("127.0.0.1", settings.smtp_port) as client:
        for _ in range(4):
            for addr in addrs:
                assert client.sendmail("a@example.com", [addr], mail_bytes(addr)) == {}
    assert len(stored_raw(clean_db)) == 20


def _greeting(port: int) -> str:
    with RawClient(port, timeout=5) as client:
        return client.reply()


def _wait_until(check, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (TimeoutError, ConnectionError):
            pass
        time.sleep(0.05)
    raise AssertionError("condition not met in time")

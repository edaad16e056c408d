"""Attacks on the real daemon: smuggling (S1), bare LF/CR (S2), STARTTLS injection (S3),
PROXY protocol spoofing, hostile MIME (S8). See research/reliability.md §1."""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
import struct
import subprocess

import aiosmtpd
import pytest

from tests.factories import mail_bytes
from tests.smtp.smtputil import (
    RawClient,
    live_addresses,
    running_server,
    stored_messages,
    stored_raw,
)

# The-Login/SMTP-Smuggling-Tools (inbound + outbound) and hannob/smtpsmug sequences.
SMUGGLING_SEQUENCES = [
    b"\n.\n",
    b"\n.\r",
    b"\r.\n",
    b"\r.\r",
    b"\n.\r\n",
    b"\r.\r\n",
    b"\r\n\x00.\r\n",
    b"\r\n.\r\r\n",
    b"\r\r\n.\r\r\n",
    b"\r\n.\n",
    b"\r\n.\r",
    b"\r\n.\x00\r\n",
]


@pytest.fixture
def server(settings, clean_db, notifier):  # type: ignore[no-untyped-def]
    with running_server(settings, clean_db, notifier) as controller:
        yield controller


def test_aiosmtpd_has_the_smuggling_and_starttls_fixes():
    version = tuple(int(part) for part in aiosmtpd.__version__.split(".")[:3])
    assert version >= (1, 4, 6)


@pytest.mark.parametrize("sequence", SMUGGLING_SEQUENCES, ids=repr)
def test_a_fake_end_of_data_never_splits_a_message(settings, clean_db, server, sequence):
    [addr] = live_addresses(clean_db)
    payload = (
        f"From: test@example.com\r\nTo: {addr}\r\nSubject: CHECK\r\n\r\n".encode()
        + b"TESTING fake end-of-data"
        + sequence
        + f"mail FROM:<smuggled@example.com>\r\nrcpt TO:<{addr}>\r\ndata\r\n".encode()
        + b"From: smuggled@example.com\r\nSubject: SMUGGLED\r\n\r\nSMUGGLING WORKS\r\n.\r\n"
    )
    with RawClient(settings.smtp_port) as client:
        client.reply()
        client.command("EHLO client.test")
        client.command("MAIL FROM:<test@example.com>")
        client.command(f"RCPT TO:<{addr}>")
        assert client.command("DATA").startswith("354")
        client.send(payload)
        assert client.reply().startswith("250 ")
        assert client.command("QUIT").startswith("221")
    messages = stored_messages(clean_db)
    assert len(messages) == 1
    assert messages[0].mail_from == "test@example.com"
    assert messages[0].subject == "CHECK"
    # Kept as bytes (the bare-LF/CR policy); a dot after CRLF is transparency, removed.
    assert sequence.replace(b"\r\n.", b"\r\n") in stored_raw(clean_db)[0]


def test_bare_lf_and_bare_cr_in_data_are_kept_as_bytes(settings, clean_db, server):
    """Policy (docs/smtp.md): DATA ends only at CRLF.CRLF; lone LF/CR are content, kept."""
    [addr] = live_addresses(clean_db)
    body = b"Subject: bare\r\n\r\nline one\nline two\rcode 482913\n.\nstill the same message"
    with RawClient(settings.smtp_port) as client:
        client.reply()
        client.command("EHLO client.test")
        client.command("MAIL FROM:<a@example.com>")
        client.command(f"RCPT TO:<{addr}>")
        client.command("DATA")
        assert client.command(body + b"\r\n.").startswith("250")
    assert stored_raw(clean_db) == [body + b"\r\n"]
    [message] = stored_messages(clean_db)
    assert message.code == "482913"


def test_commands_ending_in_a_bare_lf_are_accepted(settings, clean_db, server):
    """Policy: command lines may end in LF alone (lenient, like most MTAs); DATA may not."""
    [addr] = live_addresses(clean_db)
    with RawClient(settings.smtp_port) as client:
        client.reply()
        client.send(b"EHLO client.test\n")
        assert client.reply().startswith("250")
        client.send(f"MAIL FROM:<a@example.com>\nRCPT TO:<{addr}>\nDATA\n".encode())
        assert [client.reply()[:3] for _ in range(3)] == ["250", "250", "354"]
        client.send(b"Subject: x\n\nbody\n.\n")  # a bare-LF "end" is not an end...
        client.send(b"more\r\n.\r\n")  # ...only CRLF.CRLF is
        assert client.reply().startswith("250")
    assert stored_raw(clean_db) == [b"Subject: x\n\nbody\n.\nmore\r\n"]


def test_two_transactions_in_one_write_store_two_messages(settings, clean_db, server):
    [addr] = live_addresses(clean_db)
    one = f"MAIL FROM:<a@example.com>\r\nRCPT TO:<{addr}>\r\nDATA\r\n".encode()
    with RawClient(settings.smtp_port) as client:
        client.reply()
        client.command("EHLO client.test")
        client.send(one + mail_bytes(addr) + b".\r\n" + one + mail_bytes(addr) + b".\r\n")
        replies = [client.reply()[:3] for _ in range(8)]
    assert replies == ["250", "250", "354", "250"] * 2
    assert len(stored_raw(clean_db)) == 2


@pytest.fixture
def certificate(tmp_path):  # type: ignore[no-untyped-def]
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=otpinbox.test", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def _client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_starttls_delivers_over_tls(settings, clean_db, notifier, certificate):
    [addr] = live_addresses(clean_db)
    cert, key = certificate
    with (
        running_server(settings, clean_db, notifier, smtp_tls_cert=cert, smtp_tls_key=key),
        smtplib.SMTP("127.0.0.1", settings.smtp_port) as client,
    ):
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=_client_tls())
        client.ehlo()
        client.sendmail("a@example.com", [addr], mail_bytes(addr))
    assert len(stored_raw(clean_db)) == 1


def test_commands_pipelined_after_starttls_are_not_run_inside_tls(
    settings, clean_db, notifier, certificate
):
    cert, key = certificate
    with (
        running_server(settings, clean_db, notifier, smtp_tls_cert=cert, smtp_tls_key=key),
        RawClient(settings.smtp_port) as client,
    ):
        client.reply()
        client.command("EHLO client.test")
        client.send(b"STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n")
        assert client.reply().startswith("220")
        assert client.buffer == b""
        client.sock = _client_tls().wrap_socket(client.sock, server_hostname="otpinbox.test")
        client.send(b"NOOP\r\nQUIT\r\n")
        replies = [client.reply(), client.reply()]
        assert replies[0] == "250 2.0.0 OK" and replies[1].startswith("221")
        assert client.closed() and client.buffer == b""


def test_starttls_can_be_required(settings, clean_db, notifier, certificate):
    cert, key = certificate
    with (
        running_server(
            settings,
            clean_db,
            notifier,
            smtp_tls_cert=cert,
            smtp_tls_key=key,
            smtp_require_starttls=True,
        ),
        RawClient(settings.smtp_port) as client,
    ):
        client.reply()
        client.command("EHLO client.test")
        assert client.command("MAIL FROM:<a@example.com>").startswith("530 5.7.0")


def _proxy_v2(src: str, dst: str = "127.0.0.1", sport: int = 40000, dport: int = 25) -> bytes:
    addresses = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
    addresses += struct.pack("!HH", sport, dport)
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", 12) + addresses


@pytest.mark.parametrize(
    "header",
    [b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 25\r\n", _proxy_v2("203.0.113.7")],
    ids=["v1", "v2"],
)
def test_behind_a_load_balancer_the_proxied_client_ip_is_recorded(
    settings, clean_db, notifier, header
):
    [addr] = live_addresses(clean_db)
    with (
        running_server(settings, clean_db, notifier, smtp_proxy_protocol=True),
        RawClient(settings.smtp_port) as client,
    ):
        client.send(header)
        assert client.reply().startswith("220")
        client.command("EHLO client.test")
        client.command("MAIL FROM:<a@example.com>")
        client.command(f"RCPT TO:<{addr}>")
        client.command("DATA")
        assert client.command(mail_bytes(addr) + b".").startswith("250")
    from models.mail import RawMessage

    with clean_db.read() as session:
        assert session.query(RawMessage.peer).scalar() == "203.0.113.7"


def test_the_per_ip_cap_counts_proxied_client_ips(settings, clean_db, notifier):
    with running_server(
        settings, clean_db, notifier, smtp_proxy_protocol=True, smtp_max_connections_per_ip=1
    ):
        first, other, again = (RawClient(settings.smtp_port) for _ in range(3))
        first.send(b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 25\r\n")
        other.send(b"PROXY TCP4 198.51.100.9 127.0.0.1 40001 25\r\n")
        again.send(b"PROXY TCP4 203.0.113.7 127.0.0.1 40002 25\r\n")
        assert first.reply().startswith("220")
        assert other.reply().startswith("220")
        assert again.reply().startswith("421 4.7.0")
        for client in (first, other, again):
            client.close()


def test_without_a_valid_proxy_header_the_connection_is_dropped(settings, clean_db, notifier):
    with (
        running_server(settings, clean_db, notifier, smtp_proxy_protocol=True),
        RawClient(settings.smtp_port) as client,
    ):
        client.send(b"EHLO i-am-not-a-load-balancer\r\n")
        assert client.closed()
        assert b"220" not in client.buffer


def _nested(depth: int) -> bytes:
    head = b"Subject: nested\r\nMIME-Version: 1.0\r\n"
    parts = b"".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
        for i in range(depth)
    )
    return head + parts + b"Content-Type: text/plain\r\n\r\ncode 482913\r\n"


HOSTILE = {
    "nested-1000": _nested(1000),
    "nested-5000": _nested(5000),
    "unknown-charset": b"Subject: =?x-no-such?B?SGVsbG8=?=\r\n"
    b"Content-Type: text/plain; charset=x-no-such\r\n\r\ncode 482913\r\n",
    "huge-header": b"Subject: big\r\n" + (b"X-Big: " + b"a" * 900 + b"\r\n") * 350 + b"\r\nx\r\n",
    "huge-to": b"To: "
    + b",\r\n ".join(b"u%d@example.com" % i for i in range(16000))
    + b"\r\n\r\nx\r\n",
    "long-to": b"To: "
    + b",\r\n ".join(b"u%d@example.com" % i for i in range(4000))
    + b"\r\n\r\nx\r\n",
    "encoded-words": b"Subject: " + b"\r\n ".join([b"=?utf-8?B?YQ==?="] * 16000) + b"\r\n\r\nx\r\n",
    "many-encoded-words": b"Subject: "
    + b"\r\n ".join([b"=?utf-8?B?YQ==?="] * 2000)
    + b"\r\n\r\nx\r\n",
    "broken-base64": b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"aGVsbG8gd29ybGQ*!!!===x\r\n",
    "nul-bytes": b"Subject: nul\x00\r\n\r\nbody\x00with nul 482913\r\n",
    "no-header-end": b"Subject: only headers",
    "traversal-filename": b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\n'
    b"Content-Type: application/octet-stream\r\n"
    b'Content-Disposition: attachment; filename="../../etc/passwd"\r\n\r\nroot\r\n--z--\r\n',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_mime_is_accepted_and_stored_raw(settings, clean_db, server, name):
    [addr] = live_addresses(clean_db)
    raw = HOSTILE[name]
    with smtplib.SMTP("127.0.0.1", settings.smtp_port) as client:
        client.ehlo()
        assert client.sendmail("a@example.com", [addr], raw) == {}
    stored = stored_raw(clean_db)
    assert len(stored) == 1 and stored[0].rstrip(b"\r\n") == raw.rstrip(b"\r\n")
    [message] = stored_messages(clean_db)
    if name.startswith(("nested", "huge", "long", "many", "encoded")):
        assert message.parse_error  # refused before parsing: shown as raw text
    if name == "traversal-filename" and message.attachments:
        assert "/" not in message.attachments[0].filename

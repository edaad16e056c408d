"""S6 (slow clients and connection floods) and S7's early-talker policy, on a real server.

Early-talker policy (docs/smtp.md): by default there is no greeting pause, and a client that
sends before the 220 is served like a pipelining client (throughput matters more than this
weak spam signal for an MX that only accepts live disposable addresses). With
``OTPINBOX_SMTP_GREET_PAUSE`` > 0 the server waits that long before greeting and answers a
client that already talked with 554 5.5.1, then hangs up.
"""

from __future__ import annotations

import smtplib
import socket
import time

from tests.factories import mail_bytes
from tests.smtp.smtputil import RawClient, live_addresses, running_server, stored_raw

HOSTILE_SOCKETS = 300  # idle and slowloris connections held open at once


def _open(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (TimeoutError, BlockingIOError):
        return False


def test_legitimate_mail_is_delivered_while_hundreds_of_slow_sockets_are_open(
    settings, clean_db, notifier
):
    addrs = live_addresses(clean_db, 5)
    overrides = {"smtp_timeout": 2.0, "smtp_max_connections_per_ip": 0}
    with running_server(settings, clean_db, notifier, **overrides):
        hostile = [_open(settings.smtp_port) for _ in range(HOSTILE_SOCKETS)]
        try:
            # Half stay silent after connecting; half send a command line that never ends.
            for sock in hostile[::2]:
                sock.sendall(b"EHLO slowlor")
            for addr in addrs:
                with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=10) as client:
                    client.sendmail("noreply@example.com", [addr], mail_bytes(addr))
            assert len(stored_raw(clean_db)) == len(addrs)
            # Partial lines do not reset the idle timer: every hostile socket is closed.
            deadline = time.monotonic() + 15
            for sock in hostile:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
            assert all(_closed_by_server(sock) for sock in hostile)
        finally:
            for sock in hostile:
                sock.close()


def test_by_default_an_early_talker_is_served_like_a_pipelining_client(
    settings, clean_db, notifier
):
    [addr] = live_addresses(clean_db)
    with running_server(settings, clean_db, notifier), RawClient(settings.smtp_port) as client:
        client.send(
            b"EHLO early.test\r\nMAIL FROM:<a@example.com>\r\n"
            + f"RCPT TO:<{addr}>\r\nDATA\r\n".encode()
            + mail_bytes(addr)
            + b"\r\n.\r\nQUIT\r\n"
        )
        replies = [client.reply() for _ in range(7)]
    assert replies[0].startswith("220 ")
    assert [r[:3] for r in replies[1:]] == ["250", "250", "250", "354", "250", "221"]
    assert len(stored_raw(clean_db)) == 1


def test_with_a_greeting_pause_an_early_talker_gets_554_and_nothing_is_run(
    settings, clean_db, notifier
):
    [addr] = live_addresses(clean_db)
    with running_server(settings, clean_db, notifier, smtp_greet_pause=0.3):
        with RawClient(settings.smtp_port) as client:
            client.send(
                b"EHLO early.test\r\nMAIL FROM:<a@example.com>\r\n"
                + f"RCPT TO:<{addr}>\r\nDATA\r\n".encode()
                + mail_bytes(addr)
                + b"\r\n.\r\n"
            )
            assert client.reply().startswith("554 5.5.1")
            assert client.closed()
        # A client that waits for the greeting is served normally.
        with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=10) as client:
            client.sendmail("a@example.com", [addr], mail_bytes(addr))
    assert len(stored_raw(clean_db)) == 1

"""Helpers for the SMTP daemon tests: live orders, a server with chosen limits, raw sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select

from config import Settings
from models import catalog, orders, users
from models.db import Database
from models.mail import Message, RawMessage
from models.notify import LocalNotifier
from smtp.server import OtpController

DOMAIN = "otpinbox.test"


def live_addresses(db: Database, count: int = 1, service: str = "any") -> list[str]:
    """``count`` addresses with a waiting activation each, committed for the server to see."""
    with db.transaction() as session:
        if not session.scalar(select(catalog.Domain.id).where(catalog.Domain.name == DOMAIN)):
            catalog.add_domain(session, DOMAIN)
            catalog.add_service(session, "any", price=1, window_minutes=60)
            catalog.add_service(session, "discord", price=1, window_minutes=60)
        user = users.create_user(
            session, f"buyer{time.monotonic_ns()}@example.com", credit=count * 10
        )
        return [orders.purchase(session, user, service).email for _ in range(count)]


def stored_raw(db: Database) -> list[bytes]:
    with db.read() as session:
        return list(session.scalars(select(RawMessage.data).order_by(RawMessage.id)))


def stored_messages(db: Database) -> list[Message]:
    with db.read() as session:
        rows = session.scalars(select(Message).order_by(Message.id)).all()
        for row in rows:  # load the deferred columns while the session is open
            _ = (row.text, row.headers, row.attachments)
        session.expunge_all()  # keep them loaded past the read's rollback
        return list(rows)


@contextmanager
def running_server(
    settings: Settings, db: Database, notifier: LocalNotifier | None = None, **overrides: object
) -> Iterator[OtpController]:
    controller = OtpController(settings.replace(**overrides), db, notifier)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


class RawClient:
    """A line-level SMTP client on a plain socket, for what smtplib refuses to send."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> str:
        """One complete (possibly multi-line) reply, as text."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if len(line) < 4 or line[3:4] != "-":
                return "\n".join(lines)

    def _line(self) -> str:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; pending {self.buffer!r}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def command(self, line: str | bytes) -> str:
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.reply()

    def closed(self) -> bool:
        """True once the server has closed the connection (reads pending replies first)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

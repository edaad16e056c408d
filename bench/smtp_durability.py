"""Kill -9 durability (reliability.md S9): every message that got a 250 must be stored.

Runs ``otpinbox smtp`` as a child process, lets client threads send over persistent
connections, SIGKILLs the daemon at a random moment, restarts it, and repeats. Then it
counts the acked Message-IDs missing from the database. The suite runs a small version
(tests/smtp/test_smtp_durability.py); this script runs the big one:

    .venv/bin/python bench/smtp_durability.py --cycles 5 --min-acked 5000
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = re.compile(rb"Message-ID: <(d[0-9]+-[0-9]+)@durability>")


@dataclass
class Result:
    cycles: int = 0
    acked: set[str] = field(default_factory=set)
    stored: set[str] = field(default_factory=set)

    @property
    def lost(self) -> set[str]:
        return self.acked - self.stored


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str, addresses: int) -> list[str]:
    """Schema (if missing), our domain, a service and live orders; returns their addresses.

    The service expects mail from example.com, as the benches send it: the first code mail
    to each address completes its order (settlement included), later ones are stored.
    """
    from models import Base, catalog, orders, users
    from models.db import Database

    db = Database(url)
    Base.metadata.create_all(db.engine)
    with db.transaction() as session:
        catalog.add_domain(session, "otpinbox.test")
        service = f"dur{time.monotonic_ns()}"
        catalog.add_service(session, service, price=1, window_minutes=600, sender="example.com")
        user = users.create_user(session, f"{service}@example.com", credit=addresses)
        # A completed activation stays live until it expires: later mail is still stored.
        emails = [orders.purchase(session, user, service).email for _ in range(addresses)]
    db.dispose()
    return emails


def stored_tokens(url: str) -> set[str]:
    from sqlalchemy import select

    from models.db import Database
    from models.mail import RawMessage

    db = Database(url)
    with db.read() as session:
        found = {
            m.decode()
            for data in session.scalars(select(RawMessage.data))
            for m in TOKEN.findall(data)
        }
    db.dispose()
    return found


def start_daemon(url: str, port: int, data_dir: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OTPINBOX_DATABASE_URL": url,
        "OTPINBOX_SMTP_PORT": str(port),
        "OTPINBOX_DATA_DIR": data_dir,
        "OTPINBOX_SECRET_KEY": "durability",
        "OTPINBOX_DOMAINS": "otpinbox.test",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "smtp"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"220"):
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the SMTP daemon did not start")


def sender(port: int, addresses: list[str], name: str, acked: set[str], stop: threading.Event):
    """Send until ``stop``; record a token only when its DATA got 250."""
    seq = 0
    while not stop.is_set():
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                while not stop.is_set():
                    seq += 1
                    token = f"{name}-{seq}"
                    rcpt = random.choice(addresses)
                    body = (
                        f"From: a@example.com\r\nTo: {rcpt}\r\nSubject: code\r\n"
                        f"Message-ID: <{token}@durability>\r\n\r\nYour code is 482913\r\n"
                    )
                    client.sendmail("a@example.com", [rcpt], body)
                    acked.add(token)  # sendmail returned: the server said 250
        except (OSError, smtplib.SMTPException):
            time.sleep(0.02)  # killed or restarting: reconnect


def run(
    url: str, *, cycles: int, min_acked: int, clients: int = 4, max_seconds: float = 120
) -> Result:
    addresses = prepare(url, 20)
    port = free_port()
    result = Result()
    data_dir = tempfile.mkdtemp(prefix="otpinbox-dur-")
    stop = threading.Event()
    acked_per_client: list[set[str]] = [set() for _ in range(clients)]
    threads = [
        threading.Thread(
            target=sender, args=(port, addresses, f"d{i}", acked_per_client[i], stop), daemon=True
        )
        for i in range(clients)
    ]
    started = time.monotonic()
    proc = start_daemon(url, port, data_dir)
    for thread in threads:
        thread.start()
    try:
        while True:
            time.sleep(random.uniform(0.5, 1.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            result.cycles += 1
            acked = sum(len(a) for a in acked_per_client)
            enough = result.cycles >= cycles and acked >= min_acked
            if enough or time.monotonic() - started > max_seconds:
                break
            proc = start_daemon(url, port, data_dir)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for thread in threads:
            thread.join(15)
    for acked in acked_per_client:
        result.acked |= acked
    result.stored = stored_tokens(url)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--min-acked", type=int, default=5000)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='otpinbox-dur-')}/dur.db"
    started = time.monotonic()
    result = run(url, cycles=args.cycles, min_acked=args.min_acked, max_seconds=600)
    print(
        f"database={url.split(':')[0]} kill -9 cycles={result.cycles} acked={len(result.acked)} "
        f"stored(acked or not)={len(result.stored)} lost={len(result.lost)} "
        f"seconds={time.monotonic() - started:.1f}"
    )
    sys.exit(1 if result.lost else 0)


if __name__ == "__main__":
    main()

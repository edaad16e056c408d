"""PostgreSQL restart and Redis restart mid-load: the cluster recovers by itself.

One `otpinbox smtp`, `web` and `worker` on a fresh database take SMTP mail and API
polls continuously. Midway, PostgreSQL is stopped for a few seconds and started again;
later Redis is. Nothing restarts the otpinbox processes. Printed:

- SMTP replies by code during the whole run (250 normal; 451 while the database is away;
  "conn" when a connection dropped) and acked messages lost (must be 0);
- API answers by status (200; 503 with Retry-After while the database is away; any
  500 is a failure);
- seconds from "database back" to the first 250 and the first ready /readyz;
- `otpinbox ledger check`.

It stops the machine's shared PostgreSQL: do not run it where others are using it.

    .venv/bin/python bench/faults_restart.py
"""

from __future__ import annotations

import argparse
import os
import random
import re
import smtplib
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster.harness import Cluster, api, mail, running_cluster, seed, unreachable  # noqa: E402

TOKEN = re.compile(rb"Message-ID: <(r[0-9]+-[0-9]+)@cluster>")
PG_VERSION = os.environ.get("PG_VERSION") or sorted(os.listdir("/etc/postgresql"))[-1]
PG = ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "main"]
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


class Load:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.smtp: Counter[str] = Counter()
        self.api: Counter[str] = Counter()
        self.acked: set[str] = set()
        self.last_250 = 0.0
        self.stop = threading.Event()

    def count(self, kind: str, outcome: str) -> None:
        with self.lock:
            getattr(self, kind)[outcome] += 1


def smtp_sender(cluster: Cluster, emails: list[str], load: Load, name: str) -> None:
    seq = 0
    while not load.stop.is_set():
        try:
            with smtplib.SMTP("127.0.0.1", cluster.smtp[0].port, timeout=15) as client:
                while not load.stop.is_set():
                    seq += 1
                    token = f"{name}-{seq}"
                    rcpt = random.choice(emails)
                    try:
                        client.sendmail("noreply@discord.com", [rcpt], mail(rcpt, token))
                    except smtplib.SMTPRecipientsRefused as exc:
                        load.count("smtp", str(next(iter(exc.recipients.values()))[0]))
                        continue
                    except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                        load.count("smtp", str(exc.smtp_code))
                        client.rset()
                        continue
                    with load.lock:
                        load.acked.add(token)
                        load.smtp["250"] += 1
                        load.last_250 = time.monotonic()
                    time.sleep(0.02)
        except (OSError, smtplib.SMTPException):
            load.count("smtp", "conn")
            time.sleep(0.1)


def api_poller(cluster: Cluster, key: str, ids: list[int], load: Load) -> None:
    while not load.stop.is_set():
        try:
            status, _ = api(
                cluster.web[0].url, "GET", f"/orders/{random.choice(ids)}", key, timeout=15
            )
            load.count("api", str(status))
        except OSError:
            load.count("api", "conn")
        time.sleep(0.02)


def ready(cluster: Cluster) -> bool:
    try:
        with urllib.request.urlopen(cluster.web[0].url + "/readyz", timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def recovery(
    cluster: Cluster, load: Load, back_at: float, timeout: float = 60
) -> tuple[float, float]:
    """Seconds from ``back_at`` to the first ready /readyz and to the next 250."""
    ready_after = mail_after = -1.0
    deadline = back_at + timeout
    while time.monotonic() < deadline and (ready_after < 0 or mail_after < 0):
        if ready_after < 0 and ready(cluster):
            ready_after = time.monotonic() - back_at
        if mail_after < 0 and load.last_250 > back_at:
            mail_after = load.last_250 - back_at
        time.sleep(0.05)
    return ready_after, mail_after


def outage(
    name: str,
    stop_cmd: list[str],
    start_cmd: list[str],
    seconds: float,
    cluster: Cluster,
    load: Load,
) -> str:
    before = (Counter(load.smtp), Counter(load.api))
    subprocess.run(stop_cmd, check=True, capture_output=True)
    try:
        time.sleep(seconds)
        down = (load.smtp - before[0], load.api - before[1])
    finally:
        subprocess.run(start_cmd, check=True, capture_output=True)
    back_at = time.monotonic()
    ready_after, mail_after = recovery(cluster, load, back_at)
    return (
        f"{name} down {seconds:.0f}s: meanwhile smtp={dict(down[0])} api={dict(down[1])}; "
        f"back: /readyz ok after {ready_after:.1f}s, first 250 after {mail_after:.1f}s"
    )


def run(down_seconds: float) -> int:
    from sqlalchemy import select

    from models.db import Database
    from models.mail import RawMessage

    lines = []
    with running_cluster(smtp=1, web=1, workers=1) as cluster:
        _, key = seed(cluster.database_url, credit=1_000_000, price=100)
        bought = [
            api(cluster.web[0].url, "POST", "/orders", key, {"service": "any"}) for _ in range(30)
        ]
        ids = [int(o["id"]) for _, o in bought]
        emails = [o["email"] for _, o in bought]
        load = Load()
        threads = [
            threading.Thread(target=smtp_sender, args=(cluster, emails, load, f"r{i}"))
            for i in range(2)
        ]
        threads += [
            threading.Thread(target=api_poller, args=(cluster, key, ids, load)) for _ in range(2)
        ]
        for thread in threads:
            thread.daemon = True
            thread.start()
        try:
            time.sleep(3)
            lines.append(
                outage(
                    "PostgreSQL",
                    [*PG, "stop", "-m", "fast"],
                    [*PG, "start"],
                    down_seconds,
                    cluster,
                    load,
                )
            )
            time.sleep(3)
            lines.append(
                outage(
                    "Redis",
                    ["redis-cli", "-p", "6379", "shutdown", "nosave"],
                    REDIS_START,
                    down_seconds,
                    cluster,
                    load,
                )
            )
            time.sleep(3)
        finally:
            load.stop.set()
            subprocess.run([*PG, "start"], capture_output=True)  # whatever happened above
            if subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).returncode:
                subprocess.run(REDIS_START, capture_output=True)
            for thread in threads:
                thread.join(20)
        alive = all(node.alive() for node in cluster.nodes)
        db = Database(cluster.database_url)
        with db.read() as session:
            stored = {
                m.decode()
                for data in session.scalars(select(RawMessage.data))
                for m in TOKEN.findall(data)
            }
        db.dispose()
        lost = load.acked - stored
        check = cluster.cli("ledger", "check")
        lines.append(
            f"whole run: smtp={dict(load.smtp)} api={dict(load.api)} acked={len(load.acked)} "
            f"lost={len(lost)} processes_still_running={alive} "
            f"ledger_check={'ok' if check.returncode == 0 else 'FAILED'}"
        )
        failed = bool(lost) or not alive or check.returncode != 0 or load.api.get("500", 0) > 0
    for line in lines:
        print(line)
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--down-seconds", type=float, default=4)
    args = parser.parse_args()
    reason = unreachable()
    if reason:
        sys.exit(reason)
    sys.exit(run(args.down_seconds))


if __name__ == "__main__":
    main()

"""Long-poll latency and capacity against a real ``otpinbox run``.

Starts ``otpinbox run`` on free ports with a temporary SQLite database, seeds it with
the CLI, then measures:

1. reference: plain ``GET /api/v1/orders/{id}`` round trips (what any API read costs);
2. latency: one waiter at a time, SMTP ``250`` (sendmail returned) -> ``wait`` answered;
3. capacity: N concurrent waiters (default 1,000) held open while codes are ingested for
   a share of them; each answered waiter's latency is measured the same way, and the
   others must still be waiting afterwards.

Prints the figures and exits non-zero if any waiter got an error or a wrong answer.
Run: ``.venv/bin/python bench/wait_latency.py [--waiters 1000] [--samples 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
OTPINBOX = str(Path(sys.executable).with_name("otpinbox"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [OTPINBOX, *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, values_ms: list[float]) -> str:
    return (
        f"{name:<44} n={len(values_ms):<5} p50={pct(values_ms, 50):7.2f} ms  "
        f"p99={pct(values_ms, 99):7.2f} ms  max={max(values_ms):7.2f} ms  "
        f"mean={statistics.fmean(values_ms):7.2f} ms"
    )


class Http:
    """A tiny HTTP/1.1 client on asyncio streams: thousands of open requests, one thread."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=2**20)
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode() + data)
        await writer.drain()
        raw = await reader.read()
        writer.close()
        header, _, payload = raw.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        if b"transfer-encoding: chunked" in header.lower():
            payload = dechunk(payload)
        return status, json.loads(payload) if payload else {}


def dechunk(data: bytes) -> bytes:
    out, rest = b"", data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def send_code(port: int, email: str, code: str) -> float:
    """Send one message; the monotonic time at which the server's 250 arrived."""
    message = (
        f"From: Bench <noreply@bench.test>\r\nTo: {email}\r\nSubject: Your code\r\n\r\n"
        f"Your verification code is {code}.\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.sendmail("noreply@bench.test", [email], message)
        return time.monotonic()


async def buy(http: Http) -> dict:
    status, order = await http.request("POST", "/api/v1/orders", {"service": "any"})
    assert status == 201, (status, order)
    return order


async def timed_wait(http: Http, order_id: str, timeout: int) -> tuple[float, int, dict]:
    status, body = await http.request("GET", f"/api/v1/orders/{order_id}/wait?timeout={timeout}")
    return time.monotonic(), status, body


async def reference(http: Http, samples: int) -> list[float]:
    order = await buy(http)
    out = []
    for _ in range(samples):
        start = time.monotonic()
        status, _ = await http.request("GET", f"/api/v1/orders/{order['id']}")
        assert status == 200
        out.append((time.monotonic() - start) * 1000)
    return out


async def single_waiter(http: Http, smtp_port: int, samples: int) -> list[float]:
    out = []
    for i in range(samples):
        order = await buy(http)
        waiter = asyncio.create_task(timed_wait(http, order["id"], 30))
        await asyncio.sleep(0.05)  # let the waiter reach the server and start waiting
        sent = await asyncio.to_thread(send_code, smtp_port, order["email"], f"{100000 + i}")
        answered, status, body = await waiter
        assert status == 200 and body["status"] == "completed", (status, body)
        out.append((answered - sent) * 1000)
    return out


async def many_waiters(
    http: Http, smtp_port: int, waiters: int, answered_share: int
) -> tuple[list[float], int, Counter[str], float]:
    orders = []
    for start in range(0, waiters, 50):
        orders += await asyncio.gather(*(buy(http) for _ in range(min(50, waiters - start))))
    tasks = [asyncio.create_task(timed_wait(http, o["id"], 60)) for o in orders]
    await asyncio.sleep(3.0)  # all connected and parked
    early = sum(t.done() for t in tasks)
    latencies = []
    ingest_started = time.monotonic()
    for i, order in enumerate(orders[:answered_share]):
        sent = await asyncio.to_thread(send_code, smtp_port, order["email"], f"{200000 + i}")
        answered, status, body = await tasks[i]
        assert status == 200 and body["status"] == "completed", (status, body)
        latencies.append((answered - sent) * 1000)
    ingest_seconds = time.monotonic() - ingest_started
    still_waiting = sum(not t.done() for t in tasks[answered_share:])
    # Release the rest with their codes (ingest at full speed), then collect them.
    for i, order in enumerate(orders[answered_share:]):
        await asyncio.to_thread(send_code, smtp_port, order["email"], f"{300000 + i}")
    wrong: Counter[str] = Counter()
    for task in tasks[answered_share:]:
        _, status, body = await task
        if status != 200 or body.get("status") != "completed":
            wrong[f"{status} {body.get('error', {}).get('code') or body.get('status')}"] += 1
    if early:
        wrong["answered before any code"] += early
    return latencies, still_waiting, wrong, ingest_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--answered", type=int, default=200, help="waiters answered one by one")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="otpinbox-bench-")
    web_port, smtp_port = free_port(), free_port()
    env = {
        **os.environ,
        "OTPINBOX_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "OTPINBOX_DATA_DIR": tmp,
        "OTPINBOX_WEB_PORT": str(web_port),
        "OTPINBOX_SMTP_PORT": str(smtp_port),
        "OTPINBOX_DOMAINS": "bench.test",
        # The benchmark is one client buying thousands of orders: lift the per-account caps.
        "OTPINBOX_RATE_LIMIT": "100000/second",
        "OTPINBOX_MAX_WAITING_ORDERS": "100000",
    }
    cli(env, "db", "upgrade")
    cli(env, "domain", "add", "bench.test")
    cli(env, "service", "add", "any", "--price", "1")
    cli(env, "user", "create", "bench@bench.test", "--credit", "10000000")
    key = cli(env, "apikey", "create", "bench@bench.test").strip().splitlines()[-1]
    # The server logs every SMTP command: send it to a file, since an unread pipe fills up
    # and would stall the server's logging (and with it the SMTP thread).
    log_path = Path(tmp) / "server.log"
    log_file = log_path.open("w")
    server = subprocess.Popen([OTPINBOX, "run"], env=env, stdout=log_file, stderr=log_file)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", web_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print(log_path.read_text()[-4000:], file=sys.stderr)
                    raise SystemExit("otpinbox run did not start") from None
                time.sleep(0.2)
        return asyncio.run(run_phases(Http(web_port, key), smtp_port, args))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log_file.close()
        shutil.rmtree(tmp, ignore_errors=True)


async def run_phases(http: Http, smtp_port: int, args: argparse.Namespace) -> int:
    print(f"otpinbox run, SQLite, {os.cpu_count()} CPUs; figures in milliseconds")
    ref = await reference(http, args.samples * 2)
    print(summary("reference: GET /orders/{id} (no waiting)", ref))
    single = await single_waiter(http, smtp_port, args.samples)
    print(summary("SMTP 250 -> wait answered (1 waiter)", single))
    latencies, still, wrong, ingest = await many_waiters(
        http, smtp_port, args.waiters, min(args.answered, args.waiters)
    )
    print(summary(f"SMTP 250 -> wait answered ({args.waiters} waiters)", latencies))
    print(
        f"{args.waiters} concurrent waiters: {still} of {args.waiters - len(latencies)} still "
        f"waiting after {len(latencies)} codes in {ingest:.1f} s "
        f"({len(latencies) / ingest:.0f} msg/s one at a time); errors or wrong answers: "
        f"{sum(wrong.values())} {dict(wrong)}"
    )
    goal = pct(single, 50) <= 20 and pct(single, 99) <= 100
    print(f"goal p50 <= 20 ms and p99 <= 100 ms (1 waiter): {'met' if goal else 'NOT met'}")
    ok = not wrong and still == args.waiters - len(latencies)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

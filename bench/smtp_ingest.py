"""SMTP ingest throughput: otpinbox's full pipeline against a bare aiosmtpd sink, same run.

Two clients: a small asyncio SMTP driver (10 sessions, 2 KB code mails, each to the
address of its own waiting order, so every message also completes an order and settles
its price; measures 250 latency) and, with ``--tools``, Postfix's ``smtp-source`` (10
sessions, 2 KB messages to one live order address: stored, nothing left to complete).
Each drives every server over persistent connections and reconnecting per message. The
servers run as child processes on this machine: the bare aiosmtpd sink (answers 250,
stores nothing: the reference the issue's goals are stated against), MailDev 3 with
``--tools`` (in-memory mail catcher), and ``otpinbox smtp --workers N``. Besides msg/s it
prints the server's CPU time per message, the figure that survives a machine loaded by
other work.

    .venv/bin/python bench/smtp_ingest.py [--messages 4000] [--workers 1 2] [--tools DIR]
                                          [--stored 100000]

``--tools DIR`` fetches the comparison tools once into DIR through the package managers:
``apt-get download postfix`` + ``dpkg -x`` (smtp-source runs with ``LD_LIBRARY_PATH`` on
its ``usr/lib/postfix``; no mail server is installed) and ``npm install maildev@3``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.smtp_durability import free_port, prepare  # noqa: E402

SINK = """
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
loop = asyncio.new_event_loop()
server = loop.run_until_complete(
    loop.create_server(lambda: SMTP(Sink(), loop=loop, enable_SMTPUTF8=True),
                       "127.0.0.1", int(sys.argv[1])))
loop.run_forever()
"""


def body(rcpt: str, n: int) -> bytes:
    head = f"From: Service <noreply@example.com>\r\nTo: {rcpt}\r\nSubject: Your code\r\n"
    head += f"Message-ID: <{n}.{time.monotonic_ns()}@bench>\r\n\r\n"
    text = f"Your verification code is {100000 + n % 900000}.\r\n"
    filler = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 2 + "\r\n") * 16
    return (head + text + filler)[:2048].encode() + b"\r\n"


async def _reply(reader: asyncio.StreamReader) -> bytes:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return line


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await _reply(reader)
    writer.write(b"EHLO bench\r\n")
    await _reply(reader)
    return reader, writer


async def _session(
    port: int,
    addrs: list[str],
    count: int,
    offset: int,
    persistent: bool,
    lat: list[float],
    pace: float = 0.0,
) -> None:
    """Send ``count`` messages; with ``pace``, start one every ``pace`` seconds at most."""
    conn = None
    start = time.perf_counter()
    for i in range(count):
        if pace:
            await asyncio.sleep(max(0.0, start + i * pace - time.perf_counter()))
        if conn is None:
            conn = await _open(port)
        reader, writer = conn
        rcpt = addrs[(offset + i) % len(addrs)]
        writer.write(f"MAIL FROM:<noreply@example.com>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode())
        for _ in range(3):
            await _reply(reader)
        writer.write(body(rcpt, offset + i))
        started = time.perf_counter()
        writer.write(b".\r\n")
        reply = await _reply(reader)
        lat.append(time.perf_counter() - started)
        if not reply.startswith(b"250"):
            raise RuntimeError(f"not accepted: {reply!r}")
        if not persistent:
            writer.write(b"QUIT\r\n")
            await _reply(reader)
            writer.close()
            conn = None
    if conn is not None:
        conn[1].write(b"QUIT\r\n")
        conn[1].close()


def drive(
    port: int, addrs: list[str], total: int, sessions: int, persistent: bool, rate: float = 0.0
) -> dict:
    """``total`` messages over ``sessions`` sessions, back to back or at ``rate`` msg/s."""
    latencies: list[float] = []
    per = total // sessions
    pace = sessions / rate if rate else 0.0

    async def main() -> None:
        await asyncio.gather(
            *(
                _session(port, addrs, per, s * per, persistent, latencies, pace)
                for s in range(sessions)
            )
        )

    started = time.perf_counter()
    asyncio.run(main())
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "count": len(latencies),
        "rate": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
    }


def wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"220"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def start(cmd: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_port(port)
    return proc


def rss_mb(pid: int) -> float:
    total = 0
    for child in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total = max(total, int(line.split()[1]))
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a server process and its children (``--workers N``).

    CPU per message is the figure that survives a machine loaded by other work; the rate
    in msg/s does not.
    """
    total = 0
    for proc in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def measured(pid: int, *drive_args: Any) -> dict:
    """:func:`drive` with the server's CPU time per message added."""
    before = cpu_seconds(pid)
    figures = drive(*drive_args)
    figures["cpu_ms"] = 1000 * (cpu_seconds(pid) - before) / figures["count"]
    return figures


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def report(name: str, figures: dict, reference: float | None) -> None:
    ratio = f"  {figures['rate'] / reference:.2f}x sink" if reference else ""
    cpu = f"  server CPU {figures['cpu_ms']:5.2f} ms/msg" if "cpu_ms" in figures else ""
    latency = (
        f"p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:7.2f} ms"
        if "p50_ms" in figures
        else f"{'(no latencies)':<28}"
    )
    print(
        f"{name:<52} {figures['rate']:7.0f} msg/s  {latency}{cpu}{ratio}",
        flush=True,
    )


def fetch_tools(directory: Path) -> tuple[Path | None, Path | None]:
    """smtp-source's extracted package root and MailDev's binary, fetched once."""
    directory.mkdir(parents=True, exist_ok=True)
    postfix = directory / "postfix"
    if not (postfix / "usr/sbin/smtp-source").exists():
        subprocess.run(["apt-get", "download", "postfix"], cwd=directory, check=False)
        debs = sorted(directory.glob("postfix_*.deb"))
        if debs:
            subprocess.run(["dpkg", "-x", str(debs[-1]), str(postfix)], check=True)
    maildev = directory / "node_modules/.bin/maildev"
    if not maildev.exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(directory), "maildev@3"],
            check=False,
        )
    source = postfix if (postfix / "usr/sbin/smtp-source").exists() else None
    return source, (maildev if maildev.exists() else None)


def smtp_source(
    postfix: Path, pid: int, port: int, rcpt: str, total: int, sessions: int, persistent: bool
) -> dict:
    """Postfix's smtp-source against the server: msg/s and server CPU (no latencies)."""
    cmd = [str(postfix / "usr/sbin/smtp-source"), "-s", str(sessions), "-l", "2048"]
    cmd += ["-m", str(total), "-f", "noreply@example.com", "-t", rcpt, f"127.0.0.1:{port}"]
    if persistent:
        cmd.insert(1, "-d")  # keep the session open for the next message
    env = {**os.environ, "LD_LIBRARY_PATH": str(postfix / "usr/lib/postfix")}
    before = cpu_seconds(pid)
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=900)
    seconds = time.perf_counter() - started
    return {
        "count": total,
        "rate": total / seconds,
        "cpu_ms": 1000 * (cpu_seconds(pid) - before) / total,
    }


def bench_server(
    name: str,
    proc: subprocess.Popen,
    port: int,
    addrs: list[str],
    args: argparse.Namespace,
    postfix: Path | None,
    reference: dict[str, float],
) -> dict[str, dict]:
    """Every client against one running server; prints and returns the figures."""
    # Each driver phase mails addresses of its own: on otpinbox every message completes a
    # fresh order (the OTP case), not only the first one sent to an address.
    reconnecting = args.messages + args.messages // 2
    runs: dict[str, dict] = {
        "persistent": measured(
            proc.pid, port, addrs[: args.messages], args.messages, args.sessions, True
        ),
        "reconnect": measured(
            proc.pid,
            port,
            addrs[args.messages : reconnecting],
            args.messages // 2,
            args.sessions,
            False,
        ),
    }
    if postfix is not None:
        for label, persistent in (
            ("smtp-source persistent", True),
            ("smtp-source reconnect", False),
        ):
            total = args.messages if persistent else args.messages // 2
            runs[label] = smtp_source(
                postfix, proc.pid, port, addrs[0], total, args.sessions, persistent
            )
    moderate = addrs[reconnecting : reconnecting + MODERATE]
    runs[f"paced {MODERATE_RATE} msg/s (moderate)"] = measured(
        proc.pid, port, moderate, MODERATE, 2, True, MODERATE_RATE
    )
    for label, figures in runs.items():
        # A paced phase runs at the same rate everywhere: only its latency compares.
        paced = label.startswith("paced")
        report(f"{name}, {label}", figures, None if paced else reference.get(label))
    print(f"{'':<52} max RSS per process {rss_mb(proc.pid):.0f} MB", flush=True)
    return runs


# Moderate load: 2 sessions sending 20 msg/s in all, well below every server's capacity, so
# the 250 latency is the time one message takes through the pipeline, not queueing.
MODERATE = 300
MODERATE_RATE = 20


def completed_orders(url: str, addrs: list[str]) -> int:
    """How many of the orders behind ``addrs`` a code mail completed."""
    from sqlalchemy import func, select

    from models.catalog import Address
    from models.db import Database
    from models.orders import COMPLETED, Order

    db = Database(url)
    locals_ = [addr.partition("@")[0] for addr in addrs]
    with db.read() as session:
        count = session.scalar(
            select(func.count(Order.id))
            .join(Address, Address.id == Order.address_id)
            .where(Address.local_part.in_(locals_), Order.status == COMPLETED)
        )
    db.dispose()
    return int(count or 0)


def store_messages(url: str, count: int) -> None:
    """``count`` stored 2 KB messages on one order, as a long-running database holds."""
    import dataclasses

    from models import mail
    from models.db import Database
    from smtp.parse import parse

    rcpt = prepare(url, 1)[0]
    template = parse(body(rcpt, 0), "noreply@example.com", [rcpt], "127.0.0.1")
    db = Database(url)
    for start in range(0, count, 1000):
        batch = [
            dataclasses.replace(template, raw=body(rcpt, n))
            for n in range(start, min(count, start + 1000))
        ]
        with db.transaction() as session:
            mail.deliver_many(session, batch)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--url", default="")
    parser.add_argument("--tools", default="", help="directory for smtp-source and MailDev")
    parser.add_argument(
        "--stored", type=int, default=0, help="messages stored before the run (RSS check)"
    )
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='otpinbox-bench-')}/bench.db"
    per_server = args.messages + args.messages // 2 + MODERATE
    # The reference servers store nothing: 200 real addresses, cycled, are as good as any.
    addrs = list(itertools.islice(itertools.cycle(prepare(url, 200)), per_server))
    postfix, maildev = fetch_tools(Path(args.tools)) if args.tools else (None, None)
    if args.stored:
        store_messages(url, args.stored)
    print(f"{args.messages} messages of 2 KB, {args.sessions} sessions, database {url}")
    print(f"{args.stored} messages stored before the run", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at start", flush=True)

    port = free_port()
    sink = start([sys.executable, "-c", SINK, str(port)], port)
    try:
        sink_runs = bench_server("aiosmtpd sink", sink, port, addrs, args, postfix, {})
    finally:
        sink.kill()
    reference = {label: figures["rate"] for label, figures in sink_runs.items()}

    if maildev is not None:
        port = free_port()
        cmd = [str(maildev), "--smtp", str(port), "--ip", "127.0.0.1", "--disable-web", "--silent"]
        catcher = start(cmd, port)
        try:
            bench_server("MailDev 3", catcher, port, addrs, args, postfix, reference)
        finally:
            catcher.kill()

    for workers in args.workers:
        port = free_port()
        env = {
            **os.environ,
            "OTPINBOX_DATABASE_URL": url,
            "OTPINBOX_SMTP_PORT": str(port),
            "OTPINBOX_SECRET_KEY": "bench",
            "OTPINBOX_DATA_DIR": tempfile.mkdtemp(),
        }
        cmd = [sys.executable, "-m", "cli", "smtp", "--workers", str(workers)]
        fresh = prepare(url, per_server)  # live orders no earlier run has answered
        proc = start(cmd, port, env)
        try:
            name = f"otpinbox --workers {workers}"
            bench_server(name, proc, port, fresh, args, postfix, reference)
        finally:
            proc.terminate()
            proc.wait(10)
        done = completed_orders(url, fresh)
        print(f"{'':<52} orders completed by a code mail: {done} of {per_server}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at end", flush=True)


if __name__ == "__main__":
    main()

"""A real otpinbox cluster on 127.0.0.1: `otpinbox smtp`, `web` and `worker` processes.

Shared by the cluster and fault tests (tests/cluster/) and the bench scripts
(bench/faults_*.py, bench/mixed_load.py). Every cluster gets its own throw-away
PostgreSQL database (created, migrated with `otpinbox db upgrade`, dropped afterwards),
so runs never see each other's rows. Redis is shared but harmless to share:
rate limits are keyed by account ids of that database, and notifications only wake
waiters who then re-read their own database.

Where PostgreSQL and Redis live: ``OTPINBOX_CLUSTER_PG`` (an admin URL, default the
server of ``TEST_DATABASE_URL`` when that is PostgreSQL, else postgres@127.0.0.1:5432)
and ``OTPINBOX_CLUSTER_REDIS`` (default ``redis://127.0.0.1:6379/13``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
SECRET = "cluster-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_url() -> str:
    """A psycopg URL of the PostgreSQL server's ``postgres`` database."""
    if os.environ.get("OTPINBOX_CLUSTER_PG"):
        return os.environ["OTPINBOX_CLUSTER_PG"]
    test_url = os.environ.get("TEST_DATABASE_URL", "")
    if test_url.startswith("postgresql"):
        from sqlalchemy.engine import make_url

        url = make_url(test_url).set(drivername="postgresql", database="postgres")
        return url.render_as_string(hide_password=False)
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def redis_url() -> str:
    return os.environ.get("OTPINBOX_CLUSTER_REDIS", DEFAULT_REDIS)


def unreachable() -> str | None:
    """Why a cluster cannot run here (PostgreSQL or Redis down), or None."""
    import psycopg
    import redis

    try:
        psycopg.connect(admin_url(), connect_timeout=3, autocommit=True).close()
    except Exception as exc:
        return f"PostgreSQL unreachable at {admin_url()}: {exc.__class__.__name__}: {exc}"
    client = redis.Redis.from_url(redis_url(), socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as exc:
        return f"Redis unreachable at {redis_url()}: {exc.__class__.__name__}: {exc}"
    finally:
        client.close()
    return None


@contextlib.contextmanager
def temporary_database(prefix: str = "otpinbox_cluster") -> Iterator[str]:
    """A fresh PostgreSQL database for one run; its SQLAlchemy URL. Dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url()).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception), psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Node:
    """One running `otpinbox` process."""

    role: str
    name: str
    env: dict[str, str]
    log_path: Path
    port: int = 0  # SMTP or web port
    metrics_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", self.role],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # gunicorn's workers die with their group (kill_hard)
        )
        log.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill_hard(self) -> None:
        """SIGKILL the whole process group: no cleanup, no goodbye (a power cut)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill_hard()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            if self._ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")

    def _ready(self) -> bool:
        try:
            if self.role == "smtp":
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                    return sock.recv(100).startswith(b"220")
            url = self.url + "/readyz" if self.role == "web" else self.metrics_url
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample on this node's metrics endpoint (0 when absent)."""
        from prometheus_client.parser import text_string_to_metric_families

        url = self.url + "/metrics" if self.role == "web" else self.metrics_url
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode()
        total = 0.0
        for family in text_string_to_metric_families(body):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    total += sample.value
        return total


@dataclass
class Cluster:
    """N SMTP daemons, N web servers and N workers sharing one database and one Redis."""

    database_url: str
    workdir: Path
    smtp: list[Node] = field(default_factory=list)
    web: list[Node] = field(default_factory=list)
    workers: list[Node] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTPINBOX_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(
            OTPINBOX_DATABASE_URL=self.database_url,
            OTPINBOX_REDIS_URL=redis_url(),
            OTPINBOX_SECRET_KEY=SECRET,
            OTPINBOX_DATA_DIR=str(self.workdir),
            OTPINBOX_DOMAINS="otpinbox.test",
            OTPINBOX_WORKER_INTERVAL="0.2",
            OTPINBOX_RATE_LIMIT="100000/second",
            OTPINBOX_MAX_WAITING_ORDERS="100000",
            OTPINBOX_CANCEL_RATIO_LIMIT="1.1",  # tests cancel on purpose
            OTPINBOX_WEBHOOK_ALLOW_PRIVATE="1",  # receivers listen on 127.0.0.1
            OTPINBOX_WEB_WORKERS="1",
            OTPINBOX_WEB_THREADS="8",
            OTPINBOX_DB_POOL_SIZE="4",
            OTPINBOX_DB_MAX_OVERFLOW="8",
            OTPINBOX_DB_CONNECT_TIMEOUT="2",
            OTPINBOX_DB_POOL_TIMEOUT="5",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def add(self, role: str, index: int) -> Node:
        name = f"{role}-{'ABCDEFGH'[index]}"
        env = self.base_env()
        node = Node(role, name, env, self.workdir / f"{name}.log")
        if role == "smtp":
            node.port = free_port()
            node.metrics_port = free_port()
            env.update(
                OTPINBOX_SMTP_PORT=str(node.port), OTPINBOX_SMTP_METRICS_PORT=str(node.metrics_port)
            )
            self.smtp.append(node)
        elif role == "web":
            node.port = free_port()
            env.update(OTPINBOX_WEB_PORT=str(node.port))
            self.web.append(node)
        else:
            node.metrics_port = free_port()
            env.update(OTPINBOX_WORKER_METRICS_PORT=str(node.metrics_port))
            self.workers.append(node)
        return node

    @property
    def nodes(self) -> list[Node]:
        return [*self.smtp, *self.web, *self.workers]

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "cli", "db", "upgrade"],
            cwd=ROOT,
            env=self.base_env(),
            check=True,
            capture_output=True,
        )

    def start(self, smtp: int = 2, web: int = 2, workers: int = 2) -> None:
        for role, count in (("smtp", smtp), ("web", web), ("worker", workers)):
            for index in range(count):
                self.add(role, index).start()
        for node in self.nodes:
            node.wait_ready()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            cwd=ROOT,
            env=self.base_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )


@contextlib.contextmanager
def running_cluster(
    smtp: int = 2, web: int = 2, workers: int = 2, **extra_env: str
) -> Iterator[Cluster]:
    """A migrated, started cluster on a fresh database; everything is torn down after."""
    with temporary_database() as url, tempfile.TemporaryDirectory(prefix="otpinbox-c-") as tmp:
        cluster = Cluster(url, Path(tmp), extra_env=extra_env)
        cluster.migrate()
        try:
            cluster.start(smtp=smtp, web=web, workers=workers)
            yield cluster
        except BaseException:
            for node in cluster.nodes:  # what the processes said, for the failure report
                sys.stderr.write(f"--- {node.name} ---\n{node.log_tail()}\n")
            raise
        finally:
            cluster.stop()


# ---------------------------------------------------------------- clients


def api(
    base: str, method: str, path: str, key: str, body: Any = None, timeout: float = 30
) -> tuple[int, Any]:
    """One REST API v1 call; (status, decoded JSON)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + "/api/v1" + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        try:
            return exc.code, json.loads(payload or b"null")
        except ValueError:
            return exc.code, payload.decode(errors="replace")


def seed(database_url: str, *, credit: int = 1_000_000, price: int = 100) -> tuple[int, str]:
    """Our domain, the catch-all service 'any' and one customer with an API key."""
    from models import catalog, users
    from models.db import Database

    db = Database(database_url)
    try:
        with db.transaction() as session:
            catalog.add_domain(session, "otpinbox.test")
            catalog.add_service(session, "any", price=price, window_minutes=20)
            user = users.create_user(session, f"c{uuid.uuid4().hex[:8]}@example.com", credit=credit)
            _, key = users.create_api_key(session, user, "cluster")
            return user.id, key
    finally:
        db.dispose()


def mail(to: str, token: str, code: str = "482913") -> bytes:
    return (
        f"From: Discord <noreply@discord.com>\r\nTo: {to}\r\nSubject: Your code\r\n"
        f"Message-ID: <{token}@cluster>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Your verification code is {code}.\r\n"
    ).encode()

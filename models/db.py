"""Engines, sessions and the one place where a unit of work commits.

Domain functions take a ``Session`` and never commit; the edges (an HTTP request,
an SMTP DATA, a worker tick, a CLI command) wrap their work in :func:`transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class PoolOptions:
    """Connection pool and safety timeouts for PostgreSQL (SQLite ignores them).

    Size the pool per process: ``pool_size + max_overflow`` connections times the number
    of processes must stay below the server's ``max_connections`` (docs/deploy.md).
    """

    pool_size: int = 10
    max_overflow: int = 20
    pool_timeout: float = 10.0  # seconds to wait for a free connection before failing
    pool_recycle: int = 1800  # seconds; outlives neither a proxy's idle cut nor a failover
    connect_timeout: int = 5  # seconds; a dead server fails fast (451/503), not in minutes
    statement_timeout_ms: int = 30_000  # a statement that runs away must not hold locks
    lock_timeout_ms: int = 10_000
    # Sessions left "idle in transaction" (a stuck client) lose their locks after this.
    idle_in_transaction_timeout_ms: int = 60_000

    @classmethod
    def from_settings(cls, settings: Any) -> PoolOptions:
        """Read the ``db_*`` fields of a ``config.Settings`` (duck-typed: models/ stays
        independent of the config module)."""
        values = {
            f.name: getattr(settings, f"db_{f.name}")
            for f in fields(cls)
            if hasattr(settings, f"db_{f.name}")
        }
        return cls(**values)


def make_engine(url: str, *, options: PoolOptions | None = None, echo: bool = False) -> Engine:
    """An engine tuned for our write pattern on SQLite or PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}
        )
        _configure_sqlite(engine)
        return engine
    opts = options or PoolOptions()
    server_options = (
        f"-c statement_timeout={opts.statement_timeout_ms} "
        f"-c lock_timeout={opts.lock_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={opts.idle_in_transaction_timeout_ms}"
    )
    return create_engine(
        url,
        echo=echo,
        pool_size=opts.pool_size,
        max_overflow=opts.max_overflow,
        pool_timeout=opts.pool_timeout,
        pool_recycle=opts.pool_recycle,
        # A connection broken by a server restart is noticed before use and replaced.
        pool_pre_ping=True,
        connect_args={"options": server_options, "connect_timeout": opts.connect_timeout},
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # pysqlite would delay BEGIN until the first write; we emit it ourselves below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, which the 250 after DATA promises (RFC 5321 §6.1).
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Take the write lock up front. A deferred transaction that reads, then writes
        # after another connection committed fails with SQLITE_BUSY_SNAPSHOT at once,
        # which no busy timeout can help; readers that never write opt out.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}" if mode else "BEGIN")


class Database:
    """An engine with two session factories: writers and (cheap, concurrent) readers."""

    def __init__(self, url: str, *, options: PoolOptions | None = None, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, options=options, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.writer = sessionmaker(self.engine, expire_on_commit=False)
        reader_engine = self.engine.execution_options(sqlite_begin="DEFERRED")
        self.reader = sessionmaker(reader_engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Any) -> Database:
        """The database of a ``config.Settings``, with its pool options."""
        return cls(settings.database_url, options=PoolOptions.from_settings(settings))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self.writer() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work that never takes the SQLite write lock."""
        with self.reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()

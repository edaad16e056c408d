"""Wake-ups after a commit: "order 17 changed", "user 3 has new mail".

Publishers call :meth:`Notifier.publish` only after their transaction committed;
waiters call :meth:`Notifier.wait` and then re-read the database, which stays the
truth: a lost notification costs latency (the waiter's next re-check), never a code.

``LocalNotifier`` works inside one process (``otpinbox run``); ``RedisNotifier``
carries the same events between processes and machines through Redis pub/sub.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("otpinbox.notify")


def order_channel(order_id: int) -> str:
    return f"order:{order_id}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


Callback = Callable[[str], None]


class LocalNotifier:
    """In-process notifications: a version counter and the listeners of each channel.

    A publish wakes only the listeners of the channels it names (no thundering herd
    over a thousand waiters). Listeners are plain callables, so a thread can wait on a
    ``threading.Event`` (:meth:`wait`) and an asyncio task on an ``asyncio.Event``
    set through ``loop.call_soon_threadsafe`` (see ``web/asgi.py``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._listeners: dict[str, set[Callback]] = {}

    def version(self, channel: str) -> int:
        with self._lock:
            return self._versions.get(channel, 0)

    def subscribe(self, channel: str, callback: Callback) -> None:
        with self._lock:
            self._listeners.setdefault(channel, set()).add(callback)

    def unsubscribe(self, channel: str, callback: Callback) -> None:
        with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is not None:
                listeners.discard(callback)
                if not listeners:
                    del self._listeners[channel]

    def publish(self, channels: Iterable[str]) -> None:
        woken: list[tuple[str, Callback]] = []
        with self._lock:
            # Forget versions nobody can still be waiting on; keeps memory flat.
            if len(self._versions) > 100_000:
                self._versions = {c: v for c, v in self._versions.items() if c in self._listeners}
            for channel in channels:
                self._versions[channel] = self._versions.get(channel, 0) + 1
                woken.extend((channel, cb) for cb in self._listeners.get(channel, ()))
        for channel, callback in woken:  # outside the lock: callbacks may take their own
            try:
                callback(channel)
            except Exception:
                log.exception("notification listener failed")

    def wait(self, channel: str, since: int, timeout: float) -> int:
        """Block until ``channel`` moves past version ``since`` or ``timeout`` passes."""
        event = threading.Event()

        def wake(_: str) -> None:
            event.set()

        self.subscribe(channel, wake)
        try:
            if self.version(channel) == since:
                event.wait(max(0.0, timeout))
        finally:
            self.unsubscribe(channel, wake)
        return self.version(channel)

    def close(self) -> None:
        pass


class RedisNotifier(LocalNotifier):
    """Publishes to Redis and mirrors every message received into the local counters."""

    PREFIX = "otpinbox:"

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="redis-notify", daemon=True)
        self._thread.start()

    def publish(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        try:
            pipe = self._redis.pipeline(transaction=False)
            for channel in channels:
                pipe.publish(self.PREFIX + channel, b"1")
            pipe.execute()
        except Exception:  # the database re-check is the safety net
            log.warning("redis publish failed; waiters fall back to polling", exc_info=True)
            super().publish(channels)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(self.PREFIX + "*")
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=1.0)
                    if msg and msg.get("type") == "pmessage":
                        name = msg["channel"].decode()[len(self.PREFIX) :]
                        LocalNotifier.publish(self, [name])
            except Exception:
                log.warning("redis subscription lost; retrying in 1 s", exc_info=True)
                self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()


class PostgresNotifier(LocalNotifier):
    """PostgreSQL LISTEN/NOTIFY: the alternative to Redis when PostgreSQL is all you run.

    Publishes with ``pg_notify`` on a connection of its own (autocommit, after the
    publisher's commit) and mirrors every notification received into the local counters.
    """

    CHANNEL = "otpinbox"

    def __init__(self, database_url: str) -> None:
        super().__init__()
        from sqlalchemy.engine import make_url

        # libpq wants plain postgresql://, not SQLAlchemy's postgresql+psycopg://.
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._publisher: Any = None
        self._publish_lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="pg-notify", daemon=True)
        self._thread.start()

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self._dsn, autocommit=True, connect_timeout=5)

    def publish(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        try:
            with self._publish_lock:
                if self._publisher is None or self._publisher.closed:
                    self._publisher = self._connect()
                for channel in channels:
                    self._publisher.execute("SELECT pg_notify(%s, %s)", (self.CHANNEL, channel))
        except Exception:  # the database re-check is the safety net
            log.warning("pg_notify failed; waiters fall back to polling", exc_info=True)
            self._publisher = None
            super().publish(channels)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {self.CHANNEL}")
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            LocalNotifier.publish(self, [note.payload])
            except Exception:
                self._listening.clear()
                log.warning("LISTEN connection lost; retrying in 1 s", exc_info=True)
                self._stop.wait(1.0)

    def wait_until_listening(self, timeout: float = 5.0) -> bool:
        return self._listening.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        with self._publish_lock:
            if self._publisher is not None:
                self._publisher.close()


def make_notifier(
    redis_url: str = "", *, backend: str = "", database_url: str = ""
) -> LocalNotifier:
    """The notifier for this process: ``backend`` is ``local``, ``redis`` or ``postgres``;
    empty picks Redis when ``redis_url`` is set, else in-process."""
    backend = backend or ("redis" if redis_url else "local")
    if backend == "redis":
        return RedisNotifier(redis_url)
    if backend == "postgres":
        return PostgresNotifier(database_url)
    if backend == "local":
        return LocalNotifier()
    raise ValueError(f"unknown notification backend {backend!r} (local, redis or postgres)")


def notifier_for(settings: Any) -> LocalNotifier:
    return make_notifier(
        settings.redis_url, backend=settings.notify_backend, database_url=settings.database_url
    )


def settled_orders(session: Any, order_ids: Iterable[int], now: Any = None) -> list[int]:
    """Which of ``order_ids`` are no longer waiting (or are past their deadline).

    The waiters' safety net in one query per re-check for all of them, instead of one
    query per waiter: a lost notification then costs at most one re-check interval.
    """
    from sqlalchemy import select

    from .base import utcnow
    from .orders import WAITING, Order

    ids = list(order_ids)
    if not ids:
        return []
    now = now or utcnow()
    found: list[int] = []
    for start in range(0, len(ids), 500):  # keep IN lists a sane size
        chunk = ids[start : start + 500]
        found += session.scalars(
            select(Order.id).where(
                Order.id.in_(chunk), (Order.status != WAITING) | (Order.expires_at <= now)
            )
        ).all()
    return found

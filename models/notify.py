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
import time
from collections.abc import Iterable

log = logging.getLogger("otpinbox.notify")


def order_channel(order_id: int) -> str:
    return f"order:{order_id}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


class LocalNotifier:
    """In-process notifications: a version counter per channel and one condition."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}

    def version(self, channel: str) -> int:
        with self._cond:
            return self._versions.get(channel, 0)

    def publish(self, channels: Iterable[str]) -> None:
        with self._cond:
            for channel in channels:
                self._versions[channel] = self._versions.get(channel, 0) + 1
            self._cond.notify_all()
        # Forget channels nobody can still be waiting on; keeps memory flat.
        if len(self._versions) > 100_000:
            with self._cond:
                self._versions.clear()

    def wait(self, channel: str, since: int, timeout: float) -> int:
        """Block until ``channel`` moves past version ``since`` or ``timeout`` passes."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while self._versions.get(channel, 0) == since:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._versions.get(channel, 0)

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


def make_notifier(redis_url: str = "") -> LocalNotifier:
    return RedisNotifier(redis_url) if redis_url else LocalNotifier()

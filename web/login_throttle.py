"""Login rate limit: failed attempts counted per client IP and per account.

Counting per account as well as per IP stops a password spray from many addresses
(OWASP Authentication Cheat Sheet). Only failures count, so a user who types the
right password is never slowed down by their own earlier success. The counters live
in Redis when ``OTPINBOX_REDIS_URL`` is set (shared by every worker), else in memory.
Uses ``limits``, the library under Flask-Limiter.
"""

from __future__ import annotations

import hashlib
import time

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from config import Settings

FAILURES = "10/minute"


class LoginThrottle:
    def __init__(self, storage_uri: str, limit: str = FAILURES) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.item: RateLimitItem = parse(limit)

    @staticmethod
    def _keys(ip: str, email: str) -> list[str]:
        account = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:16]
        return [f"login:ip:{ip}", f"login:account:{account}"]

    def blocked(self, ip: str, email: str) -> int:
        """Seconds to wait before trying again (0: go ahead)."""
        waits = []
        for key in self._keys(ip, email):
            if not self.limiter.test(self.item, key):
                reset, _ = self.limiter.get_window_stats(self.item, key)
                waits.append(max(1, int(reset - time.time())))
        return max(waits, default=0)

    def failed(self, ip: str, email: str) -> None:
        for key in self._keys(ip, email):
            self.limiter.hit(self.item, key)


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["otpinbox.login_throttle"] = LoginThrottle(settings.redis_url or "memory://")


def throttle() -> LoginThrottle:
    return current_app.extensions["otpinbox.login_throttle"]

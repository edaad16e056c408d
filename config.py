"""Settings for every otpinbox process, read once from the environment.

Every setting is declared once, with its type and default, in :class:`Settings`.
``OTPINBOX_<NAME>`` sets it; for secrets, ``OTPINBOX_<NAME>_FILE`` may name a file
holding the value instead (Docker/systemd secrets). The defaults run on one machine
with no setup: a SQLite file in the working folder, SMTP on 2525, web on 8000.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFIX = "OTPINBOX_"
SECRETS = frozenset(
    {"secret_key", "database_url", "redis_url", "payment_webhook_secret", "metrics_token"}
)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///otpinbox.db"
    data_dir: str = "."
    secret_key: str = ""
    redis_url: str = ""
    # Wake-ups after commits: "local" (one process), "redis", "postgres" (LISTEN/NOTIFY);
    # empty picks redis when redis_url is set, else local.
    notify_backend: str = ""
    currency: str = "USD"
    domains: tuple[str, ...] = ("otpinbox.test",)
    # PostgreSQL pool and safety timeouts, per process (docs/deploy.md); SQLite ignores them.
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: float = 10.0
    db_pool_recycle: int = 1800
    db_connect_timeout: int = 5
    db_statement_timeout_ms: int = 30_000
    db_lock_timeout_ms: int = 10_000
    db_idle_in_transaction_timeout_ms: int = 60_000
    # /metrics of the web process: when set, scrapers must send "Authorization: Bearer <it>".
    metrics_token: str = ""
    # The worker's own Prometheus endpoint (0: off), like smtp_metrics_port for SMTP.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 0
    # Trusted reverse proxies in front of the web process (0: none). With N, the client
    # address is the Nth entry from the right of X-Forwarded-For (rate limits, audit IPs).
    web_proxy_hops: int = 0

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_hostname: str = "otpinbox.test"
    smtp_max_message_bytes: int = 10 * 1024 * 1024
    smtp_max_recipients: int = 100
    smtp_timeout: float = 300.0
    # Limits for an MX on the public internet (see docs/smtp.md); 0 turns a cap off.
    smtp_data_timeout: float = 300.0
    smtp_max_command_bytes: int = 512
    smtp_max_unknown_commands: int = 5
    smtp_max_junk_commands: int = 100
    smtp_max_connections: int = 1000
    smtp_max_connections_per_ip: int = 20
    smtp_tls_cert: str = ""
    smtp_tls_key: str = ""
    smtp_require_starttls: bool = False
    smtp_proxy_protocol: bool = False
    smtp_proxy_timeout: float = 5.0
    smtp_metrics_host: str = "127.0.0.1"
    smtp_metrics_port: int = 0
    smtp_batch_max: int = 64
    # Seconds to wait before the 220 greeting; a client that talks first gets 554 (0: no pause,
    # early talkers are served like pipelining clients). See docs/smtp.md "Early talkers".
    smtp_greet_pause: float = 0.0
    # Wall-clock bound on MIME parsing + extraction of one message; past it the message is
    # stored raw and flagged (the parser thread cannot be killed: the input caps bound it).
    smtp_parse_timeout: float = 10.0
    smtp_retention_max_age_days: int = 30
    smtp_retention_max_per_address: int = 200

    web_host: str = "127.0.0.1"
    web_port: int = 8000
    web_workers: int = 2
    web_threads: int = 32
    # Session cookies are marked Secure unless told otherwise; plain-http demo runs turn it off.
    secure_cookies: bool = False

    default_window_minutes: int = 20
    max_wait_seconds: int = 60
    worker_interval: float = 1.0
    min_deposit: int = 100
    min_withdrawal: int = 1000
    withdrawal_fee_percent: int = 33
    payment_webhook_secret: str = ""
    dispute_window_days: int = 5

    # Realtime API, webhooks, rate limits and abuse controls (docs/realtime.md).
    rate_limit: str = "20/second"
    webhook_max_attempts: int = 10
    webhook_timeout: float = 10.0
    # Webhooks to loopback/private addresses are refused (SSRF) unless this is on.
    webhook_allow_private: bool = False
    max_waiting_orders: int = 50
    # Cooldown: an account that canceled at least this share of its last N activations
    # (N = cancel_window_orders) cannot buy for cancel_cooldown_minutes.
    cancel_ratio_limit: float = 0.8
    cancel_window_orders: int = 20
    cancel_cooldown_minutes: int = 15
    # The free mail.tm-compatible API (/compat/mailtm): the account that owns its mailboxes
    # (empty: the API is off), the service its rentals run under, and their lifetime.
    mailtm_owner: str = ""
    mailtm_service: str = "any"
    mailtm_days: int = 7
    mailtm_rate_limit: str = "8/second"  # per client IP, as mail.tm documents its own

    # Support tickets, abuse detection and privacy (docs/operations.md).
    ticket_deposit_report_minutes: int = 30
    ticket_attachment_max_bytes: int = 512 * 1024
    abuse_shared_accounts: int = 2
    abuse_signal_days: int = 30
    abuse_cancel_ratio: float = 0.7
    abuse_cancel_min_orders: int = 20
    abuse_cancel_days: int = 7
    abuse_burst_orders: int = 30
    abuse_burst_minutes: int = 5
    abuse_bounced_deposits: int = 1
    abuse_bounce_days: int = 30
    # Rules whose new flags suspend the account without waiting for an admin (default none).
    abuse_auto_suspend_rules: tuple[str, ...] = ()
    abuse_scan_seconds: int = 60  # how often the worker runs the detectors (0: never)
    privacy_ip_retention_days: int = 180
    privacy_ticket_retention_days: int = 365

    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``), then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "extra":
                continue
            raw = _read(env, f.name)
            if raw is not None:
                values[f.name] = _coerce(f.name, f.type, raw)
        values.update(overrides)
        settings = cls(**values)
        if not settings.secret_key:
            settings = dataclasses.replace(settings, secret_key=_stored_secret(settings.data_dir))
        return settings

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _read(env: Any, name: str) -> str | None:
    key = PREFIX + name.upper()
    if key in env:
        return env[key]
    if name in SECRETS and key + "_FILE" in env:
        return Path(env[key + "_FILE"]).read_text().strip()
    return None


def _coerce(name: str, annotation: Any, raw: str) -> Any:
    kind = str(annotation)
    try:
        if kind == "bool":
            if raw.strip().lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.strip().lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind.startswith("tuple"):
            return _split(raw)
    except ValueError:
        raise SystemExit(
            f"otpinbox: {PREFIX}{name.upper()}={raw!r} is not a valid {kind}"
        ) from None
    return raw


def _stored_secret(data_dir: str) -> str:
    """A secret key generated once and kept in the data folder, so restarts keep sessions."""
    path = Path(data_dir) / "otpinbox-secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value

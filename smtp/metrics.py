"""Prometheus metrics of the SMTP process, served on ``OTPINBOX_SMTP_METRICS_PORT``.

With ``otpinbox smtp --workers N`` each process serves its own registry on
``port + worker_index`` (scrape them all; sum in PromQL), which avoids the
shared-directory machinery of prometheus-client's multiprocess mode.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("otpinbox.smtp")

ACCEPTED = Counter("otpinbox_smtp_accepted_messages", "Messages committed and answered 250")
REJECTED = Counter(
    "otpinbox_smtp_rejected", "Negative SMTP replies, by reason", labelnames=("reason",)
)
RECEIVED_BYTES = Counter("otpinbox_smtp_received_bytes", "Bytes of accepted message data")
PARSE_FAILURES = Counter(
    "otpinbox_smtp_parse_failures", "Messages stored raw because parsing failed or was refused"
)
COMMIT_SECONDS = Histogram(
    "otpinbox_smtp_commit_seconds",
    "Time of one group commit (parse excluded)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
BATCH_SIZE = Histogram(
    "otpinbox_smtp_commit_batch_messages",
    "Messages per group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
QUEUE_DEPTH = Gauge("otpinbox_smtp_queue_depth", "Messages waiting for the committer")
CONNECTIONS = Gauge("otpinbox_smtp_connections", "Open SMTP connections")

# Reply prefix -> reason label. Checked in order; the first match wins.
_REASONS = (
    ("550 5.7.1", "relay_denied"),
    ("550 5.1.1", "unknown_recipient"),
    ("452", "too_many_recipients"),
    ("552", "too_big"),
    ("451", "storage_failure"),
    ("421 4.7.0 Too many connections", "connection_limit"),
    ("421", "command_limit"),
    ("502", "unknown_command_limit"),
    ("500 5.5.2 Line too long", "line_too_long"),
    ("500 5.5.2 Command line too long", "command_too_long"),
    ("530", "starttls_required"),
    ("554 5.5.1 Protocol error: client talked", "early_talker"),
    ("554", "policy"),
)


def count_rejection(reply: str) -> None:
    """Count one 4xx/5xx reply under a short reason label."""
    for prefix, reason in _REASONS:
        if reply.startswith(prefix):
            REJECTED.labels(reason=reason).inc()
            return
    REJECTED.labels(reason="protocol").inc()


def serve_metrics(host: str, port: int) -> None:
    if port:
        start_http_server(port, addr=host)
        log.info("SMTP metrics on http://%s:%s/metrics", host, port)

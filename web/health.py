"""Liveness, readiness and Prometheus metrics of the web process.

- ``/healthz``: the process answers (liveness; never touches the database, so a
  database outage does not make an orchestrator restart healthy web processes).
- ``/readyz``: the database answers and, when configured, Redis too; 503 otherwise, so a
  load balancer stops sending traffic until both are back.
- ``/metrics``: request counts and latencies. Under gunicorn with several workers, set
  ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder, wiped at each start) and every worker
  writes its samples there; any worker then answers for all of them.

A database that went away mid-request answers 503 with ``Retry-After`` instead of a 500,
so clients retry and monitors see an outage, not a bug.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import InternalServerError

from . import dbsession

log = logging.getLogger("otpinbox.web")

bp = Blueprint("health", __name__)

RETRY_AFTER_SECONDS = 5

REQUESTS = Counter(
    "otpinbox_http_requests",
    "HTTP requests answered, by route, method and status",
    labelnames=("route", "method", "status"),
)
LATENCY = Histogram(
    "otpinbox_http_request_seconds",
    "Time to answer an HTTP request (long-polls and streams included), by route",
    labelnames=("route",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UNAVAILABLE = Counter(
    "otpinbox_http_unavailable",
    "Requests answered 503 because the database or Redis could not be reached",
)


@bp.get("/healthz")
def healthz() -> tuple[str, int]:
    return "ok\n", 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = {"database": _database_ok()}
    if dbsession.settings().redis_url:
        checks["redis"] = _redis_ok(dbsession.settings().redis_url)
    ready = all(checks.values())
    body = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    response = jsonify({"ready": ready, "checks": body})
    if not ready:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, 200 if ready else 503


def _database_ok() -> bool:
    try:
        with dbsession.database().read() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        log.warning("readiness: database unreachable", exc_info=True)
        return False


def _redis_ok(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except Exception:
        log.warning("readiness: redis unreachable", exc_info=True)
        return False
    finally:
        client.close()


@bp.get("/metrics")
def metrics() -> Response:
    token = dbsession.settings().metrics_token
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return Response("metrics need a bearer token\n", 401, mimetype="text/plain")
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def reset_multiprocess_dir() -> None:
    """Empty ``PROMETHEUS_MULTIPROC_DIR`` before the workers start: sample files left by
    an earlier run would otherwise be added to this one's counters."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink(missing_ok=True)


def child_exit(_server: Any, worker: Any) -> None:
    """gunicorn hook: a worker that exited stops counting in live gauges (its counters stay)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        # The URL rule, not the path: /orders/<id> is one series, not one per order.
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(route=route, method=request.method, status=str(response.status_code)).inc()
        LATENCY.labels(route=route).observe(time.perf_counter() - started)
    return response


def _unavailable(exc: Exception) -> Response:
    """The database could not be reached (restart, failover, busy, full pool): 503.

    Only ``OperationalError`` (the server or connection failed) and a pool timeout land
    here; an ``IntegrityError`` or a programming error stays the 500 it is.
    """
    UNAVAILABLE.inc()
    log.warning("database unavailable: %s", exc.__class__.__name__)
    message = "the service is briefly unavailable; retry shortly"
    if request.path.startswith("/api/"):
        response = jsonify({"error": {"code": "unavailable", "message": message}})
    else:
        response = Response(message + "\n", mimetype="text/plain")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _server_error(exc: InternalServerError) -> Any:
    """A 500 caused by the database going away after the view (the request's commit in
    ``dbsession``) is an outage too: 503. Any other 500 keeps its usual shape."""
    cause = exc.original_exception
    if isinstance(cause, OperationalError | PoolTimeout):
        return _unavailable(cause)
    if request.path.startswith("/api/"):
        from .api.errors import http_error

        return http_error(exc)
    return exc


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_error_handler(OperationalError, _unavailable)
    app.register_error_handler(PoolTimeout, _unavailable)
    # By status code, so it runs before the API blueprint's catch-all HTTPException handler.
    app.register_error_handler(500, _server_error)

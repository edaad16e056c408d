"""/healthz, /readyz and /metrics of the web process, and 503 while the database is away."""

from __future__ import annotations

import socket

import pytest

from config import Settings
from models.db import Database, PoolOptions
from tests.conftest import free_port


def _app(settings: Settings, db: Database | None = None):  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app(settings, db=db)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    return app


def _broken_settings(settings: Settings, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    # A SQLite file in a folder that does not exist: every connection attempt fails.
    return settings.replace(database_url=f"sqlite:///{tmp_path}/missing/dir/otpinbox.db")


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_liveness_and_readiness_with_a_working_database(client):  # type: ignore[no-untyped-def]
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"ready": True, "checks": {"database": "ok"}}


def test_not_ready_while_the_database_is_unreachable(settings, tmp_path):  # type: ignore[no-untyped-def]
    client = _app(_broken_settings(settings, tmp_path)).test_client()
    assert client.get("/healthz").status_code == 200  # alive: restarting it would not help
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"database": "unavailable"}
    assert ready.headers["Retry-After"]


def test_api_answers_503_not_500_while_the_database_is_unreachable(settings, tmp_path):  # type: ignore[no-untyped-def]
    client = _app(_broken_settings(settings, tmp_path)).test_client()
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer x" * 3})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0
    page = client.post("/login", data={"email": "a@example.com", "password": "x"})
    assert page.status_code == 503


def test_readiness_checks_redis_when_configured(settings, clean_db):  # type: ignore[no-untyped-def]
    dead_redis = settings.replace(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = _app(dead_redis, clean_db)
    ready = app.test_client().get("/readyz")
    app.extensions["otpinbox.notifier"].close()
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "unavailable"}
    if not _redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    app = _app(settings.replace(redis_url="redis://127.0.0.1:6379/0"), clean_db)
    ready = app.test_client().get("/readyz")
    app.extensions["otpinbox.notifier"].close()
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_metrics_count_requests_by_route_not_by_url(client):  # type: ignore[no-untyped-def]
    for order_id in (123456789, 123456790):
        client.get(f"/api/v1/orders/{order_id}")  # 401: no key; one series for both
    body = client.get("/metrics").get_data(as_text=True)
    assert "# TYPE otpinbox_http_requests_total counter" in body
    line = next(
        ln
        for ln in body.splitlines()
        if ln.startswith("otpinbox_http_requests_total{")
        and 'route="/api/v1/orders/<order_id>"' in ln
        and 'status="401"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert "123456789" not in body
    assert "otpinbox_http_request_seconds_bucket" in body


def test_metrics_token_is_required_when_set(settings, clean_db):  # type: ignore[no-untyped-def]
    client = _app(settings.replace(metrics_token="s3cret"), clean_db).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert "otpinbox_http_requests_total" in ok.get_data(as_text=True)


def test_pool_options_come_from_settings():
    settings = Settings.from_env(
        {"OTPINBOX_DB_POOL_SIZE": "3", "OTPINBOX_DB_STATEMENT_TIMEOUT_MS": "1500"},
        secret_key="x",
    )
    options = PoolOptions.from_settings(settings)
    assert options.pool_size == 3 and options.statement_timeout_ms == 1500
    assert options.lock_timeout_ms == Settings().db_lock_timeout_ms


def test_postgresql_sessions_get_the_configured_timeouts(database_url):  # type: ignore[no-untyped-def]
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no statement or lock timeouts")
    from sqlalchemy import text

    db = Database(
        database_url,
        options=PoolOptions(pool_size=2, statement_timeout_ms=1234, lock_timeout_ms=567),
    )
    try:
        with db.read() as session:
            assert session.scalar(text("SHOW statement_timeout")) == "1234ms"
            assert session.scalar(text("SHOW lock_timeout")) == "567ms"
        assert db.engine.pool.size() == 2
    finally:
        db.dispose()


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(settings, clean_db):  # type: ignore[no-untyped-def]
    from flask import request

    def client_address(hops: int) -> str:
        app = _app(settings.replace(web_proxy_hops=hops), clean_db)
        app.add_url_rule("/_client", "client", lambda: request.remote_addr or "")
        response = app.test_client().get(
            "/_client",
            headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.7"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )
        return response.get_data(as_text=True)

    assert client_address(0) == "10.0.0.2"  # no proxy trusted: the header is ignored
    assert client_address(1) == "203.0.113.7"  # the one our proxy appended, not the forgery


def test_metrics_add_up_across_processes_in_multiprocess_mode(tmp_path, database_url):  # type: ignore[no-untyped-def]
    """Two processes (as two gunicorn workers) write to one PROMETHEUS_MULTIPROC_DIR; a
    scrape answered by either one counts the requests of both."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = """
import sys
from config import Settings
from web import create_app
app = create_app(Settings.from_env({}, database_url=sys.argv[1], secret_key="x"))
client = app.test_client()
for _ in range(int(sys.argv[2])):
    client.get("/healthz")
body = client.get("/metrics").get_data(as_text=True)
prefix = "otpinbox_http_requests_total"
print([ln for ln in body.splitlines() if ln.startswith(prefix) and "healthz" in ln][0])
"""
    folder = tmp_path / "prom"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    root = Path(__file__).resolve().parents[1]
    from web.health import reset_multiprocess_dir

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    try:
        reset_multiprocess_dir()
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script, database_url, str(count)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.strip()
        for count in (3, 4)
    ]
    assert outputs[0].endswith(" 3.0")
    assert outputs[1].endswith(" 7.0")  # 4 of its own + 3 of the first process


def test_a_commit_that_fails_because_the_database_went_away_is_a_503(
    settings, clean_db, monkeypatch
):  # type: ignore[no-untyped-def]
    """The view succeeded, then the request's commit (web/dbsession.py) hit a dead server."""
    from flask import jsonify
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from web import dbsession

    app = _app(settings, clean_db)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # handle errors as in production

    def view():  # type: ignore[no-untyped-def]
        dbsession.session().execute(text("SELECT 1"))
        return jsonify(ok=True)

    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/_probe", "probe", view)
    app.add_url_rule("/_probe", "page_probe", view)
    app.add_url_rule("/api/v1/_bug", "bug", boom)
    client = app.test_client()

    def dead_commit(self):  # type: ignore[no-untyped-def]
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Session, "commit", dead_commit)
    api_answer = client.get("/api/v1/_probe")
    assert api_answer.status_code == 503
    assert api_answer.get_json()["error"]["code"] == "unavailable"
    assert api_answer.headers["Retry-After"]
    assert client.get("/_probe").status_code == 503
    monkeypatch.undo()
    bug = client.get("/api/v1/_bug")  # a real bug stays a 500, in the API's JSON shape
    assert bug.status_code == 500
    assert bug.get_json()["error"]["code"] == "internal_server_error"

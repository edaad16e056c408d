"""Fixtures per layer.

- ``db``: the session-wide :class:`Database` (SQLite file, or ``TEST_DATABASE_URL``).
- ``session``: a Session inside a transaction that is rolled back after the test;
  domain code may "commit" (it only releases a savepoint). For pure domain tests.
- ``clean_db``: the real database for tests where several connections, threads or
  processes must see each other's commits (web client, SMTP server, races); every
  table is emptied afterwards.
- ``app`` / ``client``: the Flask app on ``clean_db``; ``smtp_server``: a real
  aiosmtpd server on a free port with our handler.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import models
from config import Settings
from models.db import Database
from models.notify import LocalNotifier
from tests.factories import Catalog, make_catalog

os.environ.setdefault("OTPINBOX_SECRET_KEY", "test-secret")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    models.Base.metadata.drop_all(database.engine)
    with database.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    models.Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def empty_all_tables(db: Database) -> None:
    tables = list(reversed(models.Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if db.is_sqlite:
            for table in tables:
                conn.execute(table.delete())
        else:
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    conn = db.engine.connect()
    trans = conn.begin()
    sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        trans.rollback()
        conn.close()


@pytest.fixture
def clean_db(db: Database) -> Iterator[Database]:
    empty_all_tables(db)
    yield db
    empty_all_tables(db)


@pytest.fixture
def catalog(session: Session) -> Catalog:
    return make_catalog(session)


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings.from_env(
        {},
        database_url=database_url,
        data_dir=str(tmp_path),
        secret_key="test-secret",
        smtp_port=free_port(),
        web_port=free_port(),
        domains=("otpinbox.test",),
        # Tests fire requests faster than a customer may; tests of the limit set their own.
        rate_limit="100000/second",
    )


@pytest.fixture
def notifier() -> LocalNotifier:
    return LocalNotifier()


@pytest.fixture
def app(settings: Settings, clean_db: Database, notifier: LocalNotifier):  # type: ignore[no-untyped-def]
    from web import create_app

    application = create_app(settings, db=clean_db, notifier=notifier)
    application.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def smtp_server(settings: Settings, clean_db: Database, notifier: LocalNotifier):  # type: ignore[no-untyped-def]
    from smtp.server import OtpController

    controller = OtpController(settings, clean_db, notifier)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def live_server(app, settings: Settings):  # type: ignore[no-untyped-def]
    """The app served over real HTTP (werkzeug, threaded) on ``settings.web_port``; its URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", settings.web_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{settings.web_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()

"""PostgreSQL LISTEN/NOTIFY carries wake-ups between processes, like Redis does."""

from __future__ import annotations

import os

import pytest

from models.notify import PostgresNotifier, make_notifier

URL = os.environ.get("TEST_DATABASE_URL", "")
if not URL.startswith("postgresql"):
    URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pair():  # type: ignore[no-untyped-def]
    try:
        import psycopg

        psycopg.connect(URL.replace("+psycopg", ""), connect_timeout=2).close()
    except Exception as exc:
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    publisher, listener = PostgresNotifier(URL), PostgresNotifier(URL)
    assert listener.wait_until_listening(10) and publisher.wait_until_listening(10)
    yield publisher, listener
    publisher.close()
    listener.close()


def test_a_publish_in_one_process_wakes_a_waiter_in_another(pair):  # type: ignore[no-untyped-def]
    publisher, listener = pair
    before = listener.version("order:7")
    publisher.publish(["order:7", "user:3"])
    assert listener.wait("order:7", before, 10) == before + 1
    assert listener.wait("user:3", 0, 10) == 1
    assert listener.version("order:8") == 0  # only the channels published


def test_backend_selection():
    assert type(make_notifier("")).__name__ == "LocalNotifier"
    with pytest.raises(ValueError):
        make_notifier("", backend="carrier-pigeon")

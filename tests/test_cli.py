"""The ``otpinbox`` command, run as a user would: a fresh database, migrations, admin tasks."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh SQLite database in a temporary data folder."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("OTPINBOX_DATABASE_URL", url)
    monkeypatch.setenv("OTPINBOX_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OTPINBOX_SECRET_KEY", raising=False)
    return url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_admin_commands_from_an_empty_database(env):
    assert run("db", "upgrade") == (0, "database is up to date\n")
    assert run("db", "upgrade")[0] == 0  # idempotent
    assert run("domain", "add", "Mail.Example.test")[1] == "serving mail.example.test\n"
    code, out = run("service", "add", "discord", "--price", "150", "--window", "15")
    assert code == 0 and "price 150, window 15 min" in out
    code, out = run(
        "user", "create", "ann@example.com", "--password", "long-password", "--credit", "500"
    )
    assert code == 0 and "balance 500" in out
    code, out = run("apikey", "create", "ann@example.com")
    key = out.strip().splitlines()[-1]
    assert code == 0 and key.startswith("oib_") and len(key) > 40
    assert run("ledger", "check") == (0, "ledger ok\n")


def test_errors_are_one_line_and_non_zero(env):
    run("db", "upgrade")
    code, out = run("apikey", "create", "ghost@example.com")
    assert code == 1 and out.startswith("Error: ") and len(out.strip().splitlines()) == 1
    code, out = run("user", "create", "not-an-email")
    assert code == 1 and "valid e-mail" in out
    run("user", "create", "ann@example.com")
    code, out = run("user", "create", "ANN@example.com")
    assert code == 1 and "already exists" in out
    assert run("service", "add", "x", "--price", "-1")[0] == 2  # click's usage error
    assert run("domain", "add", "not a domain")[0] == 1


def test_demo_seeds_once_and_prints_the_key_last(env):
    run("db", "upgrade")
    code, out = run("demo")
    assert code == 0 and "demo@otpinbox.test" in out
    assert out.strip().splitlines()[-1].startswith("oib_")
    assert "no demo data added" in run("demo")[1]


def test_secret_key_is_generated_once_and_kept(env, tmp_path):
    from config import Settings

    first = Settings.from_env().secret_key
    assert first and Settings.from_env().secret_key == first
    assert (tmp_path / "otpinbox-secret.key").stat().st_mode & 0o077 == 0


def test_secrets_can_come_from_files(tmp_path):
    from config import Settings

    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    settings = Settings.from_env(
        {"OTPINBOX_SECRET_KEY_FILE": str(secret), "OTPINBOX_SMTP_PORT": "2600"}
    )
    assert settings.secret_key == "from-a-file" and settings.smtp_port == 2600
    with pytest.raises(SystemExit):
        Settings.from_env({"OTPINBOX_SMTP_PORT": "many"})


def test_migrations_build_the_schema_the_models_describe(env):
    assert run("db", "upgrade")[0] == 0
    assert run("db", "check")[0] == 0
    tables = set(inspect(create_engine(env)).get_table_names())
    assert {"users", "orders", "ledger_entries", "messages", "alembic_version"} <= tables


def test_console_script_is_installed():
    out = subprocess.run(
        [sys.executable, "-m", "cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("run", "smtp", "web", "worker", "db", "domain", "service", "user", "apikey"):
        assert command in out

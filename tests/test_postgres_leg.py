"""The PostgreSQL leg's gate: a machine without PostgreSQL skips the leg, saying why, and a CI
machine (`CI` set) fails instead, so that CI cannot pass without the leg."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import postgres_server
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_binaries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres_server, "find_binaries", lambda: None)


def test_without_binaries_the_leg_skips_naming_what_is_missing(
    no_binaries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert "no PostgreSQL binaries in /usr/lib/postgresql" in str(postgres_server.unavailable_reason())
    with pytest.raises(pytest.skip.Exception, match="the PostgreSQL leg needs PostgreSQL on this machine: no Postgr"):
        postgres_server.require_postgres()


def test_under_ci_a_missing_postgresql_fails_the_leg(no_binaries: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the PostgreSQL leg, but no PostgreSQL binaries"):
        postgres_server.require_postgres()


def test_the_makefile_asks_the_same_question() -> None:
    asked = subprocess.run(
        [sys.executable, "tests/postgres_server.py"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    reason = postgres_server.unavailable_reason()
    assert asked.returncode == (1 if reason else 0)
    assert asked.stdout.strip() == (reason or "PostgreSQL is available")


def test_a_postgresql_url_without_the_driver_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from payment_kit_sandbox.__main__ import main

    monkeypatch.setitem(sys.modules, "psycopg", None)  # what `import psycopg` meets without the extra
    assert main(["--db", "postgresql://team:hunter2@127.0.0.1:1/sandbox", "--port", "1"]) == 2
    said = capsys.readouterr().err
    assert "pip install 'blocklet-payment-kit[postgres]'" in said and "team:***@127.0.0.1:1" in said
    assert "hunter2" not in said

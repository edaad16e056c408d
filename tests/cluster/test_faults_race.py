"""Cancel racing delivery with every side in its own process, on PostgreSQL: the small
version of bench/faults_race.py (which runs 1,000 trials). tests/test_race.py is the
threaded version on whichever database the suite uses."""

from __future__ import annotations

import pytest

from tests.cluster.harness import temporary_database, unreachable
from tests.cluster.test_faults_kill import load_bench

pytestmark = pytest.mark.slow


def test_processes_racing_cancel_and_delivery_never_produce_two_outcomes():
    reason = unreachable()
    if reason:
        pytest.skip(reason)
    with temporary_database("otpinbox_race") as url:
        result = load_bench("faults_race").run(url, trials=60, pairs=3)
    assert result.trials >= 60
    assert result.errors == []  # neither side failed: no 5xx, no 451
    assert result.double_outcomes == []
    assert result.ledger_problems == []
    assert set(result.outcomes) <= {"completed", "canceled"}

"""kill -9 of SMTP daemons and workers while mail flows: the small version of
bench/faults_kill.py (a few kills, a few hundred acked messages).

Promises checked: no message that got a 250 is lost, no order stays past its deadline
once the cluster caught up, every ledger and order/ledger invariant holds."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.cluster.harness import ROOT, unreachable

pytestmark = pytest.mark.slow


def load_bench(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_kill_9_of_smtp_and_workers_loses_nothing_and_strands_no_order():
    reason = unreachable()
    if reason:
        pytest.skip(reason)
    result = load_bench("faults_kill").run(kills=4, min_acked=150, senders=2, max_seconds=60)
    assert sum(result.kills.values()) >= 4
    assert len(result.acked) >= 150
    assert result.lost == set()
    assert result.stuck == 0
    assert result.ledger_problems == []
    assert result.ledger_cli_ok
    assert result.outcomes.get("expired", 0) > 0  # the workers did expire orders meanwhile

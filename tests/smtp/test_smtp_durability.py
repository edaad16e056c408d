"""S9 in the suite: SIGKILL the real daemon while clients send; no 250 may be lost.

A small version (2 cycles, a few hundred acked messages); bench/smtp_durability.py runs
the big one (>= 5 cycles, >= 5,000 acked)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "bench" / "smtp_durability.py"


def load_harness():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("smtp_durability", HARNESS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_no_acknowledged_message_is_lost_across_kill_9(clean_db):
    harness = load_harness()
    result = harness.run(clean_db.url, cycles=2, min_acked=200, clients=3, max_seconds=60)
    assert result.cycles >= 2
    assert len(result.acked) >= 200
    assert result.lost == set()

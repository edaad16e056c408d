"""The worker runs the detectors (and privacy retention) on its interval, not every tick."""

from __future__ import annotations

import cli
from models import abuse_detection as ad
from tests.factories import make_user


def test_business_sweeps_flag_shared_ips_once_per_interval(clean_db, settings):
    settings = settings.replace(abuse_scan_seconds=60)
    with clean_db.transaction() as s:
        for _ in range(2):
            user = make_user(s)
            ad.record_login(s, user.id, ip="192.0.2.200", fingerprint="", registration=True)
    cli._last_business_sweep = 0.0
    assert cli.business_sweeps(clean_db, settings, now=1000.0) == 2
    with clean_db.transaction() as s:
        make_user_id = make_user(s).id
        ad.record_login(s, make_user_id, ip="192.0.2.200", fingerprint="", registration=True)
    assert cli.business_sweeps(clean_db, settings, now=1030.0) == 0  # within the interval
    assert cli.business_sweeps(clean_db, settings, now=1061.0) == 1
    assert cli.business_sweeps(clean_db, settings.replace(abuse_scan_seconds=0), now=9e9) == 0

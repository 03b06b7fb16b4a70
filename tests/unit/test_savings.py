"""The avoided-cost method in isolation: which rule applies, and the arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jobwarden.model import Avoided, CostBasis, Job
from jobwarden.savings import HORIZON, estimate_avoided

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SMALL = CostBasis((("codebuild:LINUX_CONTAINER:BUILD_GENERAL1_SMALL", 1.0),))  # $0.30 an hour


def job(run_minutes: float | None, timeout: float | None, basis=SMALL) -> Job:
    started = None if run_minutes is None else NOW - timedelta(minutes=run_minutes)
    return Job(
        service="codebuild",
        job_id="p:1",
        name="p",
        region="us-east-1",
        status="IN_PROGRESS",
        submitted_at=NOW - timedelta(hours=30),
        started_at=started,
        cost_basis=basis,
        timeout_minutes=timeout,
    )


@pytest.mark.parametrize(
    ("run", "timeout", "expected"),
    [
        (30, 90, Avoided(0.3, 60.0, "timeout")),  # an hour to its timeout
        (120, 60, Avoided(0.0, 0.0, "timeout")),  # past its timeout: nothing more to run
        (60, 60 + 24 * 60, Avoided(7.2, 1440.0, "timeout")),  # exactly the horizon away
        (60, 61 + 24 * 60, Avoided(7.2, 1440.0, "horizon")),  # further: capped
        (60, None, Avoided(7.2, 1440.0, "horizon")),  # no timeout at all
        (None, 90, Avoided(0.0, 0.0, "queued")),  # not started: nothing billed
    ],
)
def test_method_and_amount(run, timeout, expected):
    found = estimate_avoided(job(run, timeout), NOW, {})
    assert found.method == expected.method
    assert found.minutes == pytest.approx(expected.minutes)
    assert found.usd == pytest.approx(expected.usd)


def test_an_unpriced_job_has_minutes_but_no_money():
    unknown = CostBasis((("codebuild:LINUX_CONTAINER:BUILD_GENERAL1_HUGE", 1.0),))
    assert estimate_avoided(job(30, 90, unknown), NOW, {}) == Avoided(None, 60.0, "unpriced")
    assert estimate_avoided(job(30, 90, None), NOW, {}).method == "unpriced"


def test_the_settings_prices_apply():
    prices = {"codebuild:LINUX_CONTAINER:BUILD_GENERAL1_SMALL": 0.6}
    assert estimate_avoided(job(30, 90), NOW, prices).usd == pytest.approx(0.6)


def test_the_horizon_is_a_day():
    assert HORIZON.total_seconds() == 24 * 3600

"""Deadline arithmetic cannot overflow: a deadline Scheduler cannot take is not scheduled."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from jobwarden.bounds import LATEST_SCHEDULABLE
from jobwarden.deadlines import SchedulerDeadlines, Targets
from jobwarden.engine import later, next_deadline
from jobwarden.model import CostBasis

from tests.unit.factories import job, policy


class RecordingScheduler:
    def __init__(self) -> None:
        self.requests: list[dict] = []

    def create_schedule(self, **request) -> None:
        self.requests.append(request)


def book() -> tuple[SchedulerDeadlines, RecordingScheduler]:
    scheduler = RecordingScheduler()
    targets = Targets({"codebuild": "arn:aws:lambda:us-east-1:1:function:f"}, "arn:role")
    return SchedulerDeadlines(scheduler, targets), scheduler


@pytest.mark.parametrize("minutes", [1e10, 1e300, float("inf"), float("nan")])
def test_an_unvalidated_huge_run_limit_gives_no_deadline_instead_of_overflowing(minutes):
    assert next_deadline(job(), policy(max_run_minutes=minutes), {}) is None


def test_an_unvalidated_huge_queue_limit_gives_no_deadline():
    assert next_deadline(job(run_minutes=None), policy(max_queue_minutes=1e300), {}) is None


def test_a_tiny_price_makes_a_cost_deadline_too_far_to_schedule():
    prices = {"codebuild:LINUX_CONTAINER:BUILD_GENERAL1_SMALL": 1e-300}
    assert next_deadline(job(), policy(max_cost_usd=5), prices) is None


def test_the_nearest_schedulable_limit_still_counts_when_another_is_too_far():
    running = job(run_minutes=30)
    found = next_deadline(running, policy(max_run_minutes=60, max_cost_usd=1e300), {})
    assert found == running.started_at + timedelta(minutes=60)


def test_a_job_dated_near_the_end_of_time_gets_no_deadline():
    late = replace(job(), started_at=datetime(9999, 12, 31, tzinfo=UTC))
    assert next_deadline(late, policy(max_run_minutes=60), {}) is None


def test_later_stops_at_what_scheduler_accepts():
    start = LATEST_SCHEDULABLE - timedelta(minutes=10)
    assert later(start, 10) == LATEST_SCHEDULABLE
    assert later(start, 10.5) is None


def test_a_deadline_beyond_what_scheduler_accepts_is_not_scheduled():
    deadlines, scheduler = book()
    at = datetime(2300, 1, 1, tzinfo=UTC)
    assert deadlines.schedule("codebuild", "us-east-1", "b:1", "b", at) is None
    assert scheduler.requests == []


def test_a_deadline_scheduler_accepts_is_scheduled():
    deadlines, scheduler = book()
    at = datetime(2199, 12, 31, 23, 58, tzinfo=UTC)
    assert deadlines.schedule("codebuild", "us-east-1", "b:1", "b", at)
    assert scheduler.requests[0]["ScheduleExpression"] == "at(2199-12-31T23:58:01)"


def test_a_cost_deadline_is_computed_from_the_rate():
    running = replace(job(run_minutes=0), cost_basis=CostBasis((("glue:dpu", 1.0),)))
    found = next_deadline(running, policy(max_cost_usd=0.44), {})
    assert found == running.started_at + timedelta(hours=1)

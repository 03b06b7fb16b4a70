"""The sweep flow with an in-memory adapter, ledger and alert sink."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import ClassVar

import pytest
from jobwarden.act import Lease
from jobwarden.alerts import MemoryAlerts
from jobwarden.aws import Clients
from jobwarden.index import Change, JobEvent, MemoryIndex
from jobwarden.ledger import MemoryLedger
from jobwarden.model import Action, Job, Mode, Outcome, Retry, RetryStarted, Settings, Verdict
from jobwarden.policies import Configuration, Problem
from jobwarden.services.base import ServiceAdapter, Unreadable
from jobwarden.sweep import Sweeper

from tests.conftest import NOW
from tests.unit.factories import job, policy


class FakeAdapter(ServiceAdapter):
    name = "fake"
    grants = ()
    jobs: ClassVar[dict[str, list[Job]]] = {}
    stops: ClassVar[list[str]] = []
    finished: ClassVar[set[str]] = set()
    broken: ClassVar[set[str]] = set()
    failing_regions: ClassVar[set[str]] = set()

    def list_active(self, now: datetime) -> Iterator[Job]:
        if self.region in self.failing_regions:
            raise RuntimeError("AccessDenied")
        yield from self.jobs.get(self.region, [])

    def stop(self, job: Job, reason: str) -> Outcome:
        self.stops.append(job.job_id)
        if job.job_id in self.broken:
            raise RuntimeError("InternalServerError")
        return Outcome.ALREADY_FINISHED if job.job_id in self.finished else Outcome.STOPPED

    def read_back(self, job: Job, reason: str) -> Outcome | None:
        if job.job_id in self.finished:
            return Outcome.ALREADY_FINISHED
        if job.job_id in self.stops and job.job_id not in self.broken:
            return Outcome.STOPPED
        return None

    def describe_many(self, job_ids, now, names=None):
        active = {job.job_id: job for job in self.jobs.get(self.region, [])}
        return {job_id: active[job_id] for job_id in job_ids if job_id in active}


@pytest.fixture(autouse=True)
def reset_fake():
    FakeAdapter.jobs = {}
    FakeAdapter.stops = []
    FakeAdapter.finished = set()
    FakeAdapter.broken = set()
    FakeAdapter.failing_regions = set()


def fake_job(name: str, run_minutes: float, attempt: str = "", **fields) -> Job:
    made = job(name=name, run_minutes=run_minutes, job_id=f"{name}:1", **fields)
    return replace(made, service="fake", attempt=attempt)


LIMIT = policy("one-hour", max_run_minutes=60)


# The unit tests' clock stands still at NOW: the sweeps' readings are always fresh.
LEASE = Lease(owner="test-run", length=timedelta(minutes=6), clock=lambda: NOW)


def sweeper(
    settings: Settings, *policies, problems=(), adapter=FakeAdapter, lease=LEASE
) -> tuple[Sweeper, MemoryLedger, MemoryAlerts]:
    ledger, alerts = MemoryLedger(), MemoryAlerts()
    configuration = Configuration(settings, tuple(policies or (LIMIT,)), tuple(problems))
    clients = Clients(default_region="us-east-1")
    return (
        Sweeper(clients, ledger, alerts, configuration, adapters={"fake": adapter}, lease=lease),
        ledger,
        alerts,
    )


def test_enforce_stops_records_and_alerts():
    FakeAdapter.jobs = {"us-east-1": [fake_job("stuck", 95), fake_job("healthy", 10)]}
    sweep, ledger, alerts = sweeper(Settings(mode=Mode.ENFORCE))
    result = sweep.run("fake", NOW)
    assert FakeAdapter.stops == ["stuck:1"]
    assert result.summary() == {
        "service": "fake",
        "seen": 2,
        "stopped": 1,
        "notified": 0,
        "errors": 0,
        "busy": 0,
        "recovered": 0,
        "deferred": 0,
        "undelivered": 0,
    }
    assert [(e.job_name, e.outcome) for e in ledger.recorded] == [("stuck", Outcome.STOPPED)]
    assert [e.job_name for e in alerts.sent] == ["stuck"]


def test_dry_run_never_calls_stop_but_records_and_alerts():
    FakeAdapter.jobs = {"us-east-1": [fake_job("stuck", 95)]}
    sweep, ledger, alerts = sweeper(Settings(mode=Mode.DRY_RUN))
    result = sweep.run("fake", NOW)
    assert FakeAdapter.stops == []
    assert result.stopped == 0
    assert [e.outcome for e in ledger.recorded] == [Outcome.WOULD_STOP]
    assert len(alerts.sent) == 1


def test_a_second_sweep_does_not_stop_or_alert_twice():
    FakeAdapter.jobs = {"us-east-1": [fake_job("stuck", 95)]}
    sweep, ledger, alerts = sweeper(Settings(mode=Mode.ENFORCE))
    sweep.run("fake", NOW)
    again = sweep.run("fake", NOW)
    assert FakeAdapter.stops == ["stuck:1"]
    assert again.outcomes["fake#us-east-1#stuck:1"] is Outcome.ALREADY_HANDLED
    assert len(ledger.recorded) == len(alerts.sent) == 1


def test_already_finished_is_recorded_not_an_error():
    FakeAdapter.jobs = {"us-east-1": [fake_job("stuck", 95)]}
    FakeAdapter.finished = {"stuck:1"}
    sweep, ledger, _ = sweeper(Settings(mode=Mode.ENFORCE))
    result = sweep.run("fake", NOW)
    assert result.errors == 0
    assert ledger.recorded[0].outcome is Outcome.ALREADY_FINISHED


def test_one_failing_stop_does_not_hide_the_others_and_can_be_retried():
    FakeAdapter.jobs = {"us-east-1": [fake_job("broken", 95), fake_job("stuck", 95)]}
    FakeAdapter.broken = {"broken:1"}
    sweep, ledger, _alerts = sweeper(Settings(mode=Mode.ENFORCE))
    result = sweep.run("fake", NOW)
    assert sorted(FakeAdapter.stops) == ["broken:1", "stuck:1"]
    assert (result.stopped, result.errors, result.stop_failures) == (1, 1, 1)
    failed = next(e for e in ledger.recorded if e.outcome is Outcome.FAILED)
    assert "InternalServerError" in failed.reason
    assert ledger.get("fake#us-east-1#broken:1", "stop") is None  # given back for the next sweep
    sweep.run("fake", NOW)
    assert FakeAdapter.stops.count("broken:1") == 2


def test_the_stop_budget_holds_the_rest_across_sweeps_until_the_window_passes():
    FakeAdapter.jobs = {"us-east-1": [fake_job(f"stuck-{n}", 95) for n in range(4)]}
    settings = Settings(mode=Mode.ENFORCE, max_stops_per_window=2, stop_window_minutes=60)
    sweep, ledger, _ = sweeper(settings)
    result = sweep.run("fake", NOW)
    assert len(FakeAdapter.stops) == 2
    assert result.stopped == 2
    held = [e for e in ledger.recorded if e.verdict is Verdict.HELD]
    assert len(held) == 2
    assert held[0].reason.endswith("the stop budget of 2 per 60 min for fake is spent")
    sweep.run("fake", NOW + timedelta(minutes=5))  # a later sweep finds the window still spent
    assert len(FakeAdapter.stops) == 2
    sweep.lease = replace(LEASE, clock=lambda: NOW + timedelta(minutes=61))
    sweep.run("fake", NOW + timedelta(minutes=61))  # the window has passed
    assert len(FakeAdapter.stops) == 4


def test_kill_switch_stops_nothing():
    FakeAdapter.jobs = {"us-east-1": [fake_job("stuck", 95)]}
    sweep, ledger, _ = sweeper(Settings(mode=Mode.ENFORCE, kill_switch=True))
    sweep.run("fake", NOW)
    assert FakeAdapter.stops == []
    assert ledger.recorded[0].outcome is Outcome.HELD


def test_exempt_jobs_are_left_alone():
    FakeAdapter.jobs = {"us-east-1": [fake_job("special", 95, tags={"jobwarden:exempt": "true"})]}
    sweep, ledger, alerts = sweeper(Settings(mode=Mode.ENFORCE))
    result = sweep.run("fake", NOW)
    assert FakeAdapter.stops == []
    assert result.decisions[0].verdict is Verdict.EXEMPT
    assert ledger.recorded == alerts.sent == []


def test_notify_policy_alerts_once():
    FakeAdapter.jobs = {"us-east-1": [fake_job("slow", 95)]}
    notify = policy("watch", max_run_minutes=60, action=Action.NOTIFY)
    sweep, _ledger, alerts = sweeper(Settings(mode=Mode.ENFORCE), notify)
    first = sweep.run("fake", NOW)
    sweep.run("fake", NOW)
    assert FakeAdapter.stops == []
    assert first.notified == 1
    assert [e.outcome for e in alerts.sent] == [Outcome.NOTIFIED]


def test_a_failing_region_is_reported_and_the_others_swept():
    FakeAdapter.jobs = {"eu-west-1": [fake_job("stuck", 95)]}
    FakeAdapter.failing_regions = {"us-east-1"}
    two_regions = Settings(mode=Mode.ENFORCE, regions=("us-east-1", "eu-west-1"))
    sweep, ledger, _alerts = sweeper(two_regions)
    result = sweep.run("fake", NOW)
    assert FakeAdapter.stops == ["stuck:1"]
    assert result.failed_regions == ["us-east-1"]
    assert not result.every_region_failed
    error = next(e for e in ledger.recorded if e.verdict is Verdict.ERROR)
    assert error.subject == "sweep#fake#us-east-1"
    assert "AccessDenied" in error.reason


def test_invalid_policy_is_reported_once_per_version():
    problem = Problem("bad", ("limits.max_run_minutes: must be greater than 0, got -1",), "abc")
    sweep, ledger, alerts = sweeper(Settings(), problems=[problem])
    first = sweep.run("fake", NOW)
    sweep.run("fake", NOW)
    assert first.errors == 1
    assert len(ledger.recorded) == len(alerts.sent) == 1
    assert ledger.recorded[0].subject == "policy#bad"
    assert "must be greater than 0" in ledger.recorded[0].reason


def test_a_failing_alert_keeps_the_record_and_the_next_sweep_sends_it():
    FakeAdapter.jobs = {"us-east-1": [fake_job("stuck", 95)]}
    sweep, ledger, alerts = sweeper(Settings(mode=Mode.ENFORCE))
    alerts.failing = True
    result = sweep.run("fake", NOW)
    assert result.stopped == 1
    assert result.undelivered == 1
    assert len(ledger.recorded) == 1
    alerts.failing = False
    later = sweep.run("fake", NOW + timedelta(minutes=5))
    assert later.undelivered == 0
    assert [e.outcome for e in alerts.sent] == [Outcome.STOPPED]


class RetryingAdapter(FakeAdapter):
    supports_retry = True
    still_stopping: ClassVar[set[str]] = set()
    retries: ClassVar[list[tuple[str, int]]] = []

    def retry(self, pending, attempt):
        if pending.job_id in self.still_stopping:
            return None
        self.retries.append((pending.job_id, attempt))
        return RetryStarted(pending.job_id)


RETRYING = policy(
    "retry-once", max_run_minutes=60, retry=Retry(type="RETRY_FAILED_BUILDS", max_attempts=2)
)


def retry_sweeper(settings: Settings):
    RetryingAdapter.still_stopping = set()
    RetryingAdapter.retries = []
    sweep, ledger, _ = sweeper(settings, RETRYING, adapter=RetryingAdapter)
    return sweep, ledger


def test_a_stopped_job_is_retried_once_it_has_stopped_up_to_the_cap():
    FakeAdapter.jobs = {"us-east-1": [fake_job("flaky", 95)]}
    RetryingAdapter.still_stopping = {"flaky:1"}
    sweep, ledger = retry_sweeper(Settings(mode=Mode.ENFORCE))
    RetryingAdapter.still_stopping = {"flaky:1"}

    sweep.run("fake", NOW)  # stops it; the retry waits for the stop to finish
    assert FakeAdapter.stops == ["flaky:1"]
    sweep.run("fake", NOW)  # still stopping: no retry yet
    assert RetryingAdapter.retries == []

    RetryingAdapter.still_stopping = set()
    FakeAdapter.jobs = {}
    first = sweep.run("fake", NOW)
    assert RetryingAdapter.retries == [("flaky:1", 1)]
    assert first.retried == 1
    retry_entry = ledger.recorded[-1]
    assert (retry_entry.verdict, retry_entry.outcome, retry_entry.attempt) == (
        Verdict.RETRY,
        Outcome.RETRIED,
        1,
    )
    assert retry_entry.reason == (
        "retry 1 of 2 (RETRY_FAILED_BUILDS) after a stop under policy retry-once"
    )
    sweep.run("fake", NOW)  # nothing pending: never retried twice
    assert RetryingAdapter.retries == [("flaky:1", 1)]

    for attempt in (2, 3):  # stuck again after each retry: stopped again, retried to the cap
        FakeAdapter.jobs = {"us-east-1": [fake_job("flaky", 95, attempt=str(attempt))]}
        sweep.run("fake", NOW)
        FakeAdapter.jobs = {}
        sweep.run("fake", NOW)
        assert len(FakeAdapter.stops) == attempt
    assert RetryingAdapter.retries == [("flaky:1", 1), ("flaky:1", 2)]
    assert ledger.recorded[-1].outcome is Outcome.RETRIES_EXHAUSTED
    assert ledger.pending == {}


def test_a_job_that_cannot_be_retried_leaves_the_queue_without_using_an_attempt():
    FakeAdapter.jobs = {"us-east-1": [fake_job("flaky", 95)]}
    sweep, ledger = retry_sweeper(Settings(mode=Mode.ENFORCE))

    class Gone(RetryingAdapter):
        def retry(self, pending, attempt):
            return Outcome.ALREADY_FINISHED

    sweep.adapters = {"fake": Gone}
    sweep.run("fake", NOW)
    FakeAdapter.jobs = {}
    sweep.run("fake", NOW)
    assert ledger.pending == {}
    assert ledger.count_claims("fake#us-east-1#flaky:1", "retry#") == 0
    assert ledger.recorded[-1].reason == "not retried: the job ended on its own or no longer exists"
    sweep.run("fake", NOW)
    gave_up = [e for e in ledger.recorded if e.verdict is Verdict.RETRY]
    assert [e.outcome for e in gave_up] == [Outcome.ALREADY_FINISHED]  # reported once


def test_dry_run_never_retries():
    FakeAdapter.jobs = {"us-east-1": [fake_job("flaky", 95)]}
    sweep, ledger = retry_sweeper(Settings(mode=Mode.DRY_RUN))
    sweep.run("fake", NOW)
    FakeAdapter.jobs = {}
    sweep.run("fake", NOW)
    assert FakeAdapter.stops == []
    assert RetryingAdapter.retries == []
    assert ledger.pending == {}


class IndexedAdapter(FakeAdapter):
    events = (("test.fake", "Fake Job State Change"),)
    listings: ClassVar[int] = 0
    described: ClassVar[list[list[str]]] = []

    def list_active(self, now):
        IndexedAdapter.listings += 1
        yield from super().list_active(now)

    def describe_many(self, job_ids, now, names=None):
        IndexedAdapter.described.append(list(job_ids))
        active = {job.job_id: job for job in self.jobs.get(self.region, [])}
        return {job_id: active[job_id] for job_id in job_ids if job_id in active}


def indexed_sweeper(index):
    IndexedAdapter.listings = 0
    IndexedAdapter.described = []
    configuration = Configuration(Settings(mode=Mode.ENFORCE, reconcile_every_minutes=30), (LIMIT,))
    return Sweeper(
        Clients(default_region="us-east-1"),
        MemoryLedger(),
        MemoryAlerts(),
        configuration,
        adapters={"fake": IndexedAdapter},
        index=index,
        lease=LEASE,
    )


def started(job_id, at=NOW):
    return JobEvent("fake", "us-east-1", job_id, job_id.split(":")[0], "RUNNING", True, at)


def test_sweeps_read_the_indexed_jobs_and_list_in_full_on_the_slower_cadence():
    index = MemoryIndex()
    sweep = indexed_sweeper(index)
    FakeAdapter.jobs = {"us-east-1": [fake_job("stuck", 95), fake_job("unseen", 10)]}
    index.observe(started("stuck:1"))

    first = sweep.run("fake", NOW)  # never reconciled: a full listing
    assert IndexedAdapter.listings == 1
    assert first.missed == 1  # "unseen" had no event
    assert {j.job_id for j in index.active("fake", "us-east-1")} == {"stuck:1", "unseen:1"}

    FakeAdapter.jobs = {"us-east-1": [fake_job("unseen", 10)]}  # "stuck" was stopped
    second = sweep.run("fake", NOW + timedelta(minutes=5))
    assert IndexedAdapter.listings == 1  # no listing: the index's jobs, read in one call
    assert IndexedAdapter.described == [["stuck:1", "unseen:1"]]
    assert second.seen == 1
    assert [j.job_id for j in index.active("fake", "us-east-1")] == ["unseen:1"]

    sweep.run("fake", NOW + timedelta(minutes=31))
    assert IndexedAdapter.listings == 2


def test_services_without_events_are_always_listed_in_full():
    index = MemoryIndex()
    sweep = Sweeper(
        Clients(),
        MemoryLedger(),
        MemoryAlerts(),
        Configuration(Settings(), (LIMIT,)),
        adapters={"fake": FakeAdapter},
        index=index,
    )
    FakeAdapter.jobs = {"us-east-1": [fake_job("stuck", 95)]}
    first = sweep.run("fake", NOW)
    assert sweep.run("fake", NOW + timedelta(minutes=5)).seen == 1  # FakeAdapter: no events
    assert first.missed == 0  # no events were expected, so none were missed
    assert index.active("fake", "us-east-1") == []


def test_a_listing_drops_indexed_jobs_whose_end_was_missed():
    index = MemoryIndex()
    sweep = indexed_sweeper(index)
    index.observe(started("gone:1"))
    FakeAdapter.jobs = {"us-east-1": []}
    sweep.run("fake", NOW)
    assert index.active("fake", "us-east-1") == []


def test_the_index_ignores_late_and_repeated_events():
    index = MemoryIndex()
    end = replace(started("job:1", NOW + timedelta(minutes=1)), active=False, state="SUCCEEDED")
    assert index.observe(end)[0] is Change.LEFT
    assert index.observe(started("job:1"))[0] is Change.IGNORED
    assert index.observe(end)[0] is Change.IGNORED
    assert index.active("fake", "us-east-1") == []
    assert index.observe(started("other:1", NOW))[0] is Change.ENTERED
    assert index.observe(started("other:1", NOW - timedelta(minutes=1)))[0] is Change.IGNORED
    assert index.observe(started("other:1", NOW))[0] is Change.UPDATED


def test_a_listing_with_an_unreadable_resource_drops_no_indexed_job():
    class PartlyUnreadable(IndexedAdapter):
        def list_active(self, now):
            yield Unreadable("fake queue q2", "AccessDenied")
            yield from super().list_active(now)

    index = MemoryIndex()
    sweep = indexed_sweeper(index)
    sweep.adapters = {"fake": PartlyUnreadable}
    index.observe(started("in-q2:1"))
    FakeAdapter.jobs = {"us-east-1": []}
    result = sweep.run("fake", NOW)
    assert [j.job_id for j in index.active("fake", "us-east-1")] == ["in-q2:1"]
    assert result.errors == 1
    assert "could not read fake queue q2: AccessDenied" in result.entries[0].reason

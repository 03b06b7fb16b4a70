"""Glue and Batch through the event path: their events, and re-reading indexed jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jobwarden.alerts import MemoryAlerts
from jobwarden.index import Change, DynamoIndex
from jobwarden.ledger import MemoryLedger
from jobwarden.local import amplify as amplify_demo
from jobwarden.local import batch as batch_demo
from jobwarden.local import glue as glue_demo
from jobwarden.model import Settings
from jobwarden.policies import Configuration
from jobwarden.services.amplify import AmplifyJobs
from jobwarden.services.batch import BatchJobs
from jobwarden.services.glue import GlueJobRuns
from jobwarden.sweep import Sweeper

from tests.conftest import sample_event as sample


@pytest.mark.parametrize(
    ("adapter", "name", "active", "state"),
    [
        (GlueJobRuns, "glue_job_run_status.json", True, "RUNNING"),
        (GlueJobRuns, "glue_job_run_status_starting.json", True, "STARTING"),
        (GlueJobRuns, "glue_job_run_status_stopping.json", False, "STOPPING"),
        (GlueJobRuns, "glue_job_state_change_failed.json", False, "FAILED"),
        (GlueJobRuns, "glue_job_state_change_succeeded.json", False, "SUCCEEDED"),
        (BatchJobs, "batch_job_state_change_runnable.json", True, "RUNNABLE"),
    ],
)
def test_documented_events_become_job_events(adapter, name, active, state):
    event = adapter.from_event(sample(name))
    assert event is not None
    assert (event.service, event.active, event.state) == (adapter.name, active, state)
    assert event.job_id
    assert event.name


def test_glue_run_status_says_when_the_run_started():
    event = GlueJobRuns.from_event(sample("glue_job_run_status.json"))
    assert event is not None
    assert event.running_since == datetime(2018, 4, 24, 20, 55, 47, 941000, tzinfo=UTC)


def test_batch_array_children_are_left_to_their_parent():
    event = sample("batch_job_state_change_runnable.json")
    event["detail"]["jobId"] += ":3"
    event["detail"]["arrayProperties"] = {"index": 3}
    assert BatchJobs.from_event(event) is None


def test_glue_runs_are_re_read_by_name_and_id(account):
    now = datetime.now(UTC)
    runs = glue_demo.seed_demo(account.emulator, account.clients, now)
    ids = list(runs.values())
    adapter = GlueJobRuns(account.clients, "us-east-1", Settings())
    listed = {job.job_id: job for job in adapter.list_active(now)}
    names = {job_id: listed[job_id].name for job_id in ids}
    found = adapter.describe_many(ids, now, names)
    assert set(found) == set(ids)
    assert found[ids[0]].cost_basis == listed[ids[0]].cost_basis
    assert found[ids[0]].tags == {"team": "data"}
    account.emulator.fill("glue").finish(ids[1])
    assert set(adapter.describe_many(ids, now, names)) == {ids[0]}
    assert adapter.describe(ids[1], now, names[ids[1]]) is None


def test_batch_jobs_are_re_read_with_their_queue_tags(account):
    now = datetime.now(UTC)
    jobs = batch_demo.seed_demo(account.emulator, account.clients, now)
    ids = list(jobs.values())
    adapter = BatchJobs(account.clients, "us-east-1", Settings())
    listed = {job.job_id: job for job in adapter.list_active(now)}
    found = adapter.describe_many(ids, now)
    assert set(found) == set(ids) == set(listed)
    for job_id in ids:
        assert found[job_id].tags == listed[job_id].tags
        assert found[job_id].submitted_at == listed[job_id].submitted_at


def test_glue_starts_are_not_evented_so_every_sweep_lists_glue_in_full(account):
    """Glue sends "Job Run Status" only past a job's NotifyDelayAfter (AWS Glue's EventBridge
    page): an index could not know every running run, so Glue sweeps list in full each time,
    write no index and count no event as missed; the events that do come still end runs."""
    now = datetime.now(UTC)
    runs = glue_demo.seed_demo(account.emulator, account.clients, now)
    index = DynamoIndex(account.clients.dynamodb_table(account.resources.table))
    sweeper = Sweeper(
        account.clients,
        MemoryLedger(),
        MemoryAlerts(),
        Configuration(Settings(), ()),
        index=index,
    )
    first = sweeper.run("glue", now)
    assert (first.seen, first.missed) == (2, 0)
    account.emulator.calls.clear()
    second = sweeper.run("glue", now + timedelta(minutes=5))
    assert second.seen == 2
    assert ("glue", "GetJobRuns") in account.emulator.calls
    assert index.active("glue", "us-east-1") == []
    account.emulator.fill("glue").finish(list(runs.values())[1])
    assert sweeper.run("glue", now + timedelta(minutes=10)).seen == 1
    change, _ = index.observe(
        GlueJobRuns.from_event(sample("glue_job_state_change_failed.json"))  # type: ignore[arg-type]
    )
    assert change is Change.LEFT  # an end still leaves its tombstone


def amplify_event(status: str) -> dict:
    """AWS documents this event's fields but shows no sample; these are its documented keys."""
    return {
        "version": "0",
        "id": "a1b2c3d4-0000-0000-0000-000000000000",
        "detail-type": "Amplify Deployment Status Change",
        "source": "aws.amplify",
        "account": "123456789012",
        "time": "2026-11-23T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:amplify:us-east-1:123456789012:apps/d1abc/branches/main/jobs/7"],
        "detail": {"appId": "d1abc", "branchName": "main", "jobId": "7", "jobStatus": status},
    }


@pytest.mark.parametrize(
    ("status", "active"), [("STARTED", True), ("SUCCEED", False), ("FAILED", False)]
)
def test_amplify_deployment_events(status, active):
    event = AmplifyJobs.from_event(amplify_event(status))
    assert event is not None
    assert (event.job_id, event.name, event.active) == ("d1abc/main/7", "d1abc/main", active)


def test_amplify_jobs_are_re_read_by_their_qualified_id(account):
    now = datetime.now(UTC)
    jobs = amplify_demo.seed_demo(account.emulator, account.clients, now)
    adapter = AmplifyJobs(account.clients, "us-east-1", Settings())
    listed = {job.job_id: job for job in adapter.list_active(now)}
    ids = list(jobs.values())
    found = adapter.describe_many(ids, now)
    assert set(found) == set(ids) == set(listed)
    for job_id in ids:
        assert found[job_id].name == listed[job_id].name
        assert found[job_id].tags == listed[job_id].tags
        assert found[job_id].started_at == listed[job_id].started_at
    assert adapter.describe("d1abc/main/404", now) is None

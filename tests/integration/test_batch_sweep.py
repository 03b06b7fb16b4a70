"""A whole Batch sweep through `jobwarden scan`: list, decide, record, stop, alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jobwarden.services.batch  # noqa: F401 - registers the adapter
import pytest
import time_machine
from jobwarden.local.account import put_policy, put_settings
from jobwarden.local.batch import (
    DEMO_POLICIES,
    BatchFill,
    describe_for_demo,
    register_job_definition,
    seed_demo,
)
from jobwarden.local.emulator import AwsError

from tests.conftest import alert_bodies

STUCK = "genome-align-chr7 (RUNNABLE 5 h, 60 min queue limit)"
HEALTHY = "daily-report (healthy, running 40 min)"
REASON = "queued 300 min, over the 60 min queue limit of policy batch-queue-time"


@pytest.fixture(autouse=True)
def fill(account):
    return account.emulator.add(BatchFill)


@pytest.fixture
def jobs(account, fill) -> dict[str, str]:
    """The demo's scenario: one job stuck in RUNNABLE for 5 hours, one healthy job."""
    put_settings(account.clients, {"mode": "dry_run"})
    for name, document in DEMO_POLICIES.items():
        put_policy(account.clients, name, document)
    return seed_demo(account.emulator, account.clients, datetime.now(UTC))


def scan(account, capsys, *extra: str) -> tuple[int, dict[str, dict]]:
    code, lines = account.scan(capsys, "--service", "batch", *extra)
    return code, {line.get("job_id", line.get("subject", "")): line for line in lines}


def status(account, job_id: str) -> dict:
    return account.clients.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]


def test_dry_run_records_and_alerts_but_leaves_the_job_queued(account, capsys, jobs):
    code, decisions = scan(account, capsys)

    assert code == 0
    stuck = decisions[jobs[STUCK]]
    assert (stuck["verdict"], stuck["outcome"], stuck["mode"]) == ("stop", "would_stop", "dry_run")
    assert stuck["reason"] == REASON
    assert stuck["status"] == "RUNNABLE"
    assert decisions[jobs[HEALTHY]]["verdict"] == "ok"
    assert describe_for_demo(account.clients, jobs) == {
        jobs[STUCK]: "RUNNABLE",
        jobs[HEALTHY]: "RUNNING",
    }
    (item,) = account.ledger_items()
    assert (item["service"], item["job_id"], item["outcome"], item["mode"]) == (
        "batch",
        jobs[STUCK],
        "would_stop",
        "dry_run",
    )
    (alert,) = account.alerts()
    assert alert["MessageAttributes"]["service"]["Value"] == "batch"
    assert alert_bodies([alert])[0]["outcome"] == "would_stop"


def test_enforce_terminates_the_stuck_job_with_the_reason(account, capsys, jobs):
    code, decisions = scan(account, capsys, "--enforce")

    assert code == 0
    stuck = decisions[jobs[STUCK]]
    assert (stuck["verdict"], stuck["outcome"], stuck["mode"]) == ("stop", "stopped", "enforce")
    assert decisions[jobs[HEALTHY]]["outcome"] == "none"
    assert describe_for_demo(account.clients, jobs) == {
        jobs[STUCK]: "FAILED",
        jobs[HEALTHY]: "RUNNING",
    }
    assert status(account, jobs[STUCK])["statusReason"] == REASON
    (item,) = account.ledger_items()
    assert (item["job_id"], item["policy"], item["outcome"], item["reason"]) == (
        jobs[STUCK],
        "batch-queue-time",
        "stopped",
        REASON,
    )
    (alert,) = alert_bodies(account.alerts())
    assert (alert["job_id"], alert["outcome"]) == (jobs[STUCK], "stopped")

    code, decisions = scan(account, capsys, "--enforce")  # the next sweep: nothing left
    assert code == 0
    assert list(decisions) == [jobs[HEALTHY]]


def test_one_failed_terminate_does_not_hide_the_others(account, capsys, fill, jobs):
    """Batch stops one job per call: a failure is recorded for its job, the claim given back,
    and the other stops still land."""
    now = datetime.now(UTC)
    register_job_definition(account.clients, "genome-index", vcpus=64, memory_mib=262144)
    with time_machine.travel(now - timedelta(hours=3), tick=False):
        other = account.clients.client("batch").submit_job(
            jobName="genome-index", jobQueue="analytics", jobDefinition="genome-index"
        )["jobId"]
        fill.set_status(other, "RUNNABLE")
    terminate = fill.terminate_job

    def failing(params, region):
        if params["jobId"] == jobs[STUCK]:
            raise AwsError("AccessDeniedException", "not authorized: batch:TerminateJob", 403)
        return terminate(params, region)

    fill.terminate_job = failing
    try:
        code, decisions = scan(account, capsys, "--enforce")
    finally:
        fill.terminate_job = terminate

    assert code == 1
    assert decisions[jobs[STUCK]]["outcome"] == "failed"
    assert decisions[other]["outcome"] == "stopped"
    assert describe_for_demo(account.clients, {"a": jobs[STUCK], "b": other}) == {
        jobs[STUCK]: "RUNNABLE",
        other: "FAILED",
    }
    outcomes = {i["job_id"]: i["outcome"] for i in account.ledger_items()}
    assert outcomes == {jobs[STUCK]: "failed", other: "stopped"}
    claims = {i["pk"] for i in account.ledger_items(claims=True)}
    assert f"batch#us-east-1#{jobs[STUCK]}" not in claims  # given back for the next sweep

    code, decisions = scan(account, capsys, "--enforce")  # the next sweep retries it
    assert (code, decisions[jobs[STUCK]]["outcome"]) == (0, "stopped")

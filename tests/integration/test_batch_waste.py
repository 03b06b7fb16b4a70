"""Batch queue waits judged by why they wait, and resubmission to a fallback queue, end to end
through `jobwarden scan`: a hopeless reason stopped at once, a capacity wait within its limit
left alone, one past it submitted again to the fallback queue and cancelled, crash-safe."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jobwarden.services.batch  # noqa: F401 - registers the adapter
import pytest
import time_machine
from jobwarden.local.account import put_policy, put_settings
from jobwarden.local.batch import BatchFill, create_job_queue, register_job_definition
from jobwarden.local.emulator import WIRE
from jobwarden.services.batch import RESUBMIT_OF_TAG

from tests.conftest import alert_bodies

HOPELESS = (
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU)"
    " is higher than that can be met by the CE(s) attached to the job queue."
)
NO_CAPACITY = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - All compute environments have insufficient "
    "capacity to service the job."
)
POLICY = {
    "match": {"services": ["batch"]},
    "limits": {"max_queue_minutes_by_reason": {"MISCONFIGURATION:*": 0, "CAPACITY:*": 240}},
}
RESUBMITTING = {**POLICY, "resubmit": {"job_queue": "fallback"}}
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Killed(BaseException):
    """The process dies here (Lambda's timeout, an out-of-memory kill)."""


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def batch(account, clock):
    """Two queues and a definition; the mode enforce."""
    create_job_queue(account.clients, "analytics", {"team": "data"})
    create_job_queue(account.clients, "fallback")
    register_job_definition(account.clients, "align", vcpus=4, memory_mib=8192)
    put_settings(account.clients, {"mode": "enforce"})
    return account.clients.client("batch")


def runnable(account, batch, name: str, ago: timedelta, reason: str) -> str:
    """A job submitted `ago`, RUNNABLE for `reason` since 30 s later."""
    fill: BatchFill = account.emulator.fill("batch")
    with time_machine.travel(T0 - ago, tick=False):
        job_id: str = batch.submit_job(
            jobName=name,
            jobQueue="analytics",
            jobDefinition="align",
            parameters={"sample": "chr7"},
            containerOverrides={
                "command": ["align", "Ref::sample"],
                "environment": [{"name": "STAGE", "value": "prod"}],
            },
            retryStrategy={"attempts": 2},
            tags={"run": "42"},
        )["jobId"]
        fill.set_status(job_id, "PENDING")
    with time_machine.travel(T0 - ago + timedelta(seconds=30), tick=False):
        fill.set_status(job_id, "RUNNABLE", reason)
    return job_id


def scan(account, capsys, *extra: str) -> dict[str, dict]:
    code, lines = account.scan(capsys, "--service", "batch", *extra)
    assert code == 0, lines
    return {line.get("job_id", ""): line for line in lines}


def job(batch, job_id: str) -> dict:
    return batch.describe_jobs(jobs=[job_id])["jobs"][0]


def in_queue(batch, queue: str) -> list[dict]:
    ids = [
        s["jobId"]
        for status in ("SUBMITTED", "PENDING", "RUNNABLE", "SUCCEEDED", "FAILED")
        for s in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
    ]
    return batch.describe_jobs(jobs=ids)["jobs"] if ids else []


def test_a_hopeless_reason_is_stopped_at_once_and_a_capacity_wait_in_its_limit_is_not(
    account, capsys, batch
):
    put_policy(account.clients, "batch-reasons", POLICY)
    hopeless = runnable(account, batch, "too-big", timedelta(minutes=2), HOPELESS)
    waiting = runnable(account, batch, "patient", timedelta(minutes=200), NO_CAPACITY)

    decisions = scan(account, capsys)

    stopped = decisions[hopeless]
    assert (stopped["verdict"], stopped["outcome"]) == ("stop", "stopped")
    reason = (
        "queued 2 min waiting for MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT, a reason stopped at "
        "once (MISCONFIGURATION:*: 0 min) of policy batch-reasons"
    )
    assert stopped["reason"] == reason
    assert (job(batch, hopeless)["status"], job(batch, hopeless)["statusReason"]) == (
        "FAILED",
        reason,
    )
    assert decisions[waiting]["verdict"] == "ok"
    assert job(batch, waiting)["status"] == "RUNNABLE"
    (body,) = alert_bodies(account.alerts())
    assert (body["job_id"], body["reason"]) == (hopeless, reason)


def test_a_capacity_wait_past_its_limit_is_stopped_without_a_fallback(account, capsys, batch):
    put_policy(account.clients, "batch-reasons", POLICY)
    late = runnable(account, batch, "late", timedelta(hours=5), NO_CAPACITY)

    decisions = scan(account, capsys)

    assert decisions[late]["reason"] == (
        "queued 300 min waiting for CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY, over the 240 min "
        "queue limit for CAPACITY:* of policy batch-reasons"
    )
    assert job(batch, late)["status"] == "FAILED"


def test_a_dry_run_resubmits_nothing(account, capsys, batch):
    put_settings(account.clients, {"mode": "dry_run"})
    put_policy(account.clients, "batch-reasons", RESUBMITTING)
    stuck = runnable(account, batch, "stuck", timedelta(hours=5), NO_CAPACITY)

    decisions = scan(account, capsys)

    assert (decisions[stuck]["verdict"], decisions[stuck]["outcome"]) == (
        "resubmit",
        "would_resubmit",
    )
    assert job(batch, stuck)["status"] == "RUNNABLE"
    assert in_queue(batch, "fallback") == []
    (item,) = account.ledger_items()
    assert item["sk"] == "decision#dry-run-resubmit#fallback"


def test_a_stuck_job_is_resubmitted_to_the_fallback_queue_and_cancelled(account, capsys, batch):
    put_policy(account.clients, "batch-reasons", RESUBMITTING)
    stuck = runnable(account, batch, "stuck", timedelta(hours=5), NO_CAPACITY)
    original = job(batch, stuck)

    decisions = scan(account, capsys)

    (copy,) = in_queue(batch, "fallback")
    assert copy["jobId"] != stuck
    assert copy["jobName"] == "stuck"
    assert copy["jobDefinition"] == original["jobDefinition"]
    assert copy["parameters"] == {"sample": "chr7"}
    assert copy["retryStrategy"] == {"attempts": 2}
    assert copy["container"]["command"] == ["align", "Ref::sample"]
    assert copy["container"]["environment"] == [{"name": "STAGE", "value": "prod"}]
    assert (
        copy["container"]["resourceRequirements"] == original["container"]["resourceRequirements"]
    )
    assert copy["tags"] == {"run": "42", RESUBMIT_OF_TAG: stuck}
    assert job(batch, stuck)["status"] == "FAILED"  # cancelled, with the decision's reason
    assert job(batch, stuck)["statusReason"].startswith("queued 300 min waiting for CAPACITY:")

    decision = decisions[stuck]
    assert (decision["verdict"], decision["outcome"]) == ("resubmit", "resubmitted")
    assert decision["reason"].endswith(
        "; resubmitted to job queue fallback; submitted again to job queue fallback as job "
        f"{copy['jobId']}; this job cancelled"
    )
    assert decisions[stuck]["queue_reason"] == "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
    assert decisions[copy["jobId"]]["linked"] == stuck  # the copy's own line, as the CLI prints
    items = {item["job_id"]: item for item in account.ledger_items()}
    assert set(items) == {stuck, copy["jobId"]}
    assert (items[stuck]["sk"], items[stuck]["outcome"]) == (
        "decision#resubmit#fallback",
        "resubmitted",
    )
    linked = items[copy["jobId"]]
    assert (linked["verdict"], linked["outcome"], linked["linked"]) == (
        "resubmit",
        "resubmitted",
        stuck,
    )
    assert linked["reason"] == (
        f"resubmission of {stuck} to job queue fallback under policy batch-reasons"
    )
    subjects = sorted(a["Subject"] for a in account.alerts())
    assert subjects == ["jobwarden: batch stuck resubmitted to its fallback queue"] * 2


def test_the_copy_is_never_resubmitted_again(account, capsys, batch):
    put_policy(
        account.clients,
        "batch-reasons",
        {
            **RESUBMITTING,
            "limits": {"max_queue_minutes_by_reason": {"CAPACITY:*": 240, "SUBMITTED": 0}},
        },
    )
    stuck = runnable(account, batch, "stuck", timedelta(hours=5), NO_CAPACITY)
    scan(account, capsys)
    (copy,) = in_queue(batch, "fallback")

    decisions = scan(account, capsys)  # the copy waits in SUBMITTED, a 0-minute reason

    assert decisions[copy["jobId"]]["verdict"] == "stop"
    assert len(in_queue(batch, "fallback")) == 1
    assert job(batch, stuck)["status"] == "FAILED"


def refuse_cancel(request, event_name, deliver):
    """CancelJob refused by the service (a 400 botocore does not retry)."""
    from botocore.awsrequest import AWSResponse

    if not event_name.endswith("batch.CancelJob"):
        return None
    body = json.dumps({"__type": "ClientException", "message": "try later"}).encode()

    class Body:
        def stream(self, **_):
            yield body

        def read(self, *_):
            return body

    return AWSResponse(request.url, 400, {"x-amzn-errortype": "ClientException"}, Body())


def test_a_failed_cancel_after_the_submit_never_leads_to_a_second_copy(account, capsys, batch):
    put_policy(account.clients, "batch-reasons", RESUBMITTING)
    stuck = runnable(account, batch, "stuck", timedelta(hours=5), NO_CAPACITY)
    WIRE.faults.append(refuse_cancel)
    try:
        code, lines = account.scan(capsys, "--service", "batch")
    finally:
        WIRE.faults.remove(refuse_cancel)

    assert code == 1  # the failure is recorded and alerted
    failed = [line for line in lines if line.get("outcome") == "failed"]
    assert len(failed) == 1
    assert "; the resubmission failed: An error occurred (ClientException)" in failed[0]["reason"]
    assert job(batch, stuck)["status"] == "RUNNABLE"
    (first,) = in_queue(batch, "fallback")  # submitted before the cancel was refused

    decisions = scan(account, capsys)  # the next sweep finds the copy, and cancels

    assert decisions[stuck]["outcome"] == "resubmitted"
    assert [j["jobId"] for j in in_queue(batch, "fallback")] == [first["jobId"]]
    assert job(batch, stuck)["status"] == "FAILED"


def test_a_death_between_the_submit_and_the_cancel_is_finished_by_recovery(
    account, capsys, batch, clock
):
    put_policy(account.clients, "batch-reasons", RESUBMITTING)
    stuck = runnable(account, batch, "stuck", timedelta(hours=5), NO_CAPACITY)

    def die(request, event_name, deliver):
        if event_name.endswith("batch.CancelJob"):
            raise Killed

    WIRE.faults.append(die)
    try:
        with pytest.raises(Killed):
            account.scan(capsys, "--service", "batch")
    finally:
        WIRE.faults.remove(die)
    (copy,) = in_queue(batch, "fallback")
    (open_item,) = account.ledger_items()
    assert (open_item["state"], open_item["outcome"]) == ("open", "pending")

    clock.move_to(T0 + timedelta(minutes=20))  # past the dead owner's lease
    scan(account, capsys)

    assert [j["jobId"] for j in in_queue(batch, "fallback")] == [copy["jobId"]]
    assert job(batch, stuck)["status"] == "FAILED"
    items = {item["job_id"]: item for item in account.ledger_items()}
    assert (items[stuck]["state"], items[stuck]["outcome"]) == ("settled", "resubmitted")
    assert items[copy["jobId"]]["linked"] == stuck


def test_a_job_that_started_meanwhile_is_not_resubmitted(account, capsys, batch):
    """The reading is old (a slow sweep) and the job has found capacity since: the act step
    reads it again before acting, and nothing is submitted."""
    from jobwarden.services.batch import BatchJobs

    put_policy(account.clients, "batch-reasons", RESUBMITTING)
    stuck = runnable(account, batch, "stuck", timedelta(hours=5), NO_CAPACITY)
    adapter = BatchJobs(account.clients, "us-east-1", None)
    fill: BatchFill = account.emulator.fill("batch")
    listed = adapter.describe(stuck, T0)
    fill.set_status(stuck, "STARTING")

    done = adapter.resubmit(listed, "fallback", "stuck on capacity")

    assert (done.outcome, done.copy_id) == ("withdrawn", "")
    assert in_queue(batch, "fallback") == []
    assert job(batch, stuck)["status"] == "STARTING"

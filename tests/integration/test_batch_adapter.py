"""The Batch jobs adapter against the emulated account (moto's queues + the jobs fill)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import jobwarden.services.batch  # noqa: F401 - registers the adapter
import pytest
import time_machine
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from jobwarden.aws import Clients
from jobwarden.local.batch import BatchFill, create_job_queue, register_job_definition
from jobwarden.local.emulator import ContractError
from jobwarden.model import Job, Outcome, Settings
from jobwarden.services.base import Unreadable
from jobwarden.services.batch import BatchJobs

from tests.integration.conftest import throttle

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/"
ACTIVE = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


@pytest.fixture(autouse=True)
def fill(account):
    return account.emulator.add(BatchFill)


@pytest.fixture
def queue(account) -> str:
    create_job_queue(account.clients, "analytics", {"team": "data", "cost-center": "research"})
    register_job_definition(account.clients, "align", vcpus=4, memory_mib=8192)
    return "analytics"


def adapter(clients: Clients) -> BatchJobs:
    return BatchJobs(clients, "us-east-1", Settings())


def submit(account, fill, ago: timedelta, *steps: tuple[str, timedelta], now, **params) -> str:
    """Submit a job `ago` before `now`, then take each (status, after submission) step."""
    params = {"jobName": "align-sample", "jobQueue": "analytics", "jobDefinition": "align"} | params
    with time_machine.travel(now - ago, tick=False):
        job_id: str = account.clients.client("batch").submit_job(**params)["jobId"]
    for status, after in steps:
        with time_machine.travel(now - ago + after, tick=False):
            fill.set_status(job_id, status)
    return job_id


def walk(*statuses: str) -> list[tuple[str, timedelta]]:
    """The statuses one minute apart, from a minute after submission."""
    return [(status, (n + 1) * MINUTE) for n, status in enumerate(statuses)]


def describe(account, job_id: str) -> dict:
    return account.clients.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]


# --- listing ---------------------------------------------------------------------------------


def test_each_active_status_is_listed_and_only_running_has_started(account, fill, queue):
    now = datetime.now(UTC)
    ids = {
        status: submit(account, fill, 3 * HOUR, *walk(*ACTIVE[1 : n + 1]), now=now)
        for n, status in enumerate(ACTIVE)
    }
    succeeded = submit(account, fill, HOUR, *walk("RUNNABLE", "STARTING", "RUNNING"), now=now)
    fill.set_status(succeeded, "SUCCEEDED")
    failed = submit(account, fill, HOUR, *walk("RUNNABLE"), now=now)
    fill.set_status(failed, "FAILED", "Essential container in task exited")

    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    assert set(jobs) == set(ids.values())
    for status, job_id in ids.items():
        job = jobs[job_id]
        assert job.status == status
        assert abs(job.submitted_at - (now - 3 * HOUR)) < timedelta(seconds=1)
        if status == "RUNNING":  # four minutes after submission
            assert job.queue_seconds(now) == pytest.approx(4 * 60, abs=1)
            assert job.run_seconds(now) == pytest.approx(176 * 60, abs=1)
        else:  # STARTING too: Batch has no time for it, the job has not run yet
            assert job.started_at is None
            assert job.queue_seconds(now) == pytest.approx(3 * 3600, abs=1)
    running = jobs[ids["RUNNING"]]
    assert running.name == "align-sample"
    assert running.arn.endswith(f":job/{ids['RUNNING']}")
    assert running.details == {"jobQueue": QUEUE_ARN + "analytics"}
    assert running.cost_basis.components == (("batch-ec2:vcpu", 4.0),)


def test_job_tags_override_the_queue_tags(account, fill, queue):
    now = datetime.now(UTC)
    tagged = submit(account, fill, HOUR, now=now, tags={"team": "genomics", "run": "42"})
    plain = submit(account, fill, HOUR, now=now)

    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    assert jobs[tagged].tags == {"team": "genomics", "cost-center": "research", "run": "42"}
    assert jobs[plain].tags == {"team": "data", "cost-center": "research"}


def test_fargate_arm_cost_basis_and_submit_overrides(account, fill, queue):
    now = datetime.now(UTC)
    register_job_definition(
        account.clients, "render", vcpus=2, memory_mib=4096, fargate=True, architecture="ARM64"
    )
    small = submit(
        account, fill, HOUR, *walk("RUNNABLE", "RUNNING"), now=now, jobDefinition="render"
    )
    large = submit(
        account,
        fill,
        HOUR,
        *walk("RUNNABLE", "RUNNING"),
        now=now,
        jobDefinition="render",
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "8"}]},
    )

    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    assert jobs[small].cost_basis.components == (
        ("fargate:ARM64:vcpu", 2.0),
        ("fargate:ARM64:gb", 4.0),
    )
    assert jobs[large].cost_basis.components == (
        ("fargate:ARM64:vcpu", 8.0),
        ("fargate:ARM64:gb", 4.0),
    )


def test_every_queue_every_status_page_and_describe_chunk(account, fill, queue):
    now = datetime.now(UTC)
    create_job_queue(account.clients, "nightly")
    runnable = [submit(account, fill, HOUR, *walk("RUNNABLE"), now=now) for _ in range(150)]
    running = [
        submit(account, fill, HOUR, *walk("RUNNABLE", "RUNNING"), now=now) for _ in range(30)
    ]
    nightly = [submit(account, fill, HOUR, now=now, jobQueue="nightly") for _ in range(5)]
    for _ in range(3):
        fill.set_status(submit(account, fill, HOUR, now=now), "FAILED")
    account.emulator.calls.clear()

    found = [job.job_id for job in adapter(account.clients).list_active(now)]

    assert sorted(found) == sorted(runnable + running + nightly)  # each exactly once
    calls = account.emulator.calls
    # one page per status and queue: ListJobs answers up to 1000 jobs a page (its model
    # documentation); paging past a page is pinned with the Stubber below
    assert calls.count(("batch", "ListJobs")) == 5 + 5
    assert calls.count(("batch", "DescribeJobs")) == 2  # 185 ids of both queues, 100 a call


def test_a_job_moving_on_during_the_listing_is_seen_once(account, fill, queue):
    """Statuses are listed in lifecycle order, so a job moving forward is seen again."""
    now = datetime.now(UTC)
    job_id = submit(account, fill, HOUR, *walk("RUNNABLE"), now=now)
    client = account.clients.client("batch")

    def move_on(params, **_):
        if params.get("jobStatus") == "STARTING":
            fill.set_status(job_id, "STARTING")

    client.meta.events.register("provide-client-params.batch.ListJobs", move_on)
    jobs = list(adapter(account.clients).list_active(now))

    assert [(job.job_id, job.status) for job in jobs] == [(job_id, "STARTING")]


def test_describe_job_queues_is_paginated():
    """moto's DescribeJobQueues never pages; the real one does (100 queues a page)."""
    clients = Clients(default_region="us-east-1")
    client = clients.client("batch")
    queues = [_queue_detail("q1"), _queue_detail("q2")]
    with Stubber(client) as stub:
        for n, (request, token) in enumerate([({}, "t"), ({"nextToken": "t"}, None)]):
            page = {"jobQueues": [queues[n]], **({"nextToken": token} if token else {})}
            stub.add_response("describe_job_queues", page, request)
            for status in ACTIVE:  # each queue is listed as its page arrives
                stub.add_response(
                    "list_jobs",
                    {"jobSummaryList": []},
                    {"jobQueue": queues[n]["jobQueueArn"], "jobStatus": status},
                )
        assert list(adapter(clients).list_active(datetime.now(UTC))) == []
        stub.assert_no_pending_responses()


def test_a_queue_that_cannot_be_read_is_reported_and_the_next_still_listed():
    clients = Clients(default_region="us-east-1")
    queues = [_queue_detail("gone"), _queue_detail("q1")]
    with Stubber(clients.client("batch")) as stub:
        stub.add_response("describe_job_queues", {"jobQueues": queues})
        stub.add_client_error("list_jobs", "ClientException", "jobQueue gone does not exist")
        stub.add_response("list_jobs", {"jobSummaryList": [{"jobId": "job-1", "jobName": "a"}]})
        for _status in ACTIVE[1:]:
            stub.add_response("list_jobs", {"jobSummaryList": []})
        stub.add_response("describe_jobs", {"jobs": [_detail("job-1", "RUNNABLE")]})
        listed = list(adapter(clients).list_active(datetime.now(UTC)))
        stub.assert_no_pending_responses()
    assert isinstance(listed[0], Unreadable)
    assert listed[0].subject == "batch job queue gone"
    assert "does not exist" in listed[0].reason
    assert [job.job_id for job in listed[1:]] == ["job-1"]


def test_array_children_events_are_dropped_by_the_rule_and_the_function():
    """The rule's detail pattern, read by moto's EventBridge pattern matcher: a job and an
    array parent pass, a child (index 0 included) does not."""
    import json

    from moto.events.models import EventPattern

    pattern = EventPattern.load(
        json.dumps({"source": ["aws.batch"], "detail": BatchJobs.event_detail})
    )

    def passes(detail: dict) -> bool:
        return bool(pattern.matches_event({"source": "aws.batch", "detail": detail}))

    assert passes({"jobId": "job-1", "status": "RUNNABLE"})
    assert passes({"jobId": "parent", "status": "PENDING", "arrayProperties": {"size": 3}})
    child = {"status": "RUNNING", "arrayProperties": {"index": 0}}
    assert not passes({"jobId": "parent:0", **child})
    assert not passes({"jobId": "parent:2", **child, "arrayProperties": {"index": 2}})
    assert not passes({"jobId": "job-1", "status": "STARTING"})  # changes nothing we keep


def test_describe_jobs_in_chunks_of_100_and_list_jobs_follows_tokens():
    clients = Clients(default_region="us-east-1")
    client = clients.client("batch")
    ids = [f"job-{n}" for n in range(150)]
    summaries = [{"jobId": i, "jobName": "align"} for i in ids]
    with Stubber(client) as stub:
        stub.add_response("describe_job_queues", {"jobQueues": [_queue_detail("q1")]}, {})
        queue = {"jobQueue": QUEUE_ARN + "q1"}
        stub.add_response("list_jobs", {"jobSummaryList": []}, {**queue, "jobStatus": "SUBMITTED"})
        stub.add_response("list_jobs", {"jobSummaryList": []}, {**queue, "jobStatus": "PENDING"})
        stub.add_response(
            "list_jobs",
            {"jobSummaryList": summaries[:120], "nextToken": "page-2"},
            {**queue, "jobStatus": "RUNNABLE"},
        )
        stub.add_response(
            "list_jobs",
            {"jobSummaryList": summaries[120:]},
            {**queue, "jobStatus": "RUNNABLE", "nextToken": "page-2"},
        )
        stub.add_response("list_jobs", {"jobSummaryList": []}, {**queue, "jobStatus": "STARTING"})
        stub.add_response("list_jobs", {"jobSummaryList": []}, {**queue, "jobStatus": "RUNNING"})
        for chunk in (ids[:100], ids[100:]):
            stub.add_response(
                "describe_jobs", {"jobs": [_detail(i, "SUCCEEDED") for i in chunk]}, {"jobs": chunk}
            )
        assert list(adapter(clients).list_active(datetime.now(UTC))) == []
        stub.assert_no_pending_responses()


# --- array jobs ------------------------------------------------------------------------------


def test_an_array_job_is_judged_on_its_parent(account, fill, queue):
    now = datetime.now(UTC)
    parent = submit(account, fill, 2 * HOUR, now=now, arrayProperties={"size": 4})
    children = [f"{parent}:{index}" for index in range(4)]
    for child in children:
        with time_machine.travel(now - 2 * HOUR + MINUTE, tick=False):
            fill.set_status(child, "RUNNABLE")
    with time_machine.travel(now - HOUR, tick=False):
        fill.set_status(children[0], "RUNNING")  # the first child to run: an hour ago
    with time_machine.travel(now - 40 * MINUTE, tick=False):
        fill.set_status(children[0], "SUCCEEDED")  # ran 20 min
    with time_machine.travel(now - 30 * MINUTE, tick=False):
        fill.set_status(children[1], "RUNNING")  # running 30 min
    assert describe(account, parent)["status"] == "PENDING"  # as Batch keeps array parents

    (job,) = adapter(account.clients).list_active(now)

    assert job.job_id == parent
    assert job.status == "PENDING (array of 4: 2 RUNNABLE, 1 RUNNING, 1 SUCCEEDED)"
    assert job.queue_seconds(now) == pytest.approx(3600, abs=1)  # until the first child ran
    assert job.run_seconds(now) == pytest.approx(3600, abs=1)
    # 50 child-minutes over the 60 minutes since the first started: 5/6 of a child on average
    ((key, vcpus),) = job.cost_basis.components
    assert (key, vcpus) == ("batch-ec2:vcpu", pytest.approx(4 * 5 / 6, rel=1e-3))


def test_an_array_job_whose_children_all_wait_is_queued(account, fill, queue):
    now = datetime.now(UTC)
    parent = submit(account, fill, 2 * HOUR, now=now, arrayProperties={"size": 3})
    for index in range(3):
        fill.set_status(f"{parent}:{index}", "RUNNABLE")
    account.emulator.calls.clear()

    (job,) = adapter(account.clients).list_active(now)

    assert job.started_at is None
    assert job.queue_seconds(now) == pytest.approx(2 * 3600, abs=1)
    # no child had run (statusSummary says so): only the queue's five ListJobs calls
    assert account.emulator.calls.count(("batch", "ListJobs")) == 5


def test_stopping_the_parent_stops_its_children(account, fill, queue):
    now = datetime.now(UTC)
    parent = submit(account, fill, HOUR, now=now, arrayProperties={"size": 3})
    fill.set_status(f"{parent}:0", "RUNNING")
    fill.set_status(f"{parent}:1", "SUCCEEDED")
    batch = adapter(account.clients)
    (job,) = batch.list_active(now)

    assert batch.stop(job, "running too long") is Outcome.STOPPED

    statuses = {c: describe(account, f"{parent}:{c}")["status"] for c in range(3)}
    assert statuses == {0: "FAILED", 1: "SUCCEEDED", 2: "FAILED"}
    assert describe(account, parent)["status"] == "FAILED"
    assert list(batch.list_active(now)) == []


# --- stopping --------------------------------------------------------------------------------


def test_stop_terminates_with_the_reason_then_reports_already_finished(account, fill, queue):
    now = datetime.now(UTC)
    job_id = submit(account, fill, HOUR, *walk("RUNNABLE", "STARTING", "RUNNING"), now=now)
    batch = adapter(account.clients)
    (job,) = batch.list_active(now)

    assert batch.stop(job, "running 58 min, over the 30 min limit of policy p") is Outcome.STOPPED
    stopped = describe(account, job_id)
    assert (stopped["status"], stopped["statusReason"]) == (
        "FAILED",
        "running 58 min, over the 30 min limit of policy p",
    )
    # TerminateJob accepts a job that has ended; it stays as it was. Our reason is not
    # there: another reason's stop ended it first.
    assert batch.stop(job, "running 59 min, over the 30 min limit of policy p") is (
        Outcome.ALREADY_FINISHED
    )
    # The same stop sent again (a lost answer retried) finds its own reason: ours.
    again = batch.stop(job, "running 58 min, over the 30 min limit of policy p")
    assert again is Outcome.STOPPED
    assert describe(account, job_id)["statusReason"].startswith("running 58 min")


def test_a_job_that_succeeded_first_is_already_finished(account, fill, queue):
    now = datetime.now(UTC)
    job_id = submit(account, fill, HOUR, *walk("RUNNABLE", "RUNNING"), now=now)
    batch = adapter(account.clients)
    (job,) = batch.list_active(now)
    fill.set_status(job_id, "SUCCEEDED")

    assert batch.stop(job, "too long") is Outcome.ALREADY_FINISHED
    assert describe(account, job_id)["status"] == "SUCCEEDED"


def test_a_queued_job_is_cancelled_by_terminate(account, fill, queue):
    now = datetime.now(UTC)
    job_id = submit(account, fill, 5 * HOUR, *walk("RUNNABLE"), now=now)
    batch = adapter(account.clients)
    (job,) = batch.list_active(now)

    assert batch.stop(job, "queued 300 min") is Outcome.STOPPED
    assert describe(account, job_id)["status"] == "FAILED"


def test_terminate_request_is_pinned_and_the_reason_cut_to_1024():
    clients = Clients(default_region="us-east-1")
    client = clients.client("batch")
    reason = "r" * 1500
    with Stubber(client) as stub:
        stub.add_response("terminate_job", {}, {"jobId": "job-1", "reason": "r" * 1024})
        stub.add_response(
            "describe_jobs",
            {"jobs": [_detail("job-1", "RUNNING")]},  # terminating takes a moment
            {"jobs": ["job-1"]},
        )
        assert adapter(clients).stop(_job("job-1"), reason) is Outcome.STOPPED
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("status", "reason", "outcome"),
    [
        ("FAILED", "too long", Outcome.STOPPED),  # ended by our call
        ("FAILED", "Essential container in task exited", Outcome.ALREADY_FINISHED),
        ("SUCCEEDED", None, Outcome.ALREADY_FINISHED),
    ],
)
def test_terminate_that_succeeds_reads_the_job_back(status, reason, outcome):
    clients = Clients(default_region="us-east-1")
    with Stubber(clients.client("batch")) as stub:
        stub.add_response("terminate_job", {}, {"jobId": "job-1", "reason": "too long"})
        stub.add_response(
            "describe_jobs", {"jobs": [_detail("job-1", status, reason)]}, {"jobs": ["job-1"]}
        )
        assert adapter(clients).stop(_job("job-1"), "too long") is outcome


def test_terminate_refused_for_an_ended_job_is_already_finished():
    clients = Clients(default_region="us-east-1")
    batch = adapter(clients)
    with Stubber(clients.client("batch")) as stub:
        stub.add_client_error("terminate_job", "ClientException", "Job has already completed", 400)
        stub.add_response("describe_jobs", {"jobs": [_detail("job-1", "SUCCEEDED")]})
        assert batch.stop(_job("job-1"), "too long") is Outcome.ALREADY_FINISHED

        stub.add_client_error("terminate_job", "ClientException", "Something else", 400)
        stub.add_response("describe_jobs", {"jobs": [_detail("job-1", "RUNNING")]})
        with pytest.raises(ClientError, match="Something else"):
            batch.stop(_job("job-1"), "too long")

        # A server error past botocore's retries: the outcome is unknown, so it is read.
        stub.add_client_error("terminate_job", "ServerException", "Internal error", 500)
        stub.add_response("describe_jobs", {"jobs": [_detail("job-1", "RUNNING")]})
        with pytest.raises(ClientError, match="Internal error"):
            batch.stop(_job("job-1"), "too long")
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        # "Jobs that have not progressed to the STARTING state are cancelled" (TerminateJob,
        # AWS Batch API reference): a PENDING job only once its dependencies finish.
        ("SUBMITTED", Outcome.STOP_REQUESTED),
        ("PENDING", Outcome.STOP_REQUESTED),
        ("RUNNABLE", Outcome.STOP_REQUESTED),
        # "Jobs that are in the STARTING or RUNNING state are terminated" (same reference).
        ("STARTING", Outcome.STOPPED),
        ("RUNNING", Outcome.STOPPED),
    ],
)
def test_a_stop_of_a_job_still_active_after_terminate(status, outcome):
    clients = Clients(default_region="us-east-1")
    batch = adapter(clients)
    with Stubber(clients.client("batch")) as stub:
        stub.add_response("terminate_job", {}, {"jobId": "job-1", "reason": "too long"})
        stub.add_response("describe_jobs", {"jobs": [_detail("job-1", status)]})
        assert batch.stop(_job("job-1"), "too long") is outcome
        # The requested stop is re-read later: still waiting, then ended by our cancel.
        stub.add_response("describe_jobs", {"jobs": [_detail("job-1", status)]})
        assert batch.read_back(_job("job-1"), "too long") is None
        stub.add_response("describe_jobs", {"jobs": [_detail("job-1", "FAILED", "too long")]})
        assert batch.read_back(_job("job-1"), "too long") is Outcome.STOPPED
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("status", "reason", "flags", "outcome"),
    [
        ("FAILED", "too long", {}, Outcome.STOPPED),
        ("PENDING", None, {"isCancelled": True}, Outcome.STOP_REQUESTED),
        ("RUNNING", None, {"isTerminated": True}, Outcome.STOPPED),
        ("SUCCEEDED", None, {}, Outcome.ALREADY_FINISHED),
        ("FAILED", "Essential container exited", {}, Outcome.ALREADY_FINISHED),
    ],
)
def test_a_lost_terminate_answer_then_a_failure_is_read_back(status, reason, flags, outcome):
    """Our first TerminateJob landed but its answer was lost and the retry failed: the job
    read back (its reason, or Batch's isCancelled/isTerminated flags) says whose stop."""
    clients = Clients(default_region="us-east-1")
    with Stubber(clients.client("batch")) as stub:
        stub.add_client_error("terminate_job", "ServerException", "lost", 500)
        stub.add_response("describe_jobs", {"jobs": [_detail("job-1", status, reason) | flags]})
        assert adapter(clients).stop(_job("job-1"), "too long") is outcome
        stub.assert_no_pending_responses()


def test_read_back_of_a_vanished_or_ended_job(account, fill, queue):
    now = datetime.now(UTC)
    batch = adapter(account.clients)
    assert batch.read_back(_job("no-such-job"), "too long") is Outcome.ALREADY_FINISHED
    job_id = submit(account, fill, HOUR, *walk("RUNNABLE", "RUNNING"), now=now)
    (job,) = batch.list_active(now)
    assert batch.read_back(job, "too long") is None
    fill.set_status(job_id, "FAILED", "OutOfMemoryError: Container killed")
    assert batch.read_back(job, "too long") is Outcome.ALREADY_FINISHED


# --- throttling ------------------------------------------------------------------------------


def test_throttling_is_retried(account, fill, queue):
    """A throttled DescribeJobQueues (served by moto) is retried by botocore's retry mode."""
    now = datetime.now(UTC)
    job_id = submit(account, fill, HOUR, now=now)
    client = account.clients.client("batch")
    throttled = throttle(client, "DescribeJobQueues", code="TooManyRequestsException", status=429)
    jobs = list(adapter(account.clients).list_active(now))

    assert len(throttled) == 2
    assert [job.job_id for job in jobs] == [job_id]


# --- the fill itself -------------------------------------------------------------------------


def test_a_job_stays_where_it_is_put_and_moves_only_forward(account, fill, queue):
    now = datetime.now(UTC)
    job_id = submit(account, fill, HOUR, *walk("RUNNABLE"), now=now)
    for _ in range(3):
        assert describe(account, job_id)["status"] == "RUNNABLE"
    with pytest.raises(ValueError, match="already past"):
        fill.set_status(job_id, "PENDING")
    fill.set_status(job_id, "FAILED")
    with pytest.raises(ValueError, match="already finished"):
        fill.set_status(job_id, "RUNNING")


def test_started_at_is_stamped_on_running_and_left_out_of_summaries_before(account, fill, queue):
    now = datetime.now(UTC)
    job_id = submit(account, fill, HOUR, *walk("RUNNABLE", "STARTING"), now=now)
    client = account.clients.client("batch")

    (summary,) = client.list_jobs(jobQueue="analytics", jobStatus="STARTING")["jobSummaryList"]
    assert "startedAt" not in summary
    fill.set_status(job_id, "RUNNING")
    (summary,) = client.list_jobs(jobQueue="analytics")["jobSummaryList"]  # RUNNING by default
    assert summary["startedAt"] == describe(account, job_id)["startedAt"]
    assert abs(summary["startedAt"] / 1000 - now.timestamp()) < 5


def test_submit_checks_the_queue_and_definition_in_moto(account, queue):
    batch = boto3.client("batch")
    with pytest.raises(ClientError, match="Job queue missing does not exist"):
        batch.submit_job(jobName="x", jobQueue="missing", jobDefinition="align")
    with pytest.raises(ClientError, match="Job definition missing does not exist"):
        batch.submit_job(jobName="x", jobQueue="analytics", jobDefinition="missing")
    with pytest.raises(ClientError, match="is not valid"):
        batch.submit_job(jobName="-x", jobQueue="analytics", jobDefinition="align")
    assert ("batch", "SubmitJob") in account.emulator.calls


def test_the_fills_limits_are_the_services(account, fill, queue):
    batch = boto3.client("batch")
    job_id = batch.submit_job(jobName="x", jobQueue="analytics", jobDefinition="align")["jobId"]
    with pytest.raises(ClientError, match="at most 100"):
        batch.describe_jobs(jobs=[job_id] * 101)
    with pytest.raises(ClientError, match="longer than 1024"):
        batch.terminate_job(jobId=job_id, reason="r" * 1025)
    with pytest.raises(ClientError, match="not found"):
        batch.terminate_job(jobId="no-such-job", reason="r")
    assert batch.describe_jobs(jobs=["no-such-job"])["jobs"] == []


def test_cancel_leaves_a_started_job_to_terminate(account, fill, queue):
    now = datetime.now(UTC)
    running = submit(account, fill, HOUR, *walk("RUNNABLE", "STARTING"), now=now)
    queued = submit(account, fill, HOUR, *walk("RUNNABLE"), now=now)
    batch = boto3.client("batch")
    batch.cancel_job(jobId=running, reason="no longer needed")
    batch.cancel_job(jobId=queued, reason="no longer needed")
    assert describe(account, running)["status"] == "STARTING"
    assert (describe(account, queued)["status"], describe(account, queued)["statusReason"]) == (
        "FAILED",
        "no longer needed",
    )


def test_a_fill_response_that_breaks_the_model_is_refused(account, fill):
    original = fill.describe_jobs
    fill.describe_jobs = lambda params, region: {"jobs": [{"jobId": "x", "status": "RUNNING"}]}
    try:
        with pytest.raises(ContractError, match="DescribeJobs response breaks the model"):
            boto3.client("batch").describe_jobs(jobs=["x"])
    finally:
        fill.describe_jobs = original


def test_queues_stay_in_moto(account, queue):
    (found,) = boto3.client("batch").describe_job_queues()["jobQueues"]
    assert (found["jobQueueName"], found["tags"]) == (
        "analytics",
        {"team": "data", "cost-center": "research"},
    )
    assert ("batch", "DescribeJobQueues") not in account.emulator.calls


# --- helpers ---------------------------------------------------------------------------------


def _queue_detail(name: str) -> dict:
    return {
        "jobQueueName": name,
        "jobQueueArn": QUEUE_ARN + name,
        "state": "ENABLED",
        "priority": 1,
        "computeEnvironmentOrder": [],
    }


def _detail(job_id: str, status: str, reason: str | None = None) -> dict:
    detail = {
        "jobId": job_id,
        "jobName": "align",
        "jobQueue": QUEUE_ARN + "q1",
        "status": status,
        "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/align:1",
        "createdAt": 1_700_000_000_000,
        "startedAt": 1_700_000_060_000,  # botocore's model requires it, so Stubber does too
    }
    return detail | ({"statusReason": reason} if reason else {})


def _job(job_id: str) -> Job:
    now = datetime.now(UTC)
    return Job("batch", job_id, "align", "us-east-1", "RUNNING", now, now)


def test_indexed_jobs_of_twenty_queues_cost_one_describe_of_each_kind(account, fill):
    """Re-reading indexed jobs: DescribeJobs 100 ids a call, and every queue's tags in one
    DescribeJobQueues (it takes up to 100 queues), not one call per queue."""
    now = datetime.now(UTC)
    register_job_definition(account.clients, "align", vcpus=4, memory_mib=8192)
    ids = []
    for n in range(20):
        create_job_queue(account.clients, f"queue-{n}", {"team": f"t{n}"})
        ids.append(submit(account, fill, HOUR, *walk("RUNNABLE"), now=now, jobQueue=f"queue-{n}"))
    calls: list[str] = []
    account.clients.client("batch").meta.events.register(
        "before-parameter-build.batch", lambda model, **_: calls.append(model.name)
    )
    found = adapter(account.clients).describe_many(ids, now)

    assert set(found) == set(ids)
    assert found[ids[7]].tags == {"team": "t7"}
    assert sorted(calls) == ["DescribeJobQueues", "DescribeJobs"]

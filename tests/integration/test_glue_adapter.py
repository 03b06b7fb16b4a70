"""The Glue job runs adapter against the emulated account (moto's jobs + the runs fill)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jobwarden.services.glue as glue_adapter
import pytest
import time_machine
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from jobwarden.aws import Clients
from jobwarden.local.glue import GlueRunsFill, create_glue_job
from jobwarden.model import Job, Outcome, Settings
from jobwarden.pricing import estimate_cost
from jobwarden.services.base import Unreadable
from jobwarden.services.glue import GlueJobRuns, StopRefused

from tests.integration.conftest import throttle

HOUR = timedelta(hours=1)
ARN = "arn:aws:glue:us-east-1:123456789012:job/"


@pytest.fixture(autouse=True)
def fill(account):
    return account.emulator.add(GlueRunsFill)


def adapter(clients: Clients) -> GlueJobRuns:
    return GlueJobRuns(clients, "us-east-1", Settings())


def start(account, job: str, ago: timedelta, now: datetime, **params) -> str:
    with time_machine.travel(now - ago, tick=False):
        return account.clients.client("glue").start_job_run(JobName=job, **params)["JobRunId"]


def move(fill: GlueRunsFill, run_id: str, state: str, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        if state in glue_adapter.ACTIVE_STATES:
            fill.advance(run_id, state)
        else:
            fill.finish(run_id, state)


def counting(client, operation: str) -> list[str]:
    seen: list[str] = []
    client.meta.events.register(f"after-call.glue.{operation}", lambda **_: seen.append(operation))
    return seen


def test_starting_waiting_and_running_runs_with_job_tags(account, fill):
    now = datetime.now(UTC)
    create_glue_job(
        account.clients,
        "nightly-etl",
        {"team": "data"},
        worker_type="G.2X",
        workers=10,
        max_concurrent_runs=3,
    )
    running = start(account, "nightly-etl", 2 * HOUR, now)
    move(fill, running, "RUNNING", now - 2 * HOUR + timedelta(minutes=1))
    starting = start(account, "nightly-etl", 40 * timedelta(minutes=1), now)
    finished = start(account, "nightly-etl", 30 * timedelta(minutes=1), now)
    move(fill, finished, "SUCCEEDED", now - timedelta(minutes=5))
    waiting = start(account, "nightly-etl", 20 * timedelta(minutes=1), now)
    move(fill, waiting, "WAITING", now - timedelta(minutes=19))

    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    assert set(jobs) == {running, starting, waiting}
    assert {j.status for j in jobs.values()} == {"RUNNING", "STARTING", "WAITING"}
    assert jobs[running].run_seconds(now) == pytest.approx(2 * 3600, abs=1)
    assert jobs[running].queue_seconds(now) == 0
    for queued, minutes in ((starting, 40), (waiting, 20)):
        assert jobs[queued].started_at is None
        assert jobs[queued].queue_seconds(now) == pytest.approx(minutes * 60, abs=1)
        assert jobs[queued].run_seconds(now) == 0
    assert all(j.tags == {"team": "data"} for j in jobs.values())
    assert all(j.name == "nightly-etl" for j in jobs.values())
    assert jobs[running].cost_basis.components == (("glue:dpu", 20.0),)


def test_a_run_queued_behind_max_concurrent_runs_is_waiting(account):
    now = datetime.now(UTC)
    create_glue_job(account.clients, "ingest", max_concurrent_runs=1)
    first = start(account, "ingest", HOUR, now)
    with pytest.raises(ClientError, match="ConcurrentRunsExceededException"):
        start(account, "ingest", HOUR, now)
    queued = start(account, "ingest", HOUR / 2, now, JobRunQueuingEnabled=True)

    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    assert (jobs[first].status, jobs[queued].status) == ("STARTING", "WAITING")
    assert jobs[queued].queue_seconds(now) == pytest.approx(1800, abs=1)


def test_run_settings_override_the_jobs_for_the_cost(account):
    now = datetime.now(UTC)
    create_glue_job(account.clients, "flex", worker_type="G.2X", workers=10, max_concurrent_runs=2)
    create_glue_job(account.clients, "shell", worker_type=None, MaxCapacity=0.0625)
    flex = start(
        account, "flex", HOUR, now, WorkerType="G.1X", NumberOfWorkers=4, ExecutionClass="FLEX"
    )
    default = start(account, "flex", HOUR, now)
    shell = start(account, "shell", HOUR, now)

    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    # A Flex run is billed on what it uses: no estimate until it reports DPUSeconds.
    assert jobs[flex].cost_basis is None
    assert jobs[default].cost_basis.components == (("glue:dpu", 20.0),)
    assert jobs[shell].cost_basis.components == (("glue:dpu", 0.0625),)


def test_runs_billed_on_use_are_priced_on_the_dpu_seconds_they_report(account, fill):
    """Flex and auto-scaling runs: DPUSeconds, not the most workers x wall time."""
    now = datetime.now(UTC)
    create_glue_job(
        account.clients,
        "scaling",
        worker_type="G.2X",
        workers=50,
        max_concurrent_runs=3,
        DefaultArguments={"--enable-auto-scaling": "true"},
    )
    scaling = start(account, "scaling", HOUR, now)
    flex = start(account, "scaling", HOUR, now, ExecutionClass="FLEX")
    fixed = start(account, "scaling", HOUR, now, Arguments={"--enable-auto-scaling": "false"})
    for run_id in (scaling, flex, fixed):
        move(fill, run_id, "RUNNING", now - HOUR)
    glue = adapter(account.clients)
    before = {job.job_id: job for job in glue.list_active(now)}
    assert (before[scaling].cost_basis, before[flex].cost_basis) == (None, None)
    assert before[fixed].cost_basis.components == (("glue:dpu", 100.0),)

    fill.report_usage(scaling, 4 * 3600)  # 4 DPU-hours used in an hour of running
    fill.report_usage(flex, 2 * 3600)
    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    cost = {
        run_id: estimate_cost(jobs[run_id].cost_basis, jobs[run_id].run_seconds(now), {})
        for run_id in (scaling, flex, fixed)
    }
    assert cost[scaling] == pytest.approx(4 * 0.44)
    assert cost[flex] == pytest.approx(2 * 0.29)
    assert cost[fixed] == pytest.approx(100 * 0.44)


@pytest.mark.parametrize(
    ("worker_type", "key", "units"),
    [("R.2X", "glue:m-dpu", 2.0), ("R.8X", "glue:m-dpu", 8.0), ("Z.2X", "glue:m-dpu-ray", 2.0)],
)
def test_memory_optimized_workers_are_priced_in_m_dpu(account, worker_type, key, units):
    now = datetime.now(UTC)
    create_glue_job(account.clients, "wide", worker_type=worker_type, workers=3)
    start(account, "wide", HOUR, now)
    (job,) = adapter(account.clients).list_active(now)
    assert job.cost_basis.components == ((key, units * 3),)


def test_a_run_without_started_on_does_not_end_the_listing():
    """StartedOn is optional in the model: LastModifiedOn stands in (a later time, so the
    run is never judged older than it is); a run with neither is reported on its own."""
    clients = Clients(default_region="us-east-1")
    now = datetime.now(UTC)
    job = {"Name": "etl", "WorkerType": "G.1X", "NumberOfWorkers": 2}
    runs = [
        {"Id": "jr_1", "JobName": "etl", "JobRunState": "RUNNING", "LastModifiedOn": now - HOUR},
        {"Id": "jr_2", "JobName": "etl", "JobRunState": "WAITING"},
        {"Id": "jr_3", "JobName": "etl", "JobRunState": "RUNNING", "StartedOn": now - HOUR},
    ]
    with Stubber(clients.client("glue")) as glue, Stubber(clients.client("sts")) as sts:
        glue.add_response("get_jobs", {"Jobs": [job]})
        glue.add_response("get_job_runs", {"JobRuns": runs})
        sts.add_response(
            "get_caller_identity",
            {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:role/x"},
        )
        glue.add_response("get_tags", {"Tags": {}})
        listed = list(adapter(clients).list_active(now))
    assert [getattr(item, "job_id", None) for item in listed] == ["jr_1", None, "jr_3"]
    assert listed[0].run_seconds(now) == pytest.approx(3600, abs=1)
    assert isinstance(listed[1], Unreadable)
    assert "jr_2" in listed[1].subject


@pytest.mark.parametrize("failing", ["get_job_runs", "get_tags"])
def test_a_job_that_cannot_be_read_is_reported_and_the_rest_listed(failing):
    """AccessDenied on one healthy job's GetJobRuns or GetTags: that job is an Unreadable,
    and the stuck run of the next job is still listed."""
    clients = Clients(default_region="us-east-1")
    now = datetime.now(UTC)
    jobs = [{"Name": "healthy"}, {"Name": "stuck"}]
    running = {"JobRunState": "RUNNING", "StartedOn": now - 5 * HOUR}
    with Stubber(clients.client("glue")) as glue, Stubber(clients.client("sts")) as sts:
        glue.add_response("get_jobs", {"Jobs": jobs})
        sts.add_response(
            "get_caller_identity",
            {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:role/x"},
        )
        if failing == "get_job_runs":
            glue.add_client_error("get_job_runs", "AccessDeniedException", "not this job")
        else:
            glue.add_response(
                "get_job_runs", {"JobRuns": [{**running, "Id": "jr_h", "JobName": "healthy"}]}
            )
            glue.add_client_error("get_tags", "AccessDeniedException", "not this job")
        glue.add_response(
            "get_job_runs", {"JobRuns": [{**running, "Id": "jr_s", "JobName": "stuck"}]}
        )
        glue.add_response("get_tags", {"Tags": {"team": "data"}})
        listed = list(adapter(clients).list_active(now))
        glue.assert_no_pending_responses()
    assert isinstance(listed[0], Unreadable)
    assert listed[0].subject == "glue job healthy"
    assert "not this job" in listed[0].reason
    assert (listed[1].job_id, listed[1].tags) == ("jr_s", {"team": "data"})


def test_glue_starts_are_not_evented():
    assert GlueJobRuns.events_announce_starts is False


def test_pages_through_jobs_and_runs_and_stops_past_the_oldest_possible_run(
    account, fill, monkeypatch
):
    monkeypatch.setattr(glue_adapter, "JOBS_PAGE_SIZE", 2)
    monkeypatch.setattr(glue_adapter, "RUNS_PAGE_SIZE", 3)
    now = datetime.now(UTC)
    for n in range(5):  # three pages of GetJobs
        create_glue_job(account.clients, f"idle-{n}", {"n": str(n)})
    create_glue_job(account.clients, "busy", {"team": "data"}, max_concurrent_runs=50)
    # Newest first, three a page: 2 recent active runs and 1 active for almost 14 days, 5
    # finished, then (past 14 days) one that still claims to be active and 3 more, which
    # end the third page and fill a fourth that is never read.
    history = [timedelta(days=13, hours=23)]
    for n in range(5):
        history.append(timedelta(days=2 + n))
    ancient = [timedelta(days=15 + n) for n in range(4)]
    runs = {ago: start(account, "busy", ago, now) for ago in [*history, *ancient]}
    for n in range(5):
        move(fill, runs[timedelta(days=2 + n)], "SUCCEEDED", now - timedelta(days=1 + n))
    for ago in ancient[1:]:
        move(fill, runs[ago], "FAILED", now - ago + HOUR)
    recent = [start(account, "busy", timedelta(minutes=m), now) for m in (10, 20)]
    glue = account.clients.client("glue")
    get_jobs, get_tags = counting(glue, "GetJobs"), counting(glue, "GetTags")
    account.emulator.calls.clear()

    found = {job.job_id for job in adapter(account.clients).list_active(now)}

    assert found == {*recent, runs[history[0]]}
    assert runs[ancient[0]] not in found  # "active" for 15 days: past any possible run
    assert len(get_jobs) == 3
    assert account.emulator.calls.count(("glue", "GetJobRuns")) == 5 + 3  # busy: 3 of 4 pages
    assert get_tags == ["GetTags"]  # only jobs with active runs, once each


def test_tags_and_the_account_are_read_once_per_sweep(account):
    now = datetime.now(UTC)
    create_glue_job(account.clients, "etl", {"team": "data"}, max_concurrent_runs=3)
    for minutes in (5, 10, 15):
        start(account, "etl", timedelta(minutes=minutes), now)
    get_tags = counting(account.clients.client("glue"), "GetTags")
    identities: list[str] = []
    account.clients.client("sts").meta.events.register(
        "after-call.sts.GetCallerIdentity", lambda **_: identities.append("sts")
    )

    jobs = list(adapter(account.clients).list_active(now))

    assert len(jobs) == 3
    assert (len(get_tags), len(identities)) == (1, 1)


def test_no_active_run_means_no_tag_or_identity_call(account, fill):
    now = datetime.now(UTC)
    create_glue_job(account.clients, "etl", {"team": "data"})
    move(fill, start(account, "etl", HOUR, now), "SUCCEEDED", now)
    identities: list[str] = []
    account.clients.client("sts").meta.events.register(
        "after-call.sts.GetCallerIdentity", lambda **_: identities.append("sts")
    )
    assert list(adapter(account.clients).list_active(now)) == []
    assert identities == []


def test_stop_then_a_repeat_refused_is_still_our_stop(account, fill):
    """A lost BatchStopJobRun response makes botocore send it again; the fill refuses the
    repeat (an Errors entry) and the read-back finds the run STOPPING, then STOPPED: ours."""
    now = datetime.now(UTC)
    create_glue_job(account.clients, "etl")
    run_id = start(account, "etl", HOUR, now)
    glue = adapter(account.clients)
    (job,) = glue.list_active(now)

    assert glue.stop(job, "too long") is Outcome.STOPPED
    assert _state(account, "etl", run_id) == "STOPPING"
    assert glue.stop(job, "too long") is Outcome.STOPPED
    fill.finish(run_id, "STOPPED")
    assert glue.stop(job, "too long") is Outcome.STOPPED
    assert glue.read_back(job, "too long") is Outcome.STOPPED


@pytest.mark.parametrize("state", ["SUCCEEDED", "FAILED", "TIMEOUT", "ERROR"])
def test_a_run_that_ended_on_its_own_is_already_finished(account, fill, state):
    now = datetime.now(UTC)
    create_glue_job(account.clients, "etl")
    run_id = start(account, "etl", HOUR, now)
    glue = adapter(account.clients)
    (job,) = glue.list_active(now)
    assert glue.read_back(job, "too long") is None
    fill.finish(run_id, state)

    assert glue.stop(job, "too long") is Outcome.ALREADY_FINISHED
    assert glue.read_back(job, "too long") is Outcome.ALREADY_FINISHED


def test_read_back_of_a_deleted_job_is_already_finished():
    clients = Clients(default_region="us-east-1")
    with Stubber(clients.client("glue")) as stub:
        stub.add_client_error("get_job_run", "EntityNotFoundException", "no such job")
        assert adapter(clients).read_back(_job("jr_1", "etl"), "x") is Outcome.ALREADY_FINISHED


def test_stop_many_reports_each_run_of_a_partial_failure(account, fill):
    now = datetime.now(UTC)
    create_glue_job(account.clients, "etl", max_concurrent_runs=5)
    create_glue_job(account.clients, "report")
    starting = start(account, "etl", HOUR, now)
    waiting = start(account, "etl", HOUR, now)
    fill.advance(waiting, "WAITING")
    report = start(account, "report", HOUR, now)
    glue = adapter(account.clients)
    jobs = {job.job_id: job for job in glue.list_active(now)}
    ended = start(account, "etl", HOUR, now)  # ends after the listing, before the stop
    jobs[ended] = _job(ended, "etl")
    fill.finish(ended, "SUCCEEDED")

    results = glue.stop_many([(job, "over budget") for job in jobs.values()])

    assert results == {
        jobs[starting].key: Outcome.STOPPED,
        jobs[waiting].key: Outcome.STOPPED,
        jobs[report].key: Outcome.STOPPED,
        jobs[ended].key: Outcome.ALREADY_FINISHED,
    }
    assert _state(account, "etl", waiting) == "STOPPING"
    assert _state(account, "etl", ended) == "SUCCEEDED"
    assert ("glue", "BatchStopJobRun") in account.emulator.calls


def test_stop_many_batches_by_job_and_25_runs_and_reads_errors():
    """Pinned requests: one call per job and 25 runs; each Errors entry is re-read."""
    clients = Clients(default_region="us-east-1")
    glue = adapter(clients)
    big = [_job(f"jr_{n:02}", "big") for n in range(27)]
    small = _job("jr_small", "small")
    with Stubber(clients.client("glue")) as stub:
        first = [j.job_id for j in big[:25]]
        stub.add_response(
            "batch_stop_job_run",
            {
                "SuccessfulSubmissions": [{"JobName": "big", "JobRunId": i} for i in first[2:]],
                "Errors": [
                    _error("big", first[0], "InvalidInputException", "run is SUCCEEDED"),
                    _error("big", first[1], "InternalServiceException", "try again"),
                ],
            },
            {"JobName": "big", "JobRunIds": first},
        )
        stub.add_response(
            "get_job_run",
            {"JobRun": {"Id": first[0], "JobRunState": "SUCCEEDED"}},
            {"JobName": "big", "RunId": first[0]},
        )
        stub.add_response(
            "get_job_run",
            {"JobRun": {"Id": first[1], "JobRunState": "RUNNING"}},
            {"JobName": "big", "RunId": first[1]},
        )
        stub.add_response(  # answers for one run only: the other is reported, not assumed
            "batch_stop_job_run",
            {"SuccessfulSubmissions": [{"JobName": "big", "JobRunId": "jr_25"}]},
            {"JobName": "big", "JobRunIds": ["jr_25", "jr_26"]},
        )
        stub.add_response(
            "get_job_run",
            {"JobRun": {"Id": "jr_26", "JobRunState": "RUNNING"}},
            {"JobName": "big", "RunId": "jr_26"},
        )
        stub.add_client_error(
            "batch_stop_job_run",
            "InternalServiceException",
            "unavailable",
            expected_params={"JobName": "small", "JobRunIds": ["jr_small"]},
        )
        stub.add_response(  # the whole call failed: read back, still running
            "get_job_run",
            {"JobRun": {"Id": "jr_small", "JobRunState": "RUNNING"}},
            {"JobName": "small", "RunId": "jr_small"},
        )

        results = glue.stop_many([(job, "over budget") for job in [*big, small]])

        stub.assert_no_pending_responses()
    assert results[big[0].key] is Outcome.ALREADY_FINISHED
    assert isinstance(results[big[1].key], StopRefused)
    assert "InternalServiceException: try again" in str(results[big[1].key])
    assert all(results[j.key] is Outcome.STOPPED for j in big[2:26])
    assert "did not answer for jr_26" in str(results[big[26].key])
    assert isinstance(results[small.key], ClientError)
    assert len(results) == 28


@pytest.mark.parametrize(
    ("read", "outcome"),
    [
        ("STOPPING", Outcome.STOPPED),
        ("STOPPED", Outcome.STOPPED),
        ("SUCCEEDED", Outcome.ALREADY_FINISHED),
        ("TIMEOUT", Outcome.ALREADY_FINISHED),
    ],
)
def test_a_lost_stop_answer_then_a_failure_is_read_back(read, outcome):
    """Our first BatchStopJobRun landed but its answer was lost; the retry failed outright
    or was refused for the run: the run read back tells whose end it was."""
    clients = Clients(default_region="us-east-1")
    job = _job("jr_1", "etl")
    with Stubber(clients.client("glue")) as stub:
        stub.add_client_error("batch_stop_job_run", "InternalServiceException", "lost")
        stub.add_response("get_job_run", {"JobRun": {"Id": "jr_1", "JobRunState": read}})
        assert adapter(clients).stop(job, "too long") is outcome
        stub.add_response(
            "batch_stop_job_run",
            {"Errors": [_error("etl", "jr_1", "InvalidInputException", "not running")]},
        )
        stub.add_response("get_job_run", {"JobRun": {"Id": "jr_1", "JobRunState": read}})
        assert adapter(clients).stop(job, "too long") is outcome
        stub.assert_no_pending_responses()


def test_stop_raises_when_the_refused_run_is_still_active():
    clients = Clients(default_region="us-east-1")
    job = _job("jr_1", "etl")
    with Stubber(clients.client("glue")) as stub:
        stub.add_response(
            "batch_stop_job_run",
            {"Errors": [_error("etl", "jr_1", "InternalServiceException", "busy")]},
            {"JobName": "etl", "JobRunIds": ["jr_1"]},
        )
        stub.add_client_error(
            "get_job_run", "OperationTimeoutException", "slow", expected_params=None
        )
        with pytest.raises(StopRefused, match="busy; reading the run failed"):
            adapter(clients).stop(job, "too long")


def test_a_job_deleted_while_listing_is_skipped():
    clients = Clients(default_region="us-east-1")
    now = datetime.now(UTC)
    run = {"Id": "jr_1", "JobName": "live", "JobRunState": "RUNNING", "StartedOn": now - HOUR}
    with Stubber(clients.client("glue")) as glue, Stubber(clients.client("sts")) as sts:
        glue.add_response(
            "get_jobs", {"Jobs": [{"Name": "gone"}, {"Name": "live"}]}, {"MaxResults": 100}
        )
        glue.add_client_error(
            "get_job_runs",
            "EntityNotFoundException",
            "Job gone not found",
            expected_params={"JobName": "gone", "MaxResults": 200},
        )
        glue.add_response(
            "get_job_runs", {"JobRuns": [run]}, {"JobName": "live", "MaxResults": 200}
        )
        sts.add_response(
            "get_caller_identity",
            {"Account": "210987654321", "Arn": "arn:aws-cn:sts::210987654321:assumed-role/x/y"},
            {},
        )
        glue.add_response(
            "get_tags",
            {"Tags": {"team": "data"}},
            {"ResourceArn": "arn:aws-cn:glue:us-east-1:210987654321:job/live"},
        )
        (job,) = adapter(clients).list_active(now)
    assert (job.job_id, job.tags) == ("jr_1", {"team": "data"})
    assert job.cost_basis is None  # neither workers nor capacity known: no cost limit applies


@pytest.mark.parametrize("operation", ["GetJobs", "GetTags"])
def test_throttling_is_retried(account, operation):
    """A throttled call served by moto is retried by botocore's retry mode."""
    now = datetime.now(UTC)
    create_glue_job(account.clients, "etl", {"team": "data"})
    start(account, "etl", HOUR, now)
    throttled = throttle(account.clients.client("glue"), operation)
    jobs = list(adapter(account.clients).list_active(now))
    assert len(throttled) == 2
    assert jobs[0].tags == {"team": "data"}


def test_the_grants_cover_every_glue_call():
    assert GlueJobRuns.iam_actions() == {
        "glue:GetJobs",
        "glue:BatchGetJobs",  # the definitions of indexed runs (describe_many)
        "glue:GetJobRuns",
        "glue:GetJobRun",
        "glue:BatchStopJobRun",
        "glue:GetTags",
    }
    (scoped,) = [g for g in GlueJobRuns.grants if g.resources != ("*",)]
    assert scoped.resources == ("arn:{partition}:glue:{region}:{account}:job/*",)


def test_the_fill_holds_runs_and_pages_them_newest_first(account, fill):
    now = datetime.now(UTC)
    create_glue_job(account.clients, "etl", max_concurrent_runs=5)
    ids = [start(account, "etl", timedelta(minutes=m), now) for m in (50, 40, 30, 20, 10)]
    fill.advance(ids[0], "RUNNING")
    glue = account.clients.client("glue")
    for _ in range(3):
        assert _state(account, "etl", ids[0]) == "RUNNING"
    pages = glue.get_paginator("get_job_runs").paginate(
        JobName="etl", PaginationConfig={"PageSize": 2}
    )
    listed = [[run["Id"] for run in page["JobRuns"]] for page in pages]
    newest = ids[::-1]
    assert listed == [newest[:2], newest[2:4], newest[4:]]
    running = glue.get_job_run(JobName="etl", RunId=ids[0])["JobRun"]
    assert "CompletedOn" not in running
    with time_machine.travel(now + HOUR, tick=False):
        fill.finish(ids[0])
    ended = glue.get_job_run(JobName="etl", RunId=ids[0])["JobRun"]
    assert ended["JobRunState"] == "SUCCEEDED"
    assert ended["ExecutionTime"] == pytest.approx(3600, abs=5)


def test_the_fill_moves_runs_only_as_glue_can(account, fill):
    create_glue_job(account.clients, "etl")
    glue = account.clients.client("glue")
    run_id = glue.start_job_run(JobName="etl")["JobRunId"]
    fill.advance(run_id, "WAITING")
    fill.advance(run_id, "STARTING")
    fill.advance(run_id, "RUNNING")
    with pytest.raises(ValueError, match="already running"):
        fill.advance(run_id, "WAITING")
    fill.finish(run_id, "FAILED")
    with pytest.raises(ValueError, match="already ended"):
        fill.finish(run_id)
    with pytest.raises(ClientError, match="EntityNotFoundException"):
        glue.get_job_runs(JobName="missing")
    with pytest.raises(ClientError, match="EntityNotFoundException"):
        glue.get_job_run(JobName="etl", RunId="jr_missing")
    answer = glue.batch_stop_job_run(JobName="etl", JobRunIds=[run_id, "jr_missing"])
    assert answer["SuccessfulSubmissions"] == []
    assert [e["ErrorDetail"]["ErrorCode"] for e in answer["Errors"]] == [
        "InvalidInputException",
        "EntityNotFoundException",
    ]


def _state(account, job: str, run_id: str) -> str:
    run = account.clients.client("glue").get_job_run(JobName=job, RunId=run_id)["JobRun"]
    return run["JobRunState"]  # type: ignore[no-any-return]


def _job(run_id: str, name: str) -> Job:
    now = datetime.now(UTC)
    return Job("glue", run_id, name, "us-east-1", "RUNNING", now, now)


def _error(job: str, run_id: str, code: str, message: str) -> dict:
    return {
        "JobName": job,
        "JobRunId": run_id,
        "ErrorDetail": {"ErrorCode": code, "ErrorMessage": message},
    }


def test_indexed_runs_read_each_definition_and_tags_once(account, fill):
    """Re-reading indexed runs: GetJobRun per run (Glue has no batch read of runs), the
    definitions in one BatchGetJobs, each job's tags once."""
    now = datetime.now(UTC)
    runs = {}
    for n in range(3):
        create_glue_job(account.clients, f"etl-{n}", {"team": "data"}, max_concurrent_runs=2)
        for ago in (2 * HOUR, HOUR):
            runs[start(account, f"etl-{n}", ago, now)] = f"etl-{n}"
    account.emulator.calls = calls = []
    glue = account.clients.client("glue")
    tags = counting(glue, "GetTags")
    definitions = counting(glue, "GetJob")

    found = adapter(account.clients).describe_many(list(runs), now, runs)

    assert set(found) == set(runs)
    assert found[next(iter(runs))].tags == {"team": "data"}
    assert len(tags) == 3
    assert definitions == []
    assert calls.count(("glue", "GetJobRun")) == 6

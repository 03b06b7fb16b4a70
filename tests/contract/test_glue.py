"""Glue job runs: GetJobs, GetJobRuns, GetJobRun, GetJob, GetTags and BatchStopJobRun,
answered with the AWS CLI's published example outputs (GetJobs and GetTags have none: see
samples/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobwarden.model import Job, Outcome, Settings
from jobwarden.pricing import glue_basis
from jobwarden.services.glue import GlueJobRuns

from tests.contract.conftest import REGION, sample

JOB = "my-testing-job"
RUN = "jr_012e176506505074d94d761755e5c62538ee1aad6f17d39f527e9140cf0c9a5e"
STARTED = datetime.fromtimestamp(1602873931.255, UTC)  # get-job-run.rst's StartedOn
JOB_ARN = f"arn:aws:glue:{REGION}:123456789012:job/{JOB}"


def adapter(clients: Any) -> GlueJobRuns:
    return GlueJobRuns(clients, REGION, Settings())


def get_jobs() -> dict[str, Any]:
    """GetJobs has no published example; its `Jobs` hold the shape GetJob answers, so this is
    get-job.rst's job in a one-item list."""
    return {"Jobs": [sample("glue", "GetJob", "glue/get-job")["Job"]]}


def running_run(name: str = JOB) -> dict[str, Any]:
    """get-job-run.rst's run as it stood while RUNNING: AWS publishes no active run, so the
    published SUCCEEDED run with JobRunState RUNNING and without CompletedOn."""
    run = sample("glue", "GetJobRun", "glue/get-job-run")["JobRun"]
    run.update(JobRunState="RUNNING", JobName=name)
    del run["CompletedOn"]
    return run


def identity(stub: Any) -> None:
    sts = stub("sts")
    sts.add_response(
        "get_caller_identity", sample("sts", "GetCallerIdentity", "sts/get-caller-identity"), {}
    )


def test_ended_runs_are_not_listed(clients, stub):
    """get-job-runs.rst: a SUCCEEDED run and two FAILED attempts, newest first: none active."""
    glue = stub("glue")
    glue.add_response("get_jobs", get_jobs(), {"MaxResults": 100})
    runs = sample("glue", "GetJobRuns", "glue/get-job-runs")
    assert [r["JobRunState"] for r in runs["JobRuns"]] == ["SUCCEEDED", "FAILED", "FAILED"]
    glue.add_response("get_job_runs", runs, {"JobName": JOB, "MaxResults": 200})

    assert list(adapter(clients).list_active(STARTED + timedelta(hours=1))) == []
    glue.assert_no_pending_responses()  # no tags read for a job with nothing running


def test_a_running_run_is_listed_with_its_job_tags(clients, stub):
    glue = stub("glue")
    identity(stub)
    run = running_run()
    glue.add_response("get_jobs", get_jobs(), {"MaxResults": 100})
    glue.add_response("get_job_runs", {"JobRuns": [run]}, {"JobName": JOB, "MaxResults": 200})
    glue.add_response(
        "get_tags", sample("glue", "GetTags", "glue/get-tags"), {"ResourceArn": JOB_ARN}
    )

    (found,) = adapter(clients).list_active(STARTED + timedelta(hours=1))

    assert found == Job(
        service="glue",
        job_id=RUN,
        name=JOB,
        region=REGION,
        status="RUNNING",
        submitted_at=STARTED,
        started_at=STARTED,
        tags={"team": "data"},
        cost_basis=glue_basis("G.1X", 10, 10.0, None),  # the run's 10 G.1X workers
        timeout_minutes=2880.0,  # the run's Timeout
    )
    glue.assert_no_pending_responses()
    stub("sts").assert_no_pending_responses()


def test_get_job_run_of_an_ended_run_is_not_active(clients, stub):
    glue = stub("glue")
    ended = sample("glue", "GetJobRun", "glue/get-job-run")
    glue.add_response("get_job_run", ended, {"JobName": JOB, "RunId": RUN})

    assert adapter(clients).describe_many([RUN], STARTED, {RUN: JOB}) == {}
    glue.assert_no_pending_responses()  # no GetJob for a run that has ended


def test_get_job_run_of_a_running_run_reads_its_job(clients, stub):
    glue = stub("glue")
    identity(stub)
    glue.add_response("get_job_run", {"JobRun": running_run()}, {"JobName": JOB, "RunId": RUN})
    glue.add_response(
        "batch_get_jobs", sample("glue", "BatchGetJobs", "glue/batch-get-jobs"), {"JobNames": [JOB]}
    )
    glue.add_response(
        "get_tags", sample("glue", "GetTags", "glue/get-tags"), {"ResourceArn": JOB_ARN}
    )

    found = adapter(clients).describe_many([RUN], STARTED + timedelta(hours=1), {RUN: JOB})

    assert list(found) == [RUN]
    assert (found[RUN].status, found[RUN].started_at) == ("RUNNING", STARTED)
    glue.assert_no_pending_responses()


def test_batch_stop_job_run_submission_is_a_stop(clients, stub):
    glue = stub("glue")
    stopped = sample("glue", "BatchStopJobRun", "glue/batch-stop-job-run")
    run_id = stopped["SuccessfulSubmissions"][0]["JobRunId"]
    glue.add_response("batch_stop_job_run", stopped, {"JobName": JOB, "JobRunIds": [run_id]})

    job = Job("glue", run_id, JOB, REGION, "RUNNING", STARTED, STARTED)
    assert adapter(clients).stop(job, "too long") is Outcome.STOPPED
    glue.assert_no_pending_responses()

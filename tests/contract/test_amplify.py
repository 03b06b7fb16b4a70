"""Amplify jobs: ListApps, ListBranches, ListJobs, GetJob, GetApp, GetBranch, StopJob and
StartJob. AWS publishes no example responses for Amplify (no AWS CLI examples; the API
reference gives only the response syntax), so these samples are ours, written to that syntax,
and pin the requests the adapter sends more than the service's answers (samples/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobwarden.model import Job, Outcome, PendingRetry, Retry, RetryStarted, Settings
from jobwarden.pricing import amplify_basis
from jobwarden.services.amplify import AmplifyJobs

from tests.contract.conftest import REGION, sample

APP, BRANCH, JOB_ID = "d1a2b3c4example", "feature/login", "3"
QUALIFIED = f"{APP}/{BRANCH}/{JOB_ID}"
STARTED = datetime.fromtimestamp(1700003600, UTC)
JOB_PARAMS = {"appId": APP, "branchName": BRANCH, "jobId": JOB_ID}


def adapter(clients: Any) -> AmplifyJobs:
    return AmplifyJobs(clients, REGION, Settings())


def job() -> Job:
    details = {"app_id": APP, "branch": BRANCH, "job_id": JOB_ID}
    return Job(
        "amplify",
        QUALIFIED,
        "storefront/feature/login",
        REGION,
        "RUNNING",
        STARTED,
        details=details,
    )


def test_a_running_job_on_a_branch_named_with_a_slash(clients, stub):
    amplify = stub("amplify")
    amplify.add_response(
        "list_apps", sample("amplify", "ListApps", "amplify/list-apps"), {"maxResults": 100}
    )
    amplify.add_response(
        "list_branches",
        sample("amplify", "ListBranches", "amplify/list-branches"),
        {"appId": APP, "maxResults": 50},
    )
    amplify.add_response(
        "list_jobs",
        sample("amplify", "ListJobs", "amplify/list-jobs"),
        {"appId": APP, "branchName": BRANCH, "maxResults": 50},
    )
    amplify.add_response("get_job", sample("amplify", "GetJob", "amplify/get-job"), JOB_PARAMS)

    jobs = list(adapter(clients).list_active(STARTED + timedelta(hours=1)))

    assert jobs == [
        Job(
            service="amplify",
            job_id=QUALIFIED,
            name="storefront/feature/login",
            region=REGION,
            status="RUNNING (BUILD)",
            submitted_at=STARTED,
            started_at=STARTED + timedelta(minutes=1),  # its first step's start
            tags={"team": "web", "owner": "checkout"},  # the app's, then the branch's
            cost_basis=amplify_basis("STANDARD_8GB"),
            arn=f"arn:aws:amplify:us-east-1:123456789012:apps/{APP}/branches/{BRANCH}/jobs/0000000003",
            details={"app_id": APP, "branch": BRANCH, "job_id": JOB_ID},
            lineage=f"{APP}/{BRANCH}/0a6546f68309560d08a310daac92314c4d378f6b",
            branch="branch/feature/login",  # jobs of one branch supersede each other
            timeout_minutes=30.0,  # no _BUILD_TIMEOUT variable: Amplify's default
        )
    ]
    amplify.assert_no_pending_responses()  # the ended job 2 is not read


def test_stop_job_answering_cancelling_is_a_stop(clients, stub):
    amplify = stub("amplify")
    amplify.add_response("stop_job", sample("amplify", "StopJob", "amplify/stop-job"), JOB_PARAMS)
    assert adapter(clients).stop(job(), "too long") is Outcome.STOPPED
    amplify.assert_no_pending_responses()


def test_retry_starts_a_retry_job_once_the_stopped_one_has_ended(clients, stub):
    amplify = stub("amplify")
    cancelled = sample("amplify", "GetJob", "amplify/get-job")
    cancelled["job"]["summary"]["status"] = "CANCELLED"
    amplify.add_response("get_job", cancelled, JOB_PARAMS)
    amplify.add_response(
        "start_job",
        sample("amplify", "StartJob", "amplify/start-job"),
        {
            **JOB_PARAMS,
            "jobType": "RETRY",
            "jobReason": "jobwarden retry 1 after a stop under policy amplify-builds",
        },
    )
    pending = PendingRetry(
        service="amplify",
        region=REGION,
        job_id=QUALIFIED,
        name="storefront/feature/login",
        retry_subject=f"amplify#{REGION}#{QUALIFIED}",
        retry=Retry("RETRY", 1),
        policy="amplify-builds",
        stopped_at=STARTED + timedelta(hours=1),
        details={"app_id": APP, "branch": BRANCH, "job_id": JOB_ID},
    )
    assert adapter(clients).retry(pending, 1) == RetryStarted(f"{APP}/{BRANCH}/4")
    amplify.assert_no_pending_responses()


def test_describe_reads_the_job_of_a_branch_named_with_a_slash(clients, stub):
    amplify = stub("amplify")
    amplify.add_response("get_job", sample("amplify", "GetJob", "amplify/get-job"), JOB_PARAMS)
    amplify.add_response(
        "get_app",
        {"app": sample("amplify", "ListApps", "amplify/list-apps")["apps"][0]},
        {"appId": APP},
    )
    amplify.add_response(
        "get_branch",
        {"branch": sample("amplify", "ListBranches", "amplify/list-branches")["branches"][0]},
        {"appId": APP, "branchName": BRANCH},
    )
    # a running job's steps: read again for its start
    amplify.add_response("get_job", sample("amplify", "GetJob", "amplify/get-job"), JOB_PARAMS)
    found = adapter(clients).describe(QUALIFIED, STARTED + timedelta(hours=1))
    assert found is not None
    assert found.details == {"app_id": APP, "branch": BRANCH, "job_id": JOB_ID}

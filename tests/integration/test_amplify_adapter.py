"""The Amplify jobs adapter against the emulated account (the Amplify fill; moto has none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jobwarden.services.amplify  # noqa: F401 - registers the adapter
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from jobwarden.aws import Clients
from jobwarden.local.amplify import AmplifyFill, create_app, start_job
from jobwarden.model import Job, Outcome, PendingRetry, Retry, RetryStarted, Settings
from jobwarden.services.amplify import AmplifyJobs, parse_id, qualified_id
from jobwarden.services.base import Unreadable

from tests.integration.conftest import throttle

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def amplify(request) -> AmplifyFill | None:
    """The Amplify fill on the emulated account, for the tests that use one."""
    if "account" not in request.fixturenames:
        return None  # Stubber and wire tests: nothing emulated
    fill: AmplifyFill = request.getfixturevalue("account").emulator.add(AmplifyFill)
    return fill


def adapter(clients: Clients) -> AmplifyJobs:
    return AmplifyJobs(clients, "us-east-1", Settings())


def start(account, app_id: str, ago: timedelta, *moves, branch: str = "main", now=None) -> str:
    now = now or datetime.now(UTC)
    return start_job(account.emulator, account.clients, app_id, branch, now - ago, *moves)


def job_status(account, qualified: str) -> dict:
    app_id, branch, number = parse_id(qualified).values()
    return account.clients.client("amplify").get_job(appId=app_id, branchName=branch, jobId=number)[
        "job"
    ]


def test_queued_provisioning_and_running_jobs_with_tags_and_cost(account):
    now = datetime.now(UTC)
    app = create_app(account.clients, "storefront", {"team": "web"}, compute_type="LARGE_16GB")
    account.clients.client("amplify").create_branch(
        appId=app, branchName="preview", tags={"team": "preview", "stage": "pr"}
    )
    pending = start(account, app, 50 * MINUTE, now=now)
    provisioning = start(account, app, 40 * MINUTE, (5 * MINUTE, "PROVISIONING"), now=now)
    running = start(
        account,
        app,
        30 * MINUTE,
        (MINUTE, "PROVISIONING"),
        (4 * MINUTE, "RUNNING"),
        branch="preview",
        now=now,
    )
    for status in ("SUCCEED", "FAILED", "CANCELLED", "CANCELLING"):
        ended = (MINUTE, "RUNNING"), (2 * MINUTE, status)
        start(account, app, 20 * MINUTE, *ended, now=now)

    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    assert set(jobs) == {pending, provisioning, running}
    assert (jobs[pending].status, jobs[pending].started_at) == ("PENDING", None)
    assert jobs[pending].queue_seconds(now) == pytest.approx(50 * 60, abs=1)
    assert (jobs[provisioning].status, jobs[provisioning].started_at) == ("PROVISIONING", None)
    assert jobs[provisioning].queue_seconds(now) == pytest.approx(40 * 60, abs=1)
    assert jobs[running].status == "RUNNING (BUILD)"
    assert jobs[running].queue_seconds(now) == pytest.approx(4 * 60, abs=1)
    assert jobs[running].run_seconds(now) == pytest.approx(26 * 60, abs=1)
    assert jobs[running].name == "storefront/preview"
    assert jobs[running].tags == {"team": "preview", "stage": "pr"}  # the branch's win
    assert jobs[pending].tags == {"team": "web"}
    assert jobs[running].cost_basis.components == (("amplify:LARGE_16GB", 1.0),)
    assert jobs[running].arn.endswith(f"apps/{app}/branches/preview/jobs/1")
    assert jobs[running].details == {"app_id": app, "branch": "preview", "job_id": "1"}
    commit = job_status(account, running)["summary"]["commitId"]
    assert jobs[running].lineage == f"{app}/preview/{commit}"


def test_run_time_counts_from_the_first_step(account, amplify):
    """A job now deploying has run since its build step began, not since DEPLOY began."""
    now = datetime.now(UTC)
    app = create_app(account.clients, "storefront")
    job_id = start(account, app, HOUR, (2 * MINUTE, "RUNNING"), now=now)
    app_id, branch, number = job_id.split("/")
    job = amplify._find(app_id, branch, number)
    with_deploy = {"stepName": "DEPLOY", "status": "RUNNING"}
    job["steps"].append({**with_deploy, "startTime": now - MINUTE, "endTime": now - MINUTE})

    (found,) = adapter(account.clients).list_active(now)

    assert found.status == "RUNNING (DEPLOY)"
    assert found.run_seconds(now) == pytest.approx(58 * 60, abs=1)


def test_lists_every_app_and_branch_across_pages(account):
    now = datetime.now(UTC)
    apps = [create_app(account.clients, f"site-{n:03}") for n in range(101)]
    wide = create_app(account.clients, "monorepo", branches=tuple(f"b{n:02}" for n in range(51)))
    last_app = start(account, apps[-1], 10 * MINUTE, now=now)
    last_branch = start(account, wide, 10 * MINUTE, branch="b50", now=now)
    account.emulator.calls.clear()

    found = {job.job_id for job in adapter(account.clients).list_active(now)}

    assert found == {last_app, last_branch}
    assert account.emulator.calls.count(("amplify", "ListApps")) == 2  # 100 a page
    assert account.emulator.calls.count(("amplify", "ListBranches")) == 101 + 2  # 50 a page
    assert account.emulator.calls.count(("amplify", "ListJobs")) == 101 + 51


def test_a_job_pending_for_30_hours_is_listed_and_paging_ends_after_a_run_of_ended_jobs(
    account, amplify
):
    """No age cut-off: the stuck job is found however old; reading stops after 50 ended
    jobs in a row (here the oldest page, 100 jobs back, is never read)."""
    now = datetime.now(UTC)
    app = create_app(account.clients, "busy")
    done = (MINUTE, "RUNNING"), (5 * MINUTE, "SUCCEED")
    for n in range(120):
        start(account, app, 60 * HOUR - n * 10 * MINUTE, *done, now=now)
    stuck = start(account, app, 30 * HOUR, now=now)  # PENDING ever since
    behind = [start(account, app, 29 * HOUR - n * HOUR, now=now) for n in range(3)]
    account.emulator.calls.clear()

    found = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    assert set(found) == {stuck, *behind}
    assert found[stuck].queue_seconds(now) == pytest.approx(30 * 3600, abs=1)
    assert account.emulator.calls.count(("amplify", "ListJobs")) == 2  # of three pages


def test_a_running_job_behind_a_cancelled_queued_one_is_found(account, amplify):
    now = datetime.now(UTC)
    app = create_app(account.clients, "busy")
    done = (MINUTE, "RUNNING"), (5 * MINUTE, "SUCCEED")
    for n in range(60):
        start(account, app, 50 * HOUR - n * 10 * MINUTE, *done, now=now)
    running = start(account, app, 3 * HOUR, (MINUTE, "RUNNING"), now=now)
    start(account, app, 2 * HOUR, (MINUTE, "CANCELLED"), now=now)  # queued, cancelled
    pending = start(account, app, HOUR, now=now)

    found = {job.job_id for job in adapter(account.clients).list_active(now)}

    assert found == {running, pending}


@pytest.mark.parametrize(
    "branch", ["main", "feature/login", "a/b/7", "release/2024/q1/", "/lead", "spaces and ünïcode"]
)
def test_job_ids_round_trip_any_branch_name(branch):
    qualified = qualified_id("d1abc", branch, "42")
    assert parse_id(qualified) == {"app_id": "d1abc", "branch": branch, "job_id": "42"}


@pytest.mark.parametrize("bad", ["d1abc/main", "nope/main/1", "d1abc//1", "d1abc/main/x"])
def test_what_is_not_a_job_id_is_refused(bad):
    with pytest.raises(ValueError, match="not an Amplify job id"):
        parse_id(bad)


def test_a_branch_with_slashes_is_listed_re_read_stopped_and_read_back(account, amplify):
    now = datetime.now(UTC)
    app = create_app(account.clients, "storefront", branches=("main", "feature/login"))
    job_id = start(account, app, HOUR, (MINUTE, "RUNNING"), branch="feature/login", now=now)
    amplify_jobs = adapter(account.clients)

    (listed,) = amplify_jobs.list_active(now)
    assert (listed.job_id, listed.name) == (job_id, "storefront/feature/login")
    assert listed.details == {"app_id": app, "branch": "feature/login", "job_id": "1"}
    # Re-read by id alone, as index sweeps and deadline checks do.
    again = amplify_jobs.describe(job_id, now)
    assert again is not None
    assert (again.name, again.started_at) == (listed.name, listed.started_at)
    assert amplify_jobs.stop(again, "too long") is Outcome.STOPPED
    assert amplify_jobs.read_back(again, "too long") is Outcome.STOPPED
    assert job_status(account, job_id)["summary"]["status"] == "CANCELLING"


def test_an_app_or_branch_that_cannot_be_read_is_reported_and_the_rest_listed():
    """AccessDenied on one app's ListBranches, on one branch's ListJobs, and a branch deleted
    between ListJobs and GetJob: each is one Unreadable; the stuck job elsewhere is listed."""
    clients = Clients(default_region="us-east-1")
    now = datetime.now(UTC)
    apps = [_app("d1denied", "denied"), _app("d2ok", "ok")]
    branches = [_branch("d2ok", "locked"), _branch("d2ok", "gone"), _branch("d2ok", "feature/x")]
    running = _summary("RUNNING") | {"jobId": "3"}
    stuck = _summary("PENDING") | {"jobId": "9", "startTime": now - 30 * HOUR}
    with Stubber(clients.client("amplify")) as stub:
        stub.add_response("list_apps", {"apps": apps})
        stub.add_client_error("list_branches", "UnauthorizedException", "not this app", 401)
        stub.add_response("list_branches", {"branches": branches})
        stub.add_client_error("list_jobs", "UnauthorizedException", "not this branch", 401)
        stub.add_response("list_jobs", {"jobSummaries": [running]})
        stub.add_client_error("get_job", "NotFoundException", "branch deleted", 404)
        stub.add_response("list_jobs", {"jobSummaries": [stuck]})
        listed = list(adapter(clients).list_active(now))
        stub.assert_no_pending_responses()
    problems = [item for item in listed if isinstance(item, Unreadable)]
    jobs = [item for item in listed if isinstance(item, Job)]
    assert [p.subject for p in problems] == [
        "amplify app d1denied (denied)",
        "amplify app d2ok branch locked",
        "amplify app d2ok branch gone",
    ]
    assert [j.job_id for j in jobs] == ["d2ok/feature/x/9"]


def test_the_event_names_no_app_so_every_policy_of_the_service_sets_the_deadline():
    """A policy scoped by app name still gets its deadline from an event that carries the
    app id only; the check then re-reads the job under its real name."""
    from jobwarden.index import MemoryIndex
    from jobwarden.model import Policy
    from jobwarden.policies import Configuration
    from jobwarden.watch import Watcher

    class Book:
        def __init__(self) -> None:
            self.at: dict[str, datetime] = {}

        def covers(self, service: str) -> bool:
            return True

        def schedule(self, service, region, job_id, name, at) -> str:
            self.at[job_id] = at
            return "s"

        def cancel(self, name: str) -> None: ...

    started = datetime(2026, 11, 23, 10, tzinfo=UTC)
    policies = (
        Policy("storefront", services=("amplify",), names=("storefront/*",), max_queue_minutes=30),
    )
    book = Book()
    watcher = Watcher(MemoryIndex(), book, Configuration(Settings(), policies))
    event = {
        "id": "6fd17d5a-0c8b-4b3a-9b0e-2f1f0e1f2a3b",
        "source": "aws.amplify",
        "detail-type": "Amplify Deployment Status Change",
        "region": "us-east-1",
        "time": started.isoformat(),
        "detail": {
            "appId": "d1abc",
            "branchName": "feature/login",
            "jobId": "7",
            "jobStatus": "STARTED",
        },
    }
    reaction = watcher.handle(event, started)
    assert reaction.job_id == "d1abc/feature/login/7"
    assert book.at == {"d1abc/feature/login/7": started + timedelta(minutes=30)}


def test_stop_then_a_repeat_refused_is_still_our_stop(account, amplify):
    now = datetime.now(UTC)
    app = create_app(account.clients, "storefront")
    running = start(account, app, HOUR, (MINUTE, "RUNNING"), now=now)
    pending = start(account, app, 30 * MINUTE, now=now)
    amplify_jobs = adapter(account.clients)
    jobs = {job.job_id: job for job in amplify_jobs.list_active(now)}

    assert amplify_jobs.stop(jobs[running], "too long") is Outcome.STOPPED
    assert job_status(account, running)["summary"]["status"] == "CANCELLING"
    # A lost StopJob answer makes botocore send it again; the fill refuses the repeat and the
    # read-back finds the job CANCELLING: our stop, not an end of its own.
    assert amplify_jobs.stop(jobs[running], "too long") is Outcome.STOPPED
    assert amplify_jobs.read_back(jobs[running], "too long") is Outcome.STOPPED
    assert amplify_jobs.stop(jobs[pending], "queued too long") is Outcome.STOPPED
    assert job_status(account, pending)["summary"]["status"] == "CANCELLED"


def test_a_job_that_ends_before_the_stop_is_already_finished(account, amplify):
    now = datetime.now(UTC)
    app = create_app(account.clients, "storefront")
    job_id = start(account, app, HOUR, (MINUTE, "RUNNING"), now=now)
    amplify_jobs = adapter(account.clients)
    (job,) = amplify_jobs.list_active(now)
    amplify.set_status(*job_id.split("/"), "SUCCEED")

    assert amplify_jobs.stop(job, "too long") is Outcome.ALREADY_FINISHED
    assert job_status(account, job_id)["summary"]["status"] == "SUCCEED"
    assert amplify_jobs.read_back(job, "too long") is Outcome.ALREADY_FINISHED


def test_stop_is_called_with_the_job_and_a_refusal_is_checked_against_the_job():
    clients = Clients(default_region="us-east-1")
    amplify_jobs = adapter(clients)
    client = clients.client("amplify")
    job = _job()
    params = {"appId": "d1abc", "branchName": "feature/login", "jobId": "7"}
    with Stubber(client) as stub:
        stub.add_response("stop_job", {"jobSummary": _summary("CANCELLING")}, params)
        assert amplify_jobs.stop(job, "too long") is Outcome.STOPPED

        stub.add_response("stop_job", {"jobSummary": _summary("SUCCEED")}, params)
        assert amplify_jobs.stop(job, "too long") is Outcome.ALREADY_FINISHED

        stub.add_client_error("stop_job", "BadRequestException", "busy", 400, params)
        stub.add_response("get_job", {"job": {"summary": _summary("RUNNING"), "steps": []}}, params)
        with pytest.raises(ClientError, match="busy"):
            amplify_jobs.stop(job, "too long")

        stub.add_client_error("stop_job", "NotFoundException", "no such job", 404, params)
        stub.add_client_error("get_job", "NotFoundException", "no such job", 404, params)
        assert amplify_jobs.stop(job, "too long") is Outcome.ALREADY_FINISHED

        # Throttled past botocore's retries: the outcome is unknown, so the job is read back.
        stub.add_client_error("stop_job", "LimitExceededException", "slow down", 429, params)
        stub.add_response("get_job", {"job": {"summary": _summary("RUNNING"), "steps": []}}, params)
        with pytest.raises(ClientError, match="slow down"):
            amplify_jobs.stop(job, "too long")
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("read", "outcome"),
    [
        ("CANCELLING", Outcome.STOPPED),
        ("CANCELLED", Outcome.STOPPED),
        ("SUCCEED", Outcome.ALREADY_FINISHED),
        ("FAILED", Outcome.ALREADY_FINISHED),
    ],
)
def test_a_lost_stop_answer_then_a_refusal_is_read_back(read, outcome):
    """Our first StopJob landed, its answer was lost, botocore's repeat was refused (or
    failed outright): the job read back tells whose end it was."""
    clients = Clients(default_region="us-east-1")
    params = {"appId": "d1abc", "branchName": "feature/login", "jobId": "7"}
    with Stubber(clients.client("amplify")) as stub:
        for code, status in (("BadRequestException", 400), ("InternalFailureException", 500)):
            stub.add_client_error("stop_job", code, "no", status, params)
            stub.add_response("get_job", {"job": {"summary": _summary(read), "steps": []}}, params)
            assert adapter(clients).stop(_job(), "too long") is outcome
        stub.assert_no_pending_responses()


def test_list_calls_ask_for_full_pages_and_default_to_the_standard_instance():
    """Apps without a jobConfig build on STANDARD_8GB; each list call asks for its largest page."""
    clients = Clients(default_region="us-east-1")
    client = clients.client("amplify")
    now = datetime.now(UTC)
    app = {
        "appId": "d1abc",
        "appArn": "arn:aws:amplify:us-east-1:123456789012:apps/d1abc",
        "name": "legacy",
        "description": "",
        "repository": "",
        "platform": "WEB",
        "createTime": now,
        "updateTime": now,
        "environmentVariables": {},
        "defaultDomain": "d1abc.amplifyapp.com",
        "enableBranchAutoBuild": True,
        "enableBasicAuth": False,
    }
    branch = {
        "branchArn": "arn:aws:amplify:us-east-1:123456789012:apps/d1abc/branches/main",
        "branchName": "main",
        "description": "",
        "stage": "PRODUCTION",
        "displayName": "main",
        "enableNotification": False,
        "createTime": now,
        "updateTime": now,
        "environmentVariables": {},
        "enableAutoBuild": True,
        "customDomains": [],
        "framework": "",
        "activeJobId": "7",
        "totalNumberOfJobs": "7",
        "enableBasicAuth": False,
        "ttl": "5",
        "enablePullRequestPreview": False,
    }
    with Stubber(client) as stub:
        stub.add_response("list_apps", {"apps": [app]}, {"maxResults": 100})
        stub.add_response(
            "list_branches", {"branches": [branch]}, {"appId": "d1abc", "maxResults": 50}
        )
        stub.add_response(
            "list_jobs",
            {"jobSummaries": [_summary("PENDING", now)]},
            {"appId": "d1abc", "branchName": "main", "maxResults": 50},
        )
        (job,) = adapter(clients).list_active(now)
        stub.assert_no_pending_responses()
    assert job.cost_basis.components == (("amplify:STANDARD_8GB", 1.0),)
    assert job.tags == {}


def test_retry_waits_for_the_stop_then_starts_the_commit_again(account, amplify):
    now = datetime.now(UTC)
    app = create_app(account.clients, "storefront")
    job_id = start(account, app, HOUR, (MINUTE, "RUNNING"), now=now)
    amplify_jobs = adapter(account.clients)
    (job,) = amplify_jobs.list_active(now)
    assert amplify_jobs.stop(job, "too long") is Outcome.STOPPED
    pending = _pending(job)

    assert amplify_jobs.retry(pending, 1) is None  # still CANCELLING
    amplify.set_status(*job_id.split("/"), "CANCELLED")
    assert amplify_jobs.retry(pending, 1) == RetryStarted(f"{app}/main/2")

    (retried,) = amplify_jobs.list_active(datetime.now(UTC))
    assert retried.job_id == f"{app}/main/2"
    assert retried.lineage == job.lineage  # the same commit: attempts count across the chain
    assert retried.retry_subject == job.retry_subject
    summary = job_status(account, retried.job_id)["summary"]
    assert (summary["jobType"], summary["status"]) == ("RETRY", "PENDING")


def test_retry_request_names_the_stopped_job():
    clients = Clients(default_region="us-east-1")
    client = clients.client("amplify")
    params = {"appId": "d1abc", "branchName": "feature/login", "jobId": "7"}
    with Stubber(client) as stub:
        stub.add_response(
            "get_job", {"job": {"summary": _summary("CANCELLED"), "steps": []}}, params
        )
        stub.add_response(
            "start_job",
            {"jobSummary": {**_summary("PENDING"), "jobId": "8", "jobType": "RETRY"}},
            {
                **params,
                "jobType": "RETRY",
                "jobReason": "jobwarden retry 2 after a stop under policy web-builds",
            },
        )
        assert adapter(clients).retry(_pending(_job()), 2) == RetryStarted("d1abc/feature/login/8")
        stub.assert_no_pending_responses()


def test_retry_of_a_job_deleted_with_its_branch_gives_up():
    clients = Clients(default_region="us-east-1")
    client = clients.client("amplify")
    with Stubber(client) as stub:
        stub.add_client_error("get_job", "NotFoundException", "Branch not found.", 404)
        assert adapter(clients).retry(_pending(_job()), 1) is Outcome.ALREADY_FINISHED
        stub.assert_no_pending_responses()


def test_throttling_is_retried():
    """Every Amplify call is served by the fill, which answers before botocore's retry loop; so
    the retry config is shown on the wire: ListApps throttled twice, then answered."""
    clients = Clients(default_region="us-east-1")
    throttled = throttle(
        clients.client("amplify"),
        "ListApps",
        code="LimitExceededException",
        status=429,
        then=b'{"apps": []}',
    )
    assert list(adapter(clients).list_active(datetime.now(UTC))) == []
    assert len(throttled) == 2


def test_fill_statuses_only_move_forward(account, amplify):
    app = create_app(account.clients, "storefront")
    job_id = start(account, app, MINUTE, (0 * MINUTE, "RUNNING"))
    with pytest.raises(ValueError, match="past PROVISIONING"):
        amplify.set_status(*job_id.split("/"), "PROVISIONING")
    amplify.set_status(*job_id.split("/"), "FAILED")
    with pytest.raises(ValueError, match="past CANCELLED"):
        amplify.set_status(*job_id.split("/"), "CANCELLED")


def test_fill_refuses_what_the_service_refuses(account):
    client = account.clients.client("amplify")
    app = create_app(account.clients, "storefront")
    job_id = start(account, app, MINUTE).split("/")[-1]
    with pytest.raises(ClientError, match="has not ended"):
        client.start_job(appId=app, branchName="main", jobType="RETRY", jobId=job_id)
    with pytest.raises(ClientError) as missing:
        client.get_job(appId=app, branchName="main", jobId="99")
    assert missing.value.response["Error"]["Code"] == "NotFoundException"
    with pytest.raises(ClientError, match="Invalid nextToken"):
        client.list_apps(nextToken="garbage")


def _summary(status: str, start: datetime | None = None) -> dict:
    start = start or datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    return {
        "jobArn": "arn:aws:amplify:us-east-1:123456789012:apps/d1abc/branches/feature/login/jobs/7",
        "jobId": "7",
        "commitId": "abc123",
        "commitMessage": "fix login",
        "commitTime": start,
        "startTime": start,
        "status": status,
        "jobType": "RELEASE",
    }


def _job() -> Job:
    now = datetime.now(UTC)
    details = {"app_id": "d1abc", "branch": "feature/login", "job_id": "7"}
    return Job(
        "amplify",
        "d1abc/feature/login/7",
        "web/feature/login",
        "us-east-1",
        "RUNNING",
        now,
        now,
        details=details,
    )


def _pending(job: Job) -> PendingRetry:
    return PendingRetry(
        service=job.service,
        region=job.region,
        job_id=job.job_id,
        name=job.name,
        retry_subject=job.retry_subject,
        retry=Retry("RETRY", 2),
        policy="web-builds",
        stopped_at=datetime.now(UTC),
        details=job.details,
    )


def _app(app_id: str, name: str) -> dict:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    return {
        "appId": app_id,
        "appArn": f"arn:aws:amplify:us-east-1:123456789012:apps/{app_id}",
        "name": name,
        "description": "",
        "repository": "",
        "platform": "WEB",
        "createTime": now,
        "updateTime": now,
        "environmentVariables": {},
        "defaultDomain": f"{app_id}.amplifyapp.com",
        "enableBranchAutoBuild": True,
        "enableBasicAuth": False,
    }


def _branch(app_id: str, name: str, active_job: str = "") -> dict:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    return {
        "branchArn": f"arn:aws:amplify:us-east-1:123456789012:apps/{app_id}/branches/{name}",
        "branchName": name,
        "description": "",
        "stage": "PRODUCTION",
        "displayName": name,
        "enableNotification": False,
        "createTime": now,
        "updateTime": now,
        "environmentVariables": {},
        "enableAutoBuild": True,
        "customDomains": [],
        "framework": "",
        "activeJobId": active_job,
        "totalNumberOfJobs": "0",
        "enableBasicAuth": False,
        "ttl": "5",
        "enablePullRequestPreview": False,
    }


def test_indexed_jobs_read_each_app_and_branch_once_and_each_job_once(account):
    now = datetime.now(UTC)
    app = create_app(account.clients, "storefront", {"team": "web"})
    jobs = [
        start(account, app, n * MINUTE, (MINUTE / 2, "PROVISIONING"), (MINUTE, "RUNNING"), now=now)
        for n in (30, 20, 10)
    ]
    calls: list[str] = []
    account.clients.client("amplify").meta.events.register(
        "before-parameter-build.amplify", lambda model, **_: calls.append(model.name)
    )

    found = adapter(account.clients).describe_many(jobs, now)

    assert set(found) == set(jobs)
    assert sorted(calls) == ["GetApp", "GetBranch", "GetJob", "GetJob", "GetJob"]

"""The CodeBuild builds adapter against the emulated account (moto + the builds fill)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from jobwarden.aws import Clients
from jobwarden.model import Job, Outcome, Settings
from jobwarden.services.base import Unreadable
from jobwarden.services.codebuild import CodeBuildBuilds

from tests.integration.conftest import throttle

HOUR = timedelta(hours=1)


def adapter(clients: Clients) -> CodeBuildBuilds:
    return CodeBuildBuilds(clients, "us-east-1", Settings())


def test_queued_and_running_builds_with_project_tags(account):
    now = datetime.now(UTC)
    account.project("web-app", {"team": "web"}, compute_type="BUILD_GENERAL1_LARGE")
    queued = account.start_build("web-app", 3 * HOUR, now=now)
    running = account.start_build("web-app", 2 * HOUR, timedelta(minutes=5), now=now)
    finished = account.start_build("web-app", HOUR, now=now)
    account.emulator.fill("codebuild").finish(finished)

    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    assert set(jobs) == {queued, running}
    assert jobs[queued].started_at is None
    assert jobs[queued].queue_seconds(now) == pytest.approx(3 * 3600, abs=1)
    assert jobs[running].run_seconds(now) == pytest.approx(115 * 60, abs=1)
    assert jobs[running].queue_seconds(now) == pytest.approx(5 * 60, abs=1)
    assert jobs[running].tags == {"team": "web"}
    assert jobs[running].cost_basis.components == (
        ("codebuild:LINUX_CONTAINER:BUILD_GENERAL1_LARGE", 1.0),
    )
    assert jobs[running].status == "IN_PROGRESS (BUILD)"


def test_lists_across_pages_and_stops_after_a_page_wholly_past_the_oldest_build(account):
    now = datetime.now(UTC)
    account.project("busy")
    for n in range(200):  # pages four and five, past the oldest possible build
        build = account.start_build("busy", timedelta(hours=60) + n * timedelta(minutes=5), now=now)
        account.emulator.fill("codebuild").finish(build)
    ancient = account.start_build("busy", timedelta(hours=50), timedelta(minutes=1), now=now)
    for n in range(230):
        build = account.start_build("busy", timedelta(hours=40) - n * timedelta(minutes=5), now=now)
        account.emulator.fill("codebuild").finish(build)
    recent = account.start_build("busy", timedelta(minutes=30), timedelta(minutes=1), now=now)
    old_but_active = account.start_build("busy", timedelta(hours=43), timedelta(minutes=1), now=now)
    account.emulator.calls.clear()

    found = {job.job_id for job in adapter(account.clients).list_active(now)}

    # Page 3 holds the 43 h, the 50 h and 98 older builds; page 4 is wholly past 44 h and
    # ends the listing. A build in progress on a page read is listed, however old.
    assert found == {recent, old_but_active, ancient}
    assert account.emulator.calls.count(("codebuild", "ListBuilds")) == 4  # of five


def test_sort_order_goes_with_the_first_request_only_and_a_disordered_page_is_tolerated():
    """ListBuildsForProject rejects sortOrder with a nextToken (aws/aws-cli#5863); the
    order is by build ID, so an old build on page 1 does not end the listing."""
    clients = Clients(default_region="us-east-1")
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=3), now - HOUR
    with Stubber(clients.client("codebuild")) as stub:
        stub.add_response(
            "list_builds",
            {"ids": ["web:old", "web:new"], "nextToken": "t1"},
            {"sortOrder": "DESCENDING"},
        )
        stub.add_response(
            "batch_get_builds",
            {
                "builds": [
                    _build("web:old", "SUCCEEDED", old),
                    _build("web:new", "SUCCEEDED", recent),
                ]
            },
            {"ids": ["web:old", "web:new"]},
        )
        stub.add_response(
            "list_builds", {"ids": ["web:run"], "nextToken": "t2"}, {"nextToken": "t1"}
        )
        stub.add_response(
            "batch_get_builds",
            {"builds": [_build("web:run", "IN_PROGRESS", recent)]},
            {"ids": ["web:run"]},
        )
        stub.add_response("batch_get_projects", {"projects": [{"name": "web", "tags": []}]})
        stub.add_response(
            "list_builds", {"ids": ["web:ancient"], "nextToken": "t3"}, {"nextToken": "t2"}
        )
        stub.add_response(
            "batch_get_builds",
            {"builds": [_build("web:ancient", "FAILED", old)]},
            {"ids": ["web:ancient"]},
        )
        assert [job.job_id for job in adapter(clients).list_active(now)] == ["web:run"]
        stub.assert_no_pending_responses()  # page 3 wholly past the cut-off: no page 4


def test_members_of_a_batch_build_are_left_to_the_batch_adapter():
    clients = Clients(default_region="us-east-1")
    now = datetime.now(UTC)
    member = _build("web:member", "IN_PROGRESS", now - HOUR) | {
        "buildBatchArn": "arn:aws:codebuild:us-east-1:123456789012:build-batch/web:b1"
    }
    alone = _build("web:alone", "IN_PROGRESS", now - HOUR)
    codebuild = adapter(clients)
    with Stubber(clients.client("codebuild")) as stub:
        stub.add_response("list_builds", {"ids": ["web:member", "web:alone"]})
        stub.add_response("batch_get_builds", {"builds": [member, alone]})
        stub.add_response("batch_get_projects", {"projects": [{"name": "web"}]})
        assert [job.job_id for job in codebuild.list_active(now)] == ["web:alone"]
        stub.add_response("batch_get_builds", {"builds": [member]})  # a re-read, a check
        assert codebuild.describe("web:member", now) is None
        stub.assert_no_pending_responses()


def test_a_build_or_project_that_cannot_be_read_is_reported_and_the_rest_listed():
    clients = Clients(default_region="us-east-1")
    now = datetime.now(UTC)
    builds = {i: _build(i, "IN_PROGRESS", now - HOUR) for i in ("app-a:1", "app-b:1", "app-c:1")}
    denied = {"expected_params": None}
    with Stubber(clients.client("codebuild")) as stub:
        stub.add_response("list_builds", {"ids": list(builds)})
        stub.add_client_error("batch_get_builds", "AccessDeniedException", "not b", **denied)
        for build_id, build in builds.items():  # one by one
            if build_id == "app-b:1":
                stub.add_client_error("batch_get_builds", "AccessDeniedException", "not b")
            else:
                stub.add_response("batch_get_builds", {"builds": [build]})
        stub.add_client_error("batch_get_projects", "AccessDeniedException", "not c", **denied)
        stub.add_response(
            "batch_get_projects", {"projects": [{"name": "app-a"}]}, {"names": ["app-a"]}
        )
        stub.add_client_error("batch_get_projects", "AccessDeniedException", "not c")
        listed = list(adapter(clients).list_active(now))
        stub.assert_no_pending_responses()
    jobs = [item.job_id for item in listed if isinstance(item, Job)]
    problems = [item for item in listed if isinstance(item, Unreadable)]
    assert jobs == ["app-a:1"]
    assert [p.subject for p in problems] == ["codebuild build app-b:1", "codebuild build app-c:1"]
    assert "not b" in problems[0].reason
    assert "project's tags could not be read" in problems[1].reason


def test_throttling_past_every_retry_fails_the_listing():
    clients = Clients(default_region="us-east-1")
    with Stubber(clients.client("codebuild")) as stub:
        stub.add_response("list_builds", {"ids": ["app-a:1"]})
        stub.add_client_error("batch_get_builds", "ThrottlingException", "slow down")
        with pytest.raises(ClientError, match="slow down"):
            list(adapter(clients).list_active(datetime.now(UTC)))


def test_stop_then_a_repeat_refused_is_still_our_stop(account):
    """A lost StopBuild response makes botocore send it again; the repeat is refused (the
    build is no longer in progress) and the read-back finds it STOPPED: our stop."""
    now = datetime.now(UTC)
    account.project("web-app")
    build_id = account.start_build("web-app", HOUR, timedelta(minutes=1), now=now)
    ended_id = account.start_build("web-app", HOUR, timedelta(minutes=1), now=now)
    codebuild = adapter(account.clients)
    jobs = {job.job_id: job for job in codebuild.list_active(now)}

    assert codebuild.stop(jobs[build_id], "too long") is Outcome.STOPPED
    assert account.build(build_id)["buildStatus"] == "STOPPED"
    # StopBuild on an ended build answers it with its final status (CodeBuild User Guide,
    # "Stop builds"): our own stop again (a lost answer retried) is still ours, STOPPED ...
    assert codebuild.stop(jobs[build_id], "too long") is Outcome.STOPPED
    # ... and a build that succeeded before the stop landed is already finished.
    account.emulator.fill("codebuild").finish(ended_id)
    assert codebuild.stop(jobs[ended_id], "too long") is Outcome.ALREADY_FINISHED
    assert account.build(ended_id)["buildStatus"] == "SUCCEEDED"
    assert codebuild.read_back(jobs[build_id], "too long") is Outcome.STOPPED
    assert codebuild.read_back(jobs[ended_id], "too long") is Outcome.ALREADY_FINISHED


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT"])
def test_a_build_that_ended_on_its_own_is_already_finished(account, status):
    now = datetime.now(UTC)
    account.project("web-app")
    build_id = account.start_build("web-app", HOUR, timedelta(minutes=1), now=now)
    codebuild = adapter(account.clients)
    job = next(iter(codebuild.list_active(now)))
    account.emulator.fill("codebuild").finish(build_id, status)

    assert codebuild.stop(job, "too long") is Outcome.ALREADY_FINISHED
    assert codebuild.read_back(job, "too long") is Outcome.ALREADY_FINISHED


def test_read_back_of_a_running_or_vanished_build(account):
    now = datetime.now(UTC)
    account.project("web-app")
    account.start_build("web-app", HOUR, timedelta(minutes=1), now=now)
    codebuild = adapter(account.clients)
    job = next(iter(codebuild.list_active(now)))
    assert codebuild.read_back(job, "too long") is None
    assert codebuild.read_back(_job("web-app:gone"), "too long") is Outcome.ALREADY_FINISHED


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("STOPPED", Outcome.STOPPED),  # awscli/examples/codebuild/stop-build.rst
        ("IN_PROGRESS", Outcome.STOPPED),  # accepted, still stopping
        ("SUCCEEDED", Outcome.ALREADY_FINISHED),  # an ended build answered with its end
        ("FAILED", Outcome.ALREADY_FINISHED),
    ],
)
def test_stop_build_answered_with_the_build(answer, outcome):
    """Either answer AWS may give for a build: the build (with its own final status when it
    had ended, per the CodeBuild user guide's "Stop a build"), or a refusal (below)."""
    clients = Clients(default_region="us-east-1")
    with Stubber(clients.client("codebuild")) as stub:
        stub.add_response(
            "stop_build",
            {"build": {"id": "web-app:1", "buildStatus": answer}},
            {"id": "web-app:1"},
        )
        assert adapter(clients).stop(_job("web-app:1"), "too long") is outcome
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("read", "outcome"),
    [
        ("STOPPED", Outcome.STOPPED),  # our first request landed, its answer was lost
        ("SUCCEEDED", Outcome.ALREADY_FINISHED),
        ("TIMED_OUT", Outcome.ALREADY_FINISHED),
        (None, Outcome.ALREADY_FINISHED),  # in buildsNotFound
    ],
)
def test_a_refused_stop_is_read_back(read, outcome):
    clients = Clients(default_region="us-east-1")
    with Stubber(clients.client("codebuild")) as stub:
        stub.add_client_error(
            "stop_build",
            "InvalidInputException",
            "Build is not in progress",
            expected_params={"id": "web-app:1"},
        )
        builds = [{"id": "web-app:1", "buildStatus": read, "projectName": "web-app"}]
        stub.add_response(
            "batch_get_builds",
            {"builds": builds} if read else {"builds": [], "buildsNotFound": ["web-app:1"]},
            {"ids": ["web-app:1"]},
        )
        assert adapter(clients).stop(_job("web-app:1"), "too long") is outcome
        stub.assert_no_pending_responses()


def test_a_failed_stop_of_a_running_build_raises():
    """Refused or unanswered (a server error past botocore's retries) while the build still
    runs: the stop failed. A read that fails too leaves the stop's own error."""
    clients = Clients(default_region="us-east-1")
    codebuild = adapter(clients)
    running = {"id": "web-app:1", "buildStatus": "IN_PROGRESS", "projectName": "web-app"}
    with Stubber(clients.client("codebuild")) as stub:
        for code in ("InvalidInputException", "InternalFailure"):
            stub.add_client_error("stop_build", code, f"{code}!", 400)
            stub.add_response("batch_get_builds", {"builds": [running]})
            with pytest.raises(ClientError, match=f"{code}!"):
                codebuild.stop(_job("web-app:1"), "too long")
        stub.add_client_error("stop_build", "AccessDeniedException", "denied", 400)
        stub.add_client_error("batch_get_builds", "AccessDeniedException", "read denied", 400)
        with pytest.raises(ClientError, match="StopBuild operation: denied"):
            codebuild.stop(_job("web-app:1"), "too long")
        stub.assert_no_pending_responses()


def test_batch_get_builds_is_called_in_chunks_of_100():
    clients = Clients(default_region="us-east-1")
    client = clients.client("codebuild")
    ids = [f"p:{n}" for n in range(150)]
    now = datetime.now(UTC)
    old = now - timedelta(days=3)
    with Stubber(client) as stub:
        stub.add_response("list_builds", {"ids": ids}, {"sortOrder": "DESCENDING"})
        for chunk in (ids[:100], ids[100:]):
            builds = [
                {"id": i, "buildStatus": "SUCCEEDED", "projectName": "p", "startTime": old}
                for i in chunk
            ]
            stub.add_response("batch_get_builds", {"builds": builds}, {"ids": chunk})
        assert list(adapter(clients).list_active(now)) == []
        stub.assert_no_pending_responses()


def test_throttling_is_retried(account):
    """A throttled BatchGetProjects (served by moto) is retried by botocore's retry mode."""
    now = datetime.now(UTC)
    account.project("web-app", {"team": "web"})
    account.start_build("web-app", HOUR, timedelta(minutes=1), now=now)
    throttled = throttle(account.clients.client("codebuild"), "BatchGetProjects")
    jobs = list(adapter(account.clients).list_active(now))
    assert len(throttled) == 2
    assert jobs[0].tags == {"team": "web"}


def _build(build_id: str, status: str, started: datetime) -> dict:
    project = build_id.split(":", maxsplit=1)[0]
    return {"id": build_id, "buildStatus": status, "projectName": project, "startTime": started}


def _job(build_id: str):
    now = datetime.now(UTC)
    return Job("codebuild", build_id, "web-app", "us-east-1", "IN_PROGRESS", now, now)

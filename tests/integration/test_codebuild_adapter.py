"""The CodeBuild builds adapter against the emulated account (moto + the builds fill)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from jobwarden.aws import Clients
from jobwarden.model import Outcome, Settings
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


def test_lists_across_pages_and_stops_past_the_oldest_possible_build(account):
    now = datetime.now(UTC)
    account.project("busy")
    ancient = account.start_build("busy", timedelta(hours=50), timedelta(minutes=1), now=now)
    for n in range(100):  # a fourth page, past the oldest possible build: never read
        build = account.start_build("busy", timedelta(hours=60) + n * timedelta(minutes=5), now=now)
        account.emulator.fill("codebuild").finish(build)
    for n in range(230):
        build = account.start_build("busy", timedelta(hours=40) - n * timedelta(minutes=5), now=now)
        account.emulator.fill("codebuild").finish(build)
    recent = account.start_build("busy", timedelta(minutes=30), timedelta(minutes=1), now=now)
    old_but_active = account.start_build("busy", timedelta(hours=43), timedelta(minutes=1), now=now)
    account.emulator.calls.clear()

    found = {job.job_id for job in adapter(account.clients).list_active(now)}

    assert found == {recent, old_but_active}  # the 50 h one is past any possible build age
    assert ancient not in found
    pages = account.emulator.calls.count(("codebuild", "ListBuilds"))
    assert pages == 3  # of four
    assert len(account.clients.client("codebuild").list_builds()["ids"]) == 100


def test_stop_then_already_finished(account):
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


def test_stop_race_reported_as_invalid_input_is_already_finished():
    """Real CodeBuild may refuse to stop a finished build; the adapter re-reads it."""
    clients = Clients(default_region="us-east-1")
    codebuild = adapter(clients)
    client = clients.client("codebuild")
    job = _job("web-app:1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "stop_build",
            "InvalidInputException",
            "Build is not in progress",
            expected_params={"id": "web-app:1"},
        )
        stub.add_response(
            "batch_get_builds",
            {"builds": [{"id": "web-app:1", "buildStatus": "SUCCEEDED", "projectName": "web-app"}]},
            {"ids": ["web-app:1"]},
        )
        assert codebuild.stop(job, "too long") is Outcome.ALREADY_FINISHED
        stub.add_client_error(
            "stop_build", "InvalidInputException", "bad", expected_params={"id": "web-app:1"}
        )
        stub.add_response(
            "batch_get_builds",
            {
                "builds": [
                    {"id": "web-app:1", "buildStatus": "IN_PROGRESS", "projectName": "web-app"}
                ]
            },
            {"ids": ["web-app:1"]},
        )
        with pytest.raises(ClientError):
            codebuild.stop(job, "too long")


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


def _job(build_id: str):
    from jobwarden.model import Job

    now = datetime.now(UTC)
    return Job("codebuild", build_id, "web-app", "us-east-1", "IN_PROGRESS", now, now)

"""CodeBuild builds: ListBuilds, BatchGetBuilds, BatchGetProjects and StopBuild, answered with
the AWS CLI's published example outputs (samples/README.md names each one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jobwarden.model import CostBasis, Job, Outcome, Settings
from jobwarden.services.codebuild import CodeBuildBuilds

from tests.contract.conftest import REGION, raw, sample

SUCCEEDED_BUILD = "codebuild-demo-project:e9c4f4df-3f43-41d2-ab3a-60fe2EXAMPLE"
# batch-get-builds.json's first build started 2019-01-28T23:17:42Z.
STARTED = datetime.fromtimestamp(1548717462.122, UTC)


def adapter(clients: Any) -> CodeBuildBuilds:
    return CodeBuildBuilds(clients, REGION, Settings())


def in_progress_build() -> dict[str, Any]:
    """batch-get-builds.json's first build as it stood in its BUILD phase.

    AWS publishes no example of a running build: this is the published SUCCEEDED build cut
    back to its BUILD phase (later phases dropped, BUILD left open, no endTime, status
    IN_PROGRESS, not complete), as samples/README.md records."""
    build = sample("codebuild", "BatchGetBuilds", "codebuild/batch-get-builds")["builds"][0]
    phases = build["phases"][: [p["phaseType"] for p in build["phases"]].index("BUILD") + 1]
    phases[-1] = {"phaseType": "BUILD", "startTime": phases[-1]["startTime"]}
    build.update(phases=phases, currentPhase="BUILD", buildStatus="IN_PROGRESS")
    build.update(buildComplete=False)
    del build["endTime"]
    return build


def test_the_parser_keeps_what_the_cli_printed():
    """The samples reach the adapters as a client returns them: epoch seconds as datetimes."""
    parsed = sample("codebuild", "BatchGetBuilds", "codebuild/batch-get-builds")
    published = raw("codebuild/batch-get-builds")
    assert [b["id"] for b in parsed["builds"]] == [b["id"] for b in published["builds"]]
    assert parsed["builds"][0]["startTime"] == STARTED
    assert parsed["buildsNotFound"] == []


def test_list_active_pages_list_builds_and_reads_each_page(clients, stub):
    codebuild = stub("codebuild")
    first = sample("codebuild", "ListBuilds", "codebuild/list-builds-page-1")
    second = sample("codebuild", "ListBuilds", "codebuild/list-builds-page-2")
    builds = sample("codebuild", "BatchGetBuilds", "codebuild/batch-get-builds")
    requests: list[dict[str, Any]] = []
    codebuild.client.meta.events.register(
        "provide-client-params.codebuild.ListBuilds", lambda params, **_: requests.append(params)
    )
    codebuild.add_response("list_builds", first)
    codebuild.add_response("batch_get_builds", builds, {"ids": first["ids"]})
    codebuild.add_response("list_builds", second)
    codebuild.add_response("batch_get_builds", builds, {"ids": second["ids"]})

    # An hour after the published builds: both pages are younger than any build can be.
    jobs = list(adapter(clients).list_active(STARTED + timedelta(hours=1)))

    assert jobs == []  # every published build has ended (SUCCEEDED)
    codebuild.assert_no_pending_responses()
    assert requests[0] == {"sortOrder": "DESCENDING"}
    # The next page asks for the token the first answered. The CLI example (list-builds.rst)
    # sends --sort-order with --next-token; sending the token alone is right too.
    assert requests[1]["nextToken"] == first["nextToken"]
    assert requests[1].get("sortOrder", "DESCENDING") == "DESCENDING"


def test_list_active_stops_past_the_oldest_possible_build(clients, stub):
    codebuild = stub("codebuild")
    first = sample("codebuild", "ListBuilds", "codebuild/list-builds-page-1")
    builds = sample("codebuild", "BatchGetBuilds", "codebuild/batch-get-builds")
    codebuild.add_response("list_builds", first, {"sortOrder": "DESCENDING"})
    codebuild.add_response("batch_get_builds", builds, {"ids": first["ids"]})

    assert list(adapter(clients).list_active(STARTED + timedelta(days=3))) == []
    codebuild.assert_no_pending_responses()  # no second page: older than 44 h


def test_a_running_build_becomes_a_job_with_its_project_tags(clients, stub):
    codebuild = stub("codebuild")
    build = in_progress_build()
    codebuild.add_response("batch_get_builds", {"builds": [build]}, {"ids": [build["id"]]})
    projects = sample("codebuild", "BatchGetProjects", "codebuild/batch-get-projects")
    codebuild.add_response("batch_get_projects", projects, {"names": ["codebuild-demo-project"]})

    jobs = adapter(clients).describe_many([build["id"]], STARTED + timedelta(hours=1))

    assert jobs == {
        SUCCEEDED_BUILD: Job(
            service="codebuild",
            job_id=SUCCEEDED_BUILD,
            name="codebuild-demo-project",
            region=REGION,
            status="IN_PROGRESS (BUILD)",
            submitted_at=STARTED,
            # PROVISIONING began when QUEUED ended: the build left the queue then.
            started_at=datetime.fromtimestamp(1548717462.775, UTC),
            tags={},  # the published projects are other ones, and carry no tags
            cost_basis=CostBasis((("codebuild:WINDOWS_CONTAINER:BUILD_GENERAL1_MEDIUM", 1.0),)),
            arn=f"arn:aws:codebuild:us-west-2:123456789012:build/{SUCCEEDED_BUILD}",
            timeout_minutes=60.0,  # the sample's timeoutInMinutes
        )
    }
    codebuild.assert_no_pending_responses()


def test_stop_build_answers_the_stopped_build(clients, stub):
    codebuild = stub("codebuild")
    stopped = sample("codebuild", "StopBuild", "codebuild/stop-build")
    assert stopped["build"]["buildStatus"] == "STOPPED"
    build_id = "my-demo-project:1a2b3c4d-5678-90ab-cdef-11111EXAMPLE"
    codebuild.add_response("stop_build", stopped, {"id": build_id})

    job = Job("codebuild", build_id, "my-demo-project", REGION, "IN_PROGRESS (BUILD)", STARTED)
    assert adapter(clients).stop(job, "too long") is Outcome.STOPPED
    codebuild.assert_no_pending_responses()


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED"])
def test_stop_build_on_an_ended_build_is_already_finished(clients, stub, status):
    """CodeBuild User Guide, "Stop builds": StopBuild answers an ended build with its final
    status (the build object is batch-get-builds.json's; FAILED is the same build, failed)."""
    codebuild = stub("codebuild")
    build = sample("codebuild", "BatchGetBuilds", "codebuild/batch-get-builds")["builds"][0]
    build["buildStatus"] = status
    codebuild.add_response("stop_build", {"build": build}, {"id": SUCCEEDED_BUILD})

    job = Job("codebuild", SUCCEEDED_BUILD, "codebuild-demo-project", REGION, "", STARTED)
    assert adapter(clients).stop(job, "too long") is Outcome.ALREADY_FINISHED
    codebuild.assert_no_pending_responses()  # the answer says it all: no re-read

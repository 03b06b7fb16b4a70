"""CodeBuild builds that stay queued or running until a test or the demo moves them on.

moto marks every build SUCCEEDED the first time BatchGetBuilds reads it, and its ListBuilds
neither sorts nor pages. This fill owns builds (StartBuild, ListBuilds, BatchGetBuilds,
StopBuild); projects stay in moto, which the builds read their settings from.

Where each behaviour comes from (beyond what botocore's model allows):
- StopBuild on a running build ends it STOPPED, the running phase closed STOPPED and a
  COMPLETED phase opened: the AWS CLI's published example (aws/aws-cli,
  awscli/examples/codebuild/stop-build.rst). On a build that has already ended it answers the
  build with its final status, unchanged, not an error: CodeBuild User Guide, "Stop builds in
  AWS CodeBuild"
  (https://docs.aws.amazon.com/codebuild/latest/userguide/stop-build.html#stop-build-cli):
  "If CodeBuild cannot successfully stop the build (for example, if the build is already
  complete), the buildStatus value in the build object in the output is the final build status".
- ListBuilds pages 100 ids: the model's `nextToken` documentation ("if there are more than 100
  items in the list, only the first 100 items are returned").
- **Assumption**: ListBuilds orders by start time (newest first unless `sortOrder` says
  ASCENDING). The model says "in ascending order by build ID"; build ids are
  `<project>:<uuid>`, so that order is not stated to follow time, and the CLI example's two
  pages (awscli/examples/codebuild/list-builds.rst) are not one alphabetical run.
- **Assumption** (switch `sort_order_with_token`): ListBuilds accepts `sortOrder` together with
  `nextToken`, as the CLI example does (list-builds.rst sends `--sort-order ASCENDING` again
  with `--next-token`). Its sibling ListBuildsForProject refuses the pair with
  InvalidInputException "Sort order can't be specified when passing a nextToken"
  (aws/aws-cli#5863, and that operation's model documentation); ListBuilds' own documentation
  is silent. Set the switch False to answer that refusal instead.
- **Assumption**: empty lists are left out of answers (ListBuilds `ids`, BatchGetBuilds
  `buildsNotFound`; the model's lists have `min` 1), though the published BatchGetBuilds
  example sends `"buildsNotFound": []`: AWS may send either.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import time_machine

from jobwarden.aws import Clients
from jobwarden.local.account import create_codebuild_project
from jobwarden.local.emulator import ACCOUNT_ID, AwsError, Emulator, Handler, ServiceFill, page

PHASE_ORDER = (
    "SUBMITTED",
    "QUEUED",
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
    "COMPLETED",
)
PAGE_SIZE = 100
BATCH_LIMIT = 100
SORT_ORDER_WITH_TOKEN = "Sort order can't be specified when passing a nextToken"


class CodeBuildFill(ServiceFill):
    service = "codebuild"
    # Assumption (see the module's docstring): True accepts `sortOrder` with `nextToken`,
    # False refuses the pair as ListBuildsForProject does (aws/aws-cli#5863).
    sort_order_with_token: bool = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.builds: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # region -> id
        self.numbers: dict[str, int] = defaultdict(int)

    def operations(self) -> dict[str, Handler]:
        return {
            "StartBuild": self.start_build,
            "ListBuilds": self.list_builds,
            "BatchGetBuilds": self.batch_get_builds,
            "StopBuild": self.stop_build,
        }

    # --- the API ---------------------------------------------------------------------------

    def start_build(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        project = self._project(params["projectName"], region)
        now = self.now()
        name = project["name"]
        self.numbers[name] += 1
        build_id = f"{name}:{uuid.uuid4()}"
        build = {
            "id": build_id,
            "arn": f"arn:aws:codebuild:{region}:{ACCOUNT_ID}:build/{build_id}",
            "buildNumber": self.numbers[name],
            "startTime": now,
            "currentPhase": "QUEUED",
            "buildStatus": "IN_PROGRESS",
            "projectName": name,
            # The build's source is its project's; `sourceVersion` is what StartBuild asked
            # for, as given (StartBuild and Build in botocore's codebuild model).
            "source": project["source"],
            **({"sourceVersion": params["sourceVersion"]} if "sourceVersion" in params else {}),
            "phases": [
                _phase("SUBMITTED", now, now, "SUCCEEDED"),
                {"phaseType": "QUEUED", "startTime": now},
            ],
            "environment": {
                **project["environment"],
                **_environment_overrides(params),
            },
            # moto stores 0 for a timeout the project did not set; the service's defaults
            # (60 and 480 minutes, botocore's codebuild model) apply.
            "timeoutInMinutes": params.get("timeoutInMinutesOverride")
            or project.get("timeoutInMinutes")
            or 60,
            "queuedTimeoutInMinutes": project.get("queuedTimeoutInMinutes") or 480,
            "buildComplete": False,
            "initiator": "jobwarden-emulator",
        }
        self.builds[region][build_id] = build
        return {"build": build}

    def list_builds(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if not self.sort_order_with_token and "sortOrder" in params and "nextToken" in params:
            raise AwsError("InvalidInputException", SORT_ORDER_WITH_TOKEN)
        newest_first = params.get("sortOrder", "DESCENDING") == "DESCENDING"
        ordered = sorted(
            self.builds[region].values(),
            key=lambda b: (b["startTime"], b["buildNumber"]),
            reverse=newest_first,
        )
        ids, token = page([b["id"] for b in ordered], params.get("nextToken"), PAGE_SIZE)
        # The model's lists hold at least one item; an empty answer omits them.
        return {**({"ids": ids} if ids else {}), **({"nextToken": token} if token else {})}

    def batch_get_builds(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        ids = params["ids"]
        if len(ids) > BATCH_LIMIT:
            raise AwsError("InvalidInputException", f"at most {BATCH_LIMIT} ids per call")
        found = [self.builds[region][i] for i in ids if i in self.builds[region]]
        missing = [i for i in ids if i not in self.builds[region]]
        return {"builds": found, **({"buildsNotFound": missing} if missing else {})}

    def stop_build(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        build = self.builds[region].get(params["id"])
        if build is None:
            raise AwsError("ResourceNotFoundException", f"Build {params['id']} does not exist")
        if build["buildStatus"] == "IN_PROGRESS":
            self._complete(build, "STOPPED")
        # An ended build is answered with its final status (CodeBuild User Guide, "Stop builds
        # in AWS CodeBuild"), not refused.
        return {"build": build}

    # --- controls for tests and the demo ----------------------------------------------------

    def advance(self, build_id: str, phase: str) -> dict[str, Any]:
        """Move a running build on to `phase` at the emulator's current time."""
        build = self._find(build_id)
        if build["buildStatus"] != "IN_PROGRESS":
            raise ValueError(f"build {build_id} has already finished")
        if PHASE_ORDER.index(phase) <= PHASE_ORDER.index(build["currentPhase"]):
            raise ValueError(f"build {build_id} is already past {phase}")
        now = self.now()
        _close(build["phases"][-1], now, "SUCCEEDED")
        build["phases"].append({"phaseType": phase, "startTime": now})
        build["currentPhase"] = phase
        return build

    def finish(self, build_id: str, status: str = "SUCCEEDED") -> dict[str, Any]:
        build = self._find(build_id)
        self._complete(build, status)
        return build

    def _complete(self, build: dict[str, Any], status: str) -> None:
        now = self.now()
        _close(build["phases"][-1], now, status)
        build["phases"].append({"phaseType": "COMPLETED", "startTime": now})
        build.update(currentPhase="COMPLETED", buildStatus=status, endTime=now, buildComplete=True)

    def _find(self, build_id: str) -> dict[str, Any]:
        for builds in self.builds.values():
            if build_id in builds:
                return builds[build_id]
        raise KeyError(build_id)

    @staticmethod
    def _project(name: str, region: str) -> dict[str, Any]:
        from moto.codebuild.models import codebuild_backends

        projects = codebuild_backends[ACCOUNT_ID][region].codebuild_projects
        if name not in projects:
            raise AwsError("ResourceNotFoundException", f"Project cannot be found: {name}")
        metadata: dict[str, Any] = projects[name].project_metadata
        return metadata


def _environment_overrides(params: dict[str, Any]) -> dict[str, Any]:
    overrides = {}
    if "computeTypeOverride" in params:
        overrides["computeType"] = params["computeTypeOverride"]
    if "environmentTypeOverride" in params:
        overrides["type"] = params["environmentTypeOverride"]
    return overrides


def _phase(kind: str, start: datetime, end: datetime, status: str) -> dict[str, Any]:
    return {
        "phaseType": kind,
        "phaseStatus": status,
        "startTime": start,
        "endTime": end,
        "durationInSeconds": int((end - start).total_seconds()),
    }


def _close(phase: dict[str, Any], end: datetime, status: str) -> None:
    phase.update(_phase(phase["phaseType"], phase["startTime"], end, status))


DEMO_POLICIES: dict[str, dict[str, Any]] = {
    "nightly-builds": {
        "description": "Nightly builds finish within the hour; anything longer is hung.",
        "match": {"services": ["codebuild"], "names": ["nightly-*"]},
        "limits": {"max_run_minutes": 60},
        "action": "stop",
        "priority": 10,
    },
    "all-builds": {
        "description": "Every build: an hour in the queue or four hours running is too long.",
        "match": {"services": ["codebuild"]},
        "limits": {"max_queue_minutes": 60, "max_run_minutes": 240, "max_cost_usd": 25},
        "action": "stop",
        "priority": 100,
    },
}


def start_build_at(
    emulator: Emulator,
    clients: Clients,
    project: str,
    started: datetime,
    running_after: timedelta | None = None,
    *,
    source_version: str | None = None,
) -> str:
    """A build started at `started` (in the past), in BUILD `running_after` its start."""
    version = {"sourceVersion": source_version} if source_version else {}
    with time_machine.travel(started, tick=False):
        build_id: str = clients.client("codebuild").start_build(projectName=project, **version)[
            "build"
        ]["id"]
    if running_after is not None:
        with time_machine.travel(started + running_after, tick=False):
            emulator.fill("codebuild").advance(build_id, "BUILD")
    return build_id


def seed_demo(emulator: Emulator, clients: Clients, now: datetime) -> dict[str, str]:
    """Four interesting builds over 150 finished ones (two pages of ListBuilds)."""
    fill = emulator.fill("codebuild")
    for name, tags in {
        "web-app": {"team": "web"},
        "nightly-etl": {"team": "data"},
        "docs-site": {"team": "docs"},
        "nightly-backfill": {"team": "data", "jobwarden:exempt": "true"},
    }.items():
        # nightly-etl's project allows 8 hours (the default 60 minutes would have ended the
        # 2-hour build already): what stopping it saves is counted up to that timeout.
        timeout = 480 if name == "nightly-etl" else None
        create_codebuild_project(clients, name, tags, timeout_minutes=timeout)

    def start(project: str, ago: timedelta, run_after: timedelta | None = None) -> str:
        return start_build_at(emulator, clients, project, now - ago, run_after)

    for n in range(150):
        history = start(
            "docs-site", timedelta(hours=30) - timedelta(minutes=10 * n), timedelta(minutes=1)
        )
        with time_machine.travel(
            now - timedelta(hours=30) + timedelta(minutes=10 * n + 6), tick=False
        ):
            fill.finish(history)
    return {
        "web-app (queued 3 h)": start("web-app", timedelta(hours=3)),
        "nightly-etl (running 2 h, 60 min limit)": start(
            "nightly-etl", timedelta(hours=2), timedelta(minutes=2)
        ),
        "docs-site (healthy, 10 min)": start(
            "docs-site", timedelta(minutes=12), timedelta(minutes=2)
        ),
        "nightly-backfill (exempt, running 2 h)": start(
            "nightly-backfill", timedelta(hours=2), timedelta(minutes=2)
        ),
    }


def describe_for_demo(clients: Clients, ids: dict[str, str]) -> dict[str, str]:
    """Build id -> its status and phase, read back through BatchGetBuilds."""
    builds = clients.client("codebuild").batch_get_builds(ids=list(ids.values()))["builds"]
    return {b["id"]: f"{b['buildStatus']} ({b['currentPhase']})" for b in builds}

"""CodeBuild builds that stay queued or running until a test or the demo moves them on.

moto marks every build SUCCEEDED the first time BatchGetBuilds reads it, and its ListBuilds
neither sorts nor pages. This fill owns builds (StartBuild, ListBuilds, BatchGetBuilds,
StopBuild); projects stay in moto, which the builds read their settings from.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from jobwarden.local.emulator import ACCOUNT_ID, AwsError, Handler, ServiceFill, page

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


class CodeBuildFill(ServiceFill):
    service = "codebuild"

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
            "phases": [
                _phase("SUBMITTED", now, now, "SUCCEEDED"),
                {"phaseType": "QUEUED", "startTime": now},
            ],
            "environment": {
                **project["environment"],
                **_environment_overrides(params),
            },
            "timeoutInMinutes": params.get(
                "timeoutInMinutesOverride", project.get("timeoutInMinutes", 60)
            ),
            "queuedTimeoutInMinutes": project.get("queuedTimeoutInMinutes", 480),
            "buildComplete": False,
            "initiator": "jobwarden-emulator",
        }
        self.builds[region][build_id] = build
        return {"build": build}

    def list_builds(self, params: dict[str, Any], region: str) -> dict[str, Any]:
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
        if build["buildStatus"] != "IN_PROGRESS":
            # Real CodeBuild refuses to stop a build that has ended.
            raise AwsError("InvalidInputException", f"Build {params['id']} is not in progress")
        self._complete(build, "STOPPED")
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

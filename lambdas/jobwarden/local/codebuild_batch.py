"""CodeBuild batch builds that stay queued or running until a test or the demo moves them on.

moto 5 has no batch builds at all. This fill owns them (StartBuildBatch, ListBuildBatches,
BatchGetBuildBatches, StopBuildBatch, RetryBuildBatch); projects stay in moto, which the
batches read their settings from.

Where each behaviour comes from (beyond what botocore's model allows). "CLI example" means the
AWS CLI's published example output, aws/aws-cli `awscli/examples/codebuild/<command>.rst`:
- A batch starts in SUBMITTED with one build group, DOWNLOAD_SOURCE (the batchspec
  download); `advance` moves it through DOWNLOAD_BATCHSPEC, IN_PROGRESS (which starts the
  batch's own build groups, `build1`...) and COMBINE_ARTIFACTS; `finish` ends it with a final
  phase named after its status (FAILED for FAILED, FAULT and TIMED_OUT, the model's only
  ended phase types). Phases and groups: CLI examples batch-get-build-batches (a SUCCEEDED
  batch) and stop-build-batch.
- StopBuildBatch on a running batch answers it STOPPED at once (`complete`, a STOPPED phase
  after the IN_PROGRESS one closed STOPPED) while its member builds are still IN_PROGRESS or
  PENDING in that answer: CLI example stop-build-batch. **Assumption**: the members end
  STOPPED only when a test calls `settle` (AWS does not say how long they take).
- StopBuildBatch on a batch that has ended answers the batch with its final status, unchanged,
  not an error: CodeBuild User Guide, "Stop a batch build in AWS CodeBuild"
  (https://docs.aws.amazon.com/codebuild/latest/userguide/stop-batch-build.html): "If CodeBuild
  cannot successfully stop the batch build (for example, if the batch build is already
  complete), the buildBatchStatus value in the buildBatch object in the output is the final
  build status".
- RetryBuildBatch keeps the batch's id, start time and number; the phase it ended with is closed
  with phaseStatus RETRY and a new SUBMITTED phase opens, the batch IN_PROGRESS again, its
  build groups as they were: CLI example retry-build-batch (`... IN_PROGRESS (CLIENT_ERROR),
  FAILED (RETRY), SUBMITTED`). **Assumption**: the groups it reruns (every group for
  RETRY_ALL_BUILDS, those that did not succeed for RETRY_FAILED_BUILDS; the batchspec download
  instead if it never succeeded) move their build to `priorBuildSummaryList` and start a new
  one when `advance` takes the batch on to DOWNLOAD_BATCHSPEC or IN_PROGRESS.
- RetryBuildBatch takes a batch that ended FAILED, FAULT or TIMED_OUT, and refuses a running
  or succeeded one: "Only batch builds that have failed can be retried" (API reference and
  model). **Assumption** (switch `retry_stopped`): a STOPPED batch counts as failed and is
  retried; set False to refuse it like a succeeded one. **Assumption**: a refusal is
  InvalidInputException (the model's only declared client error besides not found).
- **Assumption**: without `retryType` (optional in the model, no default documented) every
  build is rerun.
- The idempotency token is valid for five minutes, and the same token with other parameters
  is a parameter mismatch (InvalidInputException): the model's `idempotencyToken`
  documentation and the User Guide, "Retry a build in AWS CodeBuild". Within those five
  minutes the same request answers the batch again without retrying it.
- ListBuildBatches honours `filter.status` and pages 100 ids (or `maxResults`, at most 100:
  the model). **Assumption**: ids are ordered by start time (the model says "by identifier").
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import time_machine

from jobwarden.aws import Clients
from jobwarden.local.account import create_codebuild_project
from jobwarden.local.codebuild import CodeBuildFill, _close, _environment_overrides
from jobwarden.local.emulator import ACCOUNT_ID, AwsError, Emulator, Handler, ServiceFill, page

PHASE_ORDER = ("SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS", "COMBINE_ARTIFACTS")
FAILED_STATUSES = frozenset({"FAILED", "FAULT", "TIMED_OUT"})
DOWNLOAD_GROUP = "DOWNLOAD_SOURCE"
PAGE_SIZE = 100
BATCH_LIMIT = 100
TOKEN_LIFETIME = timedelta(minutes=5)  # RetryBuildBatch's idempotency token


class CodeBuildBatchFill(ServiceFill):
    service = "codebuild"
    name = "codebuild-batch"
    # Assumption (see the module's docstring): True retries a STOPPED batch as a failed one,
    # False refuses it ("Only batch builds that have failed can be retried").
    retry_stopped: bool = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.batches: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # region -> id
        self.numbers: dict[tuple[str, str], int] = defaultdict(int)  # (region, project)
        # (region, token) -> (first use, batch id, retry type)
        self.tokens: dict[tuple[str, str], tuple[datetime, str, str]] = {}
        self.retries = 0  # retries actually performed, for tests of idempotency
        # batch id -> the groups a retry reruns once the batch moves on from SUBMITTED
        self.reruns: dict[str, list[dict[str, Any]]] = {}

    def operations(self) -> dict[str, Handler]:
        return {
            "StartBuildBatch": self.start_build_batch,
            "ListBuildBatches": self.list_build_batches,
            "BatchGetBuildBatches": self.batch_get_build_batches,
            "StopBuildBatch": self.stop_build_batch,
            "RetryBuildBatch": self.retry_build_batch,
        }

    # --- the API ---------------------------------------------------------------------------

    def start_build_batch(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        project = CodeBuildFill._project(params["projectName"], region)
        now = self.now()
        name = project["name"]
        self.numbers[(region, name)] += 1
        batch_id = f"{name}:{uuid.uuid4()}"
        environment = {**project["environment"], **_environment_overrides(params)}
        if "imageOverride" in params:
            environment["image"] = params["imageOverride"]
        if "environmentVariablesOverride" in params:
            environment["environmentVariables"] = params["environmentVariablesOverride"]
        batch: dict[str, Any] = {
            "id": batch_id,
            "arn": f"arn:aws:codebuild:{region}:{ACCOUNT_ID}:build-batch/{batch_id}",
            "buildBatchNumber": self.numbers[(region, name)],
            "startTime": now,
            "currentPhase": "SUBMITTED",
            "buildBatchStatus": "IN_PROGRESS",
            "projectName": name,
            **({"sourceVersion": params["sourceVersion"]} if "sourceVersion" in params else {}),
            "phases": [{"phaseType": "SUBMITTED", "startTime": now}],
            "source": project["source"],
            "environment": environment,
            "serviceRole": project["serviceRole"],
            # moto stores 0 for a timeout the project did not set; the service's defaults.
            "buildTimeoutInMinutes": params.get("buildTimeoutInMinutesOverride")
            or project.get("timeoutInMinutes")
            or 60,
            "queuedTimeoutInMinutes": params.get("queuedTimeoutInMinutesOverride")
            or project.get("queuedTimeoutInMinutes")
            or 480,
            "complete": False,
            "initiator": "jobwarden-emulator",
            "buildGroups": [
                {
                    "identifier": DOWNLOAD_GROUP,
                    "ignoreFailure": False,
                    "currentBuildSummary": self._new_build(name, region),
                }
            ],
        }
        if "buildBatchConfigOverride" in params:  # moto keeps no project batch config
            batch["buildBatchConfig"] = params["buildBatchConfigOverride"]
        self.batches[region][batch_id] = batch
        return {"buildBatch": batch}

    def list_build_batches(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        status = params.get("filter", {}).get("status")
        newest_first = params.get("sortOrder", "DESCENDING") == "DESCENDING"
        ordered = sorted(
            (
                b
                for b in self.batches[region].values()
                if status is None or b["buildBatchStatus"] == status
            ),
            key=lambda b: (b["startTime"], b["buildBatchNumber"]),
            reverse=newest_first,
        )
        size = params.get("maxResults", PAGE_SIZE)
        ids, token = page([b["id"] for b in ordered], params.get("nextToken"), size)
        return {"ids": ids, **({"nextToken": token} if token else {})}

    def batch_get_build_batches(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        ids = params["ids"]
        if len(ids) > BATCH_LIMIT:
            raise AwsError("InvalidInputException", f"at most {BATCH_LIMIT} ids per call")
        known = self.batches[region]
        missing = [i for i in ids if i not in known]
        return {
            "buildBatches": [known[i] for i in ids if i in known],
            **({"buildBatchesNotFound": missing} if missing else {}),
        }

    def stop_build_batch(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        """STOPPED at once, its builds left stopping; an ended batch answered as it is."""
        batch = self._get(params["id"], region)
        if batch["buildBatchStatus"] == "IN_PROGRESS":
            self._complete(batch, "STOPPED", end_builds=False)
            self.reruns.pop(batch["id"], None)
        return {"buildBatch": batch}

    def retry_build_batch(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if "id" not in params:
            raise AwsError("InvalidInputException", "id is required")
        # The model leaves retryType optional and documents no default: assume all builds.
        retry_type = params.get("retryType", "RETRY_ALL_BUILDS")
        token = params.get("idempotencyToken")
        batch = self._get(params["id"], region)
        now = self.now()
        if token is not None:
            used = self.tokens.get((region, token))
            if used is not None and now - used[0] < TOKEN_LIFETIME:
                if used[1:] != (params["id"], retry_type):
                    raise AwsError("InvalidInputException", "idempotency token parameter mismatch")
                return {"buildBatch": batch}
        if not self._retryable(batch["buildBatchStatus"]):
            raise AwsError(
                "InvalidInputException", "Only batch builds that have failed can be retried"
            )
        self._restart(batch, retry_type)
        if token is not None:
            self.tokens[(region, token)] = (now, params["id"], retry_type)
        return {"buildBatch": batch}

    def _retryable(self, status: str) -> bool:
        return status in FAILED_STATUSES or (status == "STOPPED" and self.retry_stopped)

    # --- controls for tests and the demo ----------------------------------------------------

    def advance(self, batch_id: str, phase: str, builds: int = 1) -> dict[str, Any]:
        """Move a running batch on to `phase` at the emulator's current time.

        Reaching IN_PROGRESS ends the batchspec download and starts `builds` build groups (or,
        after a retry, reruns the groups the retry chose); reaching COMBINE_ARTIFACTS ends the
        builds still running as SUCCEEDED.
        """
        batch, region = self._find(batch_id)
        if batch["buildBatchStatus"] != "IN_PROGRESS":
            raise ValueError(f"batch {batch_id} has already finished")
        if PHASE_ORDER.index(phase) <= PHASE_ORDER.index(batch["currentPhase"]):
            raise ValueError(f"batch {batch_id} is already past {phase}")
        now = self.now()
        _close(batch["phases"][-1], now, "SUCCEEDED")
        batch["phases"].append({"phaseType": phase, "startTime": now})
        batch["currentPhase"] = phase
        groups = batch["buildGroups"]
        rerun = self.reruns.get(batch_id, [])
        # A retry reruns the batchspec download on its first move, its builds on IN_PROGRESS.
        if rerun and (rerun[0] is groups[0] or phase != "DOWNLOAD_BATCHSPEC"):
            for group in self.reruns.pop(batch_id):
                group.setdefault("priorBuildSummaryList", []).append(group["currentBuildSummary"])
                group["currentBuildSummary"] = self._new_build(batch["projectName"], region)
        if PHASE_ORDER.index(phase) >= PHASE_ORDER.index("IN_PROGRESS") and len(groups) == 1:
            _end_running(groups, "SUCCEEDED")
            groups.extend(
                {
                    "identifier": f"build{n}",
                    "dependsOn": [],
                    "ignoreFailure": False,
                    "currentBuildSummary": self._new_build(batch["projectName"], region),
                }
                for n in range(1, builds + 1)
            )
        if phase == "COMBINE_ARTIFACTS":
            _end_running(groups, "SUCCEEDED")
        return batch

    def finish(self, batch_id: str, status: str = "SUCCEEDED") -> dict[str, Any]:
        """End a running batch with `status`; its running builds end with it."""
        batch, _ = self._find(batch_id)
        if batch["buildBatchStatus"] != "IN_PROGRESS":
            raise ValueError(f"batch {batch_id} has already finished")
        self._complete(batch, status)
        self.reruns.pop(batch_id, None)
        return batch

    def settle(self, batch_id: str) -> dict[str, Any]:
        """End the builds a StopBuildBatch left running or pending, as STOPPED."""
        batch, _ = self._find(batch_id)
        if batch["buildBatchStatus"] != "STOPPED":
            raise ValueError(f"batch {batch_id} is not stopped")
        _end_running(batch["buildGroups"], "STOPPED")
        return batch

    # --- state ------------------------------------------------------------------------------

    def _complete(self, batch: dict[str, Any], status: str, end_builds: bool = True) -> None:
        now = self.now()
        _close(batch["phases"][-1], now, status)
        ended = status if status in ("SUCCEEDED", "STOPPED") else "FAILED"
        batch["phases"].append({"phaseType": ended, "startTime": now})
        if end_builds:
            _end_running(batch["buildGroups"], status)
        batch.update(currentPhase=ended, buildBatchStatus=status, endTime=now, complete=True)

    def _restart(self, batch: dict[str, Any], retry_type: str) -> None:
        """Back to SUBMITTED after its ended phase, closed RETRY (the CLI example); the groups
        to rerun start again when `advance` moves the batch on."""
        now = self.now()
        _close(batch["phases"][-1], now, "RETRY")
        _end_running(batch["buildGroups"], "STOPPED")  # what a stop left stopping is over
        download, *builds = batch["buildGroups"]
        downloaded = download["currentBuildSummary"]["buildStatus"] == "SUCCEEDED"
        self.reruns[batch["id"]] = (
            [g for g in builds if retry_type == "RETRY_ALL_BUILDS" or _failed(g)]
            if downloaded
            else [download]
        )
        batch["phases"].append({"phaseType": "SUBMITTED", "startTime": now})
        batch.update(currentPhase="SUBMITTED", buildBatchStatus="IN_PROGRESS", complete=False)
        batch.pop("endTime", None)
        self.retries += 1

    def _new_build(self, project: str, region: str) -> dict[str, Any]:
        build_id = f"{project}:{uuid.uuid4()}"
        return {
            "arn": f"arn:aws:codebuild:{region}:{ACCOUNT_ID}:build/{build_id}",
            "requestedOn": self.now(),
            "buildStatus": "IN_PROGRESS",
        }

    def _get(self, batch_id: str, region: str) -> dict[str, Any]:
        batch = self.batches[region].get(batch_id)
        if batch is None:
            raise AwsError("ResourceNotFoundException", f"Build batch {batch_id} does not exist")
        return batch

    def _find(self, batch_id: str) -> tuple[dict[str, Any], str]:
        for region, batches in self.batches.items():
            if batch_id in batches:
                return batches[batch_id], region
        raise KeyError(batch_id)


def _failed(group: dict[str, Any]) -> bool:
    return bool(group["currentBuildSummary"]["buildStatus"] != "SUCCEEDED")


def _end_running(groups: list[dict[str, Any]], status: str) -> None:
    for group in groups:
        if group["currentBuildSummary"]["buildStatus"] in ("IN_PROGRESS", "PENDING"):
            group["currentBuildSummary"]["buildStatus"] = status


# --- the demo -------------------------------------------------------------------------------

DEMO_POLICIES: dict[str, dict[str, Any]] = {
    "batch-builds": {
        "description": (
            "Batch builds finish within 90 minutes; a longer one is hung: stop it, then "
            "retry its failed builds once."
        ),
        "match": {"services": ["codebuild-batch"]},
        "limits": {"max_run_minutes": 90},
        "action": "stop",
        "priority": 10,
        "retry": {"type": "RETRY_FAILED_BUILDS", "max_attempts": 1},
    },
}


def seed_demo(emulator: Emulator, clients: Clients, now: datetime) -> dict[str, str]:
    """A batch running 3 hours against a 90-minute limit, and a healthy one.

    The stuck batch is stopped by the first enforce sweep (StopBuildBatch answers it STOPPED
    at once) and retried by the next enforce sweep.
    """
    codebuild = clients.client("codebuild")
    fill: CodeBuildBatchFill = emulator.fill("codebuild-batch")
    create_codebuild_project(clients, "release-train", {"team": "platform"})
    create_codebuild_project(clients, "integration-suite", {"team": "qa"})

    def start(project: str, ago: timedelta, run_after: timedelta, builds: int) -> str:
        with time_machine.travel(now - ago, tick=False):
            batch_id: str = codebuild.start_build_batch(projectName=project)["buildBatch"]["id"]
        with time_machine.travel(now - ago + run_after, tick=False):
            fill.advance(batch_id, "IN_PROGRESS", builds=builds)
        return batch_id

    return {
        "release-train batch (running 3 h, 90 min limit)": start(
            "release-train", timedelta(hours=3), timedelta(minutes=4), builds=3
        ),
        "integration-suite batch (healthy, 15 min)": start(
            "integration-suite", timedelta(minutes=18), timedelta(minutes=3), builds=2
        ),
    }


def describe_for_demo(clients: Clients, ids: dict[str, str]) -> dict[str, str]:
    """Batch id -> its status read back through BatchGetBuildBatches, with its reruns."""
    found = clients.client("codebuild").batch_get_build_batches(ids=list(ids.values()))
    described: dict[str, str] = {}
    for batch in found["buildBatches"]:
        reruns = sum(len(g.get("priorBuildSummaryList", [])) for g in batch["buildGroups"])
        rerun_note = f", {reruns} build(s) rerun by a retry" if reruns else ""
        described[batch["id"]] = (
            f"{batch['buildBatchStatus']} ({batch['currentPhase']}){rerun_note}"
        )
    return described

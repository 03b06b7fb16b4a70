"""CodeBuild batch builds: list the running batches, stop with StopBuildBatch, retry with
RetryBuildBatch.

Listing asks ListBuildBatches for IN_PROGRESS batches only, instead of paging newest first
and stopping past the oldest possible batch: the model bounds no batch timeout
(`buildBatchConfig.timeoutInMins` has no maximum) and documents `sortOrder` as an order of
ids, not of start times, so an age cut-off could skip the very batch that is stuck.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobwarden.model import CostBasis, Job, Outcome, PendingRetry, RetryStarted
from jobwarden.pricing import codebuild_basis
from jobwarden.services import register
from jobwarden.services.base import (
    Grant,
    Past,
    RetryImpossible,
    ServiceAdapter,
    Unreadable,
    error_code,
)
from jobwarden.services.codebuild import BATCH_LIMIT, CodeBuildBuilds, chunks, source_branch

ACTIVE = "IN_PROGRESS"
# No build of the batch runs yet while it is submitted or downloading its batchspec.
QUEUED_PHASES = frozenset({"SUBMITTED", "DOWNLOAD_BATCHSPEC"})
# The phases a batch ends with; a retry appends new phases after one of them.
ENDED_PHASES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
PAGE_SIZE = 100  # ListBuildBatches returns at most 100 ids a page
RETRY_TYPES = frozenset({"RETRY_ALL_BUILDS", "RETRY_FAILED_BUILDS"})  # RetryBuildBatchType
# Set on a batch jobwarden starts again with StartBuildBatch: the id of the batch it retries,
# so the retry counts against the original's attempts and the builds can see why they ran.
RETRY_OF_VARIABLE = "JOBWARDEN_RETRY_OF"


@register
class CodeBuildBatches(ServiceAdapter):
    name = "codebuild-batch"
    grants = (
        Grant(
            ("codebuild:ListBuildBatches",),
            why_any_resource="ListBuildBatches has no resource type; it lists the whole account",
        ),
        Grant(
            (
                "codebuild:BatchGetBuildBatches",
                "codebuild:StopBuildBatch",
                "codebuild:RetryBuildBatch",
                "codebuild:StartBuildBatch",
                "codebuild:BatchGetProjects",
            ),
            ("arn:{partition}:codebuild:{region}:{account}:project/*",),
        ),
    )
    supports_retry = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client = self.clients.client("codebuild", self.region)
        # The builds adapter owns the project-tag loader and its per-sweep cache; share it.
        self._projects = CodeBuildBuilds(self.clients, self.region, self.settings)

    def list_active(self, now: datetime) -> Iterator[Job | Unreadable]:
        pages = self._client.get_paginator("list_build_batches").paginate(
            filter={"status": ACTIVE},
            sortOrder="DESCENDING",
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            yield from self._active(self._describe(page.get("ids", [])))

    def list_history(self, since: datetime, now: datetime) -> Iterator[Past | Unreadable]:
        """Every batch started since `since`, newest first, until a page started before it."""
        pages = self._client.get_paginator("list_build_batches").paginate(
            sortOrder="DESCENDING", PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            batches = self._describe(page.get("ids", []))
            recent = [b for b in batches if b["startTime"] >= since]
            failed = self._projects._load_tags({b["projectName"] for b in recent})
            for batch in recent:
                if batch["projectName"] in failed:
                    subject = f"codebuild batch build {batch['id']}"
                    yield Unreadable(subject, failed[batch["projectName"]])
                    continue
                yield Past(self.to_job(batch), batch.get("endTime"), batch["buildBatchStatus"])
            if batches and all(b["startTime"] < since for b in batches):
                return

    def describe_many(
        self, job_ids: Sequence[str], now: datetime, names: Mapping[str, str] | None = None
    ) -> dict[str, Job]:
        found = self._active(self._describe(list(job_ids)))
        return {job.job_id: job for job in found if isinstance(job, Job)}

    def _active(self, batches: list[dict[str, Any]]) -> Iterator[Job | Unreadable]:
        # A batch may end between listing and reading it: keep only those still running.
        active = [b for b in batches if b["buildBatchStatus"] == ACTIVE]
        unreadable = self._projects._load_tags({b["projectName"] for b in active})
        for batch in active:
            if batch["projectName"] in unreadable:
                yield Unreadable(
                    f"codebuild batch build {batch['id']}", unreadable[batch["projectName"]]
                )
            else:
                yield self.to_job(batch)

    def _describe(self, ids: list[str]) -> list[dict[str, Any]]:
        batches: list[dict[str, Any]] = []
        for chunk in chunks(ids, BATCH_LIMIT):
            found = self._client.batch_get_build_batches(ids=chunk)
            batches.extend(found.get("buildBatches", []))
        return batches

    def to_job(self, batch: dict[str, Any]) -> Job:
        submitted_at, started_at = _attempt_times(batch)
        return Job(
            service=self.name,
            job_id=batch["id"],
            name=batch["projectName"],
            region=self.region,
            status=f"{batch['buildBatchStatus']} ({batch.get('currentPhase', 'SUBMITTED')})",
            submitted_at=submitted_at,
            started_at=started_at,
            tags=self._projects._project_tags.get(batch["projectName"], {}),
            cost_basis=_cost_basis(batch),
            arn=batch.get("arn"),
            lineage=batch_lineage(batch),
            attempt=str(_attempt_number(batch)),
            branch=source_branch(batch),
            queue_reason=_queue_reason(batch),
            timeout_minutes=float(batch["buildTimeoutInMinutes"])
            if batch.get("buildTimeoutInMinutes")
            else None,
        )

    def stop(self, job: Job, reason: str) -> Outcome:
        """StopBuildBatch takes no reason. It answers with the batch: STOPPED in AWS's
        published example (awscli/examples/codebuild/stop-build-batch.rst), or IN_PROGRESS
        while its builds stop; an ended batch keeps its own final status. A refusal or a lost
        answer is read back (`settle_failed_stop`)."""
        try:
            batch = self._client.stop_build_batch(id=job.job_id)["buildBatch"]
        except (ClientError, BotoCoreError) as error:
            return self.settle_failed_stop(job, reason, error)
        return batch_stop_outcome(batch) or Outcome.STOPPED

    def read_back(self, job: Job, reason: str) -> Outcome | None:
        batches = self._describe([job.job_id])
        if not batches:
            return Outcome.ALREADY_FINISHED  # deleted: it runs no more
        return batch_stop_outcome(batches[0])

    def retry(self, pending: PendingRetry, attempt: int) -> RetryStarted | Outcome | None:
        """Retried in place once the stopped batch has ended; None while it is still stopping.

        A batch that ended SUCCEEDED after all, or is gone, has nothing to retry:
        ALREADY_FINISHED. RetryBuildBatch is documented for failed batches only ("Only batch
        builds that have failed can be retried", its API reference and botocore's model; the
        one published example, awscli/examples/codebuild/retry-build-batch.rst, retries a
        FAILED batch). If it refuses a batch we STOPPED, the batch is started anew with
        StartBuildBatch (`_start_again`). The ledger claims each attempt before this is
        called; the idempotency token guards a repeated call within five minutes too.
        """
        if pending.retry.type not in RETRY_TYPES:
            raise RetryImpossible(
                f"retry type {pending.retry.type!r} is not one of RetryBuildBatch's "
                f"{', '.join(sorted(RETRY_TYPES))}"
            )
        batches = self._describe([pending.job_id])
        if not batches:
            return Outcome.ALREADY_FINISHED  # deleted: nothing to retry
        batch = batches[0]
        status = batch["buildBatchStatus"]
        if status == ACTIVE:
            return None
        if status == "SUCCEEDED":
            return Outcome.ALREADY_FINISHED
        try:
            self._client.retry_build_batch(
                id=pending.job_id,
                retryType=pending.retry.type,
                idempotencyToken=retry_token(pending.job_id, attempt),
            )
        except ClientError as error:
            if error_code(error) != "InvalidInputException":
                raise  # denied, throttled, unavailable: a failed attempt a later sweep repeats
            if status != "STOPPED":
                raise RetryImpossible(f"RetryBuildBatch refused {status} batch: {error}") from error
            return self._start_again(batch, attempt, error)
        return RetryStarted(pending.job_id)

    def _start_again(
        self, batch: Mapping[str, Any], attempt: int, refusal: ClientError
    ) -> RetryStarted:
        """StartBuildBatch from the stopped batch's project, source version and overrides,
        carrying the original's id in `RETRY_OF_VARIABLE` so its attempts are counted on the
        original (`lineage`)."""
        request = start_again_request(batch, retry_token(batch["id"], attempt))
        try:
            started = self._client.start_build_batch(**request)["buildBatch"]
        except ClientError as error:
            if error_code(error) in ("InvalidInputException", "ResourceNotFoundException"):
                raise RetryImpossible(
                    f"RetryBuildBatch refused the stopped batch ({refusal}) and StartBuildBatch "
                    f"refused to start it again: {error}"
                ) from error
            raise
        return RetryStarted(
            started["id"],
            note=f"RetryBuildBatch refused the stopped batch {batch['id']}; started again as "
            f"{started['id']} with StartBuildBatch",
        )


def batch_stop_outcome(batch: Mapping[str, Any]) -> Outcome | None:
    """After our stop request: STOPPED is ours; any other end came first; None while it runs.

    A batch still IN_PROGRESS whose current phase is STOPPED is stopping: ours too. (An
    assumption: AWS's published example shows the STOPPED phase only with the STOPPED
    status; the model allows the phase while members are still being stopped.)"""
    status = batch["buildBatchStatus"]
    if status == ACTIVE:
        return Outcome.STOPPED if batch.get("currentPhase") == "STOPPED" else None
    return Outcome.STOPPED if status == "STOPPED" else Outcome.ALREADY_FINISHED


def start_again_request(batch: Mapping[str, Any], token: str) -> dict[str, Any]:
    """StartBuildBatch parameters that run `batch` again as it ran.

    The source version is the resolved one (the commit that was built) where the batch has
    it. The service roles (`serviceRole`, `buildBatchConfig.serviceRole`) and the encryption
    key are left to the project: overriding a role needs iam:PassRole, and a batch runs with
    its project's unless started with an override, which jobwarden never does.
    """
    source = batch.get("source", {})
    environment = batch.get("environment", {})
    original = batch_lineage(batch) or batch["id"]
    variables = [
        v for v in environment.get("environmentVariables", []) if v["name"] != RETRY_OF_VARIABLE
    ]
    variables.append({"name": RETRY_OF_VARIABLE, "value": original, "type": "PLAINTEXT"})
    candidates: dict[str, Any] = {
        "sourceVersion": batch.get("resolvedSourceVersion") or batch.get("sourceVersion"),
        "secondarySourcesOverride": batch.get("secondarySources"),
        "secondarySourcesVersionOverride": batch.get("secondarySourceVersions"),
        "sourceTypeOverride": source.get("type"),
        "sourceLocationOverride": source.get("location"),
        "sourceAuthOverride": source.get("auth"),
        "buildspecOverride": source.get("buildspec"),
        "gitCloneDepthOverride": source.get("gitCloneDepth"),
        "gitSubmodulesConfigOverride": source.get("gitSubmodulesConfig"),
        "insecureSslOverride": source.get("insecureSsl"),
        "reportBuildBatchStatusOverride": source.get("reportBuildStatus"),
        "environmentTypeOverride": environment.get("type"),
        "imageOverride": environment.get("image"),
        "computeTypeOverride": environment.get("computeType"),
        "certificateOverride": environment.get("certificate"),
        "privilegedModeOverride": environment.get("privilegedMode"),
        "registryCredentialOverride": environment.get("registryCredential"),
        "imagePullCredentialsTypeOverride": environment.get("imagePullCredentialsType"),
        "environmentVariablesOverride": variables,
        "cacheOverride": batch.get("cache"),
        "logsConfigOverride": batch.get("logConfig"),
        "buildTimeoutInMinutesOverride": batch.get("buildTimeoutInMinutes"),
        "queuedTimeoutInMinutesOverride": batch.get("queuedTimeoutInMinutes"),
        "debugSessionEnabled": batch.get("debugSessionEnabled"),
    }
    request = {key: value for key, value in candidates.items() if value not in (None, "", [])}
    return {"projectName": batch["projectName"], **request, "idempotencyToken": token}


def batch_lineage(batch: Mapping[str, Any]) -> str:
    """The id of the batch this one was started again from by jobwarden, or ""."""
    for variable in batch.get("environment", {}).get("environmentVariables", []):
        if variable.get("name") == RETRY_OF_VARIABLE:
            return str(variable.get("value", ""))
    return ""


def retry_token(batch_id: str, attempt: int) -> str:
    """The same token for the same batch and attempt, whichever sweep sends it.

    The model states no length limit; a 32-hex digest keeps the token under 64 characters
    whatever the length of the batch id, in case the service enforces one it does not state.
    """
    digest = hashlib.sha256(f"{batch_id}#{attempt}".encode()).hexdigest()[:32]
    return f"jobwarden-{attempt}-{digest}"


def _attempt_times(batch: dict[str, Any]) -> tuple[datetime, datetime | None]:
    """When the current attempt was submitted, and when it left the queue (None: queued).

    A retried batch keeps its id and start time and appends new phases after the phase it
    ended with, so only the phases after the last ended one belong to the current attempt.
    """
    phases = batch.get("phases", [])
    ended = [i for i, phase in enumerate(phases) if phase["phaseType"] in ENDED_PHASES]
    attempt = phases[ended[-1] + 1 :] if ended else phases
    submitted: datetime = batch["startTime"]
    if ended and attempt and "startTime" in attempt[0]:
        submitted = attempt[0]["startTime"]
    if batch.get("currentPhase", "SUBMITTED") in QUEUED_PHASES:
        return submitted, None
    for phase in attempt:
        if phase["phaseType"] not in QUEUED_PHASES and "startTime" in phase:
            return submitted, phase["startTime"]
    return submitted, submitted


def _queue_reason(batch: Mapping[str, Any]) -> str:
    """The queued phase a batch waits in (SUBMITTED, DOWNLOAD_BATCHSPEC), or "" once running."""
    phase = str(batch.get("currentPhase", "SUBMITTED"))
    return phase if phase in QUEUED_PHASES else ""


def _attempt_number(batch: dict[str, Any]) -> int:
    """1 for the first run of a batch, n + 1 after its n-th retry (each retry follows an ended
    phase): a decision on one attempt never acts on the next."""
    return 1 + sum(phase["phaseType"] in ENDED_PHASES for phase in batch.get("phases", []))


def _cost_basis(batch: dict[str, Any]) -> CostBasis:
    """The batch environment's rate once per build running now (at least one).

    An estimate: builds of a batch may override the compute type in the batchspec, and the
    count of running builds changes over the batch's life; the current count is applied to
    the whole run time.
    """
    environment = batch.get("environment", {})
    basis = codebuild_basis(
        environment.get("type", "LINUX_CONTAINER"), environment.get("computeType", "")
    )
    running = sum(
        1
        for group in batch.get("buildGroups", [])
        if group.get("currentBuildSummary", {}).get("buildStatus") == ACTIVE
    )
    builds = max(1, running)
    return CostBasis(tuple((key, quantity * builds) for key, quantity in basis.components))

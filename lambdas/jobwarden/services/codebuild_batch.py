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
from jobwarden.services.base import Grant, ServiceAdapter, Unreadable
from jobwarden.services.codebuild import BATCH_LIMIT, CodeBuildBuilds, chunks

ACTIVE = "IN_PROGRESS"
# No build of the batch runs yet while it is submitted or downloading its batchspec.
QUEUED_PHASES = frozenset({"SUBMITTED", "DOWNLOAD_BATCHSPEC"})
# The phases a batch ends with; a retry appends new phases after one of them.
ENDED_PHASES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
PAGE_SIZE = 100  # ListBuildBatches returns at most 100 ids a page


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

        A batch that ended SUCCEEDED after all has nothing to retry (RetryBuildBatch only
        takes failed batches): ALREADY_FINISHED. The ledger claims each attempt before this
        is called; the idempotency token guards a repeated call within five minutes too.
        """
        status = self._status(pending.job_id)
        if status == ACTIVE:
            return None
        if status == "SUCCEEDED":
            return Outcome.ALREADY_FINISHED
        self._client.retry_build_batch(
            id=pending.job_id,
            retryType=pending.retry.type,
            idempotencyToken=retry_token(pending.job_id, attempt),
        )
        return RetryStarted(pending.job_id)

    def _status(self, batch_id: str) -> str | None:
        batches = self._describe([batch_id])
        return str(batches[0]["buildBatchStatus"]) if batches else None


def batch_stop_outcome(batch: Mapping[str, Any]) -> Outcome | None:
    """After our stop request: STOPPED is ours; any other end came first; None while it runs.

    A batch still IN_PROGRESS whose current phase is STOPPED is stopping: ours too. (An
    assumption: AWS's published example shows the STOPPED phase only with the STOPPED
    status; the model allows the phase while members are still being stopped.)"""
    status = batch["buildBatchStatus"]
    if status == ACTIVE:
        return Outcome.STOPPED if batch.get("currentPhase") == "STOPPED" else None
    return Outcome.STOPPED if status == "STOPPED" else Outcome.ALREADY_FINISHED


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

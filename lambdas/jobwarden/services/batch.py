"""AWS Batch jobs: every job queue, each active status, stopped with TerminateJob.

Queue time is the time before a job runs. Batch stamps `startedAt` when a job moves from
STARTING to RUNNING and records no time for entering STARTING, so a STARTING job (placed,
still pulling its image) still counts as queued: a job stuck there is caught by a queue-time
limit like one stuck in RUNNABLE, and its run time starts at `startedAt`.

Array jobs are judged on the parent, which Batch keeps in PENDING while its children run:
the parent has started once any child has, and its cost is the children's. Children are
never listed separately; terminating the parent terminates them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from jobwarden.eventfields import envelope as read_envelope
from jobwarden.eventfields import epoch_millis, section, text
from jobwarden.index import JobEvent
from jobwarden.model import CostBasis, Job, Outcome
from jobwarden.pricing import batch_basis
from jobwarden.services import register
from jobwarden.services.base import Grant, Past, Resubmission, ServiceAdapter, Unreadable, isolable

# Lifecycle order: a job moving on while the statuses are listed one by one is seen again
# under its new status (and de-duplicated), never missed.
ACTIVE_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
FINISHED_STATUSES = frozenset({"SUCCEEDED", "FAILED"})
STARTED_STATUSES = frozenset({"STARTING", "RUNNING"})  # terminated, not cancelled
# Statuses in which an array child has (or had) a `startedAt`.
CHILD_RAN_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED")
DESCRIBE_LIMIT = 100  # DescribeJobs takes at most 100 job ids
QUEUES_LIMIT = 100  # DescribeJobQueues takes at most 100 queues
REASON_LIMIT = 1024  # TerminateJob's reason
# SageMaker training queues hold service jobs (ListServiceJobs/TerminateServiceJob), not jobs.
SERVICE_JOB_QUEUE_TYPES = frozenset({"SAGEMAKER_TRAINING"})
# A RUNNABLE job's statusReason starts with why it waits, "CAPACITY:INSUFFICIENT_INSTANCE_
# CAPACITY - All compute environments have insufficient capacity..." (JobDetail.statusReason
# in botocore's batch model; Batch user guide, "Jobs stuck in a RUNNABLE status").
REASON_CODE = re.compile(r"[A-Z_]+:[A-Z_]+")
# Carried by a job jobwarden submitted again, naming the job it copies: how a repeated
# resubmission finds the copy an earlier attempt made (SubmitJob takes no client token).
RESUBMIT_OF_TAG = "jobwarden:resubmit-of"
# "Environment variables cannot start with AWS_BATCH ... reserved for variables that Batch
# sets" (ContainerOverrides.environment, botocore's batch model): never copied into a resubmit.
RESERVED_ENVIRONMENT = "AWS_BATCH"


@register
class BatchJobs(ServiceAdapter):
    name = "batch"
    grants = (
        Grant(
            ("batch:DescribeJobQueues", "batch:ListJobs", "batch:DescribeJobs"),
            why_any_resource="Batch's Describe and List actions support no resource-level "
            "permissions",
        ),
        Grant(
            ("batch:TerminateJob", "batch:CancelJob"),
            ("arn:{partition}:batch:{region}:{account}:job/*",),
        ),
        # A resubmission: SubmitJob is authorized on the job queue and the job definition
        # (Service Authorization Reference, AWS Batch); the fallback queue is named in a
        # policy, so any queue of the account, and the job's own definition, any revision.
        Grant(
            ("batch:SubmitJob",),
            (
                "arn:{partition}:batch:{region}:{account}:job-queue/*",
                "arn:{partition}:batch:{region}:{account}:job-definition/*:*",
            ),
        ),
        # SubmitJob with tags is authorized again on batch:TagResource for the new job
        # (Batch user guide, "Tag your resources"); only as part of a SubmitJob.
        Grant(
            ("batch:TagResource",),
            ("arn:{partition}:batch:{region}:{account}:job/*",),
            conditions={"StringEquals": {"batch:CreateAction": "SubmitJob"}},
        ),
    )

    events = (("aws.batch", "Batch Job State Change"),)
    # Array children (each a job of its own, with an `index`) are judged through their parent,
    # and SUBMITTED and STARTING change nothing the index or a deadline needs: a job enters
    # the index in PENDING (waiting on dependencies) or RUNNABLE, its run-time deadline moves
    # at RUNNING, it leaves at SUCCEEDED or FAILED. Filtered in the rule, not in the function.
    event_detail: ClassVar[Mapping[str, Any]] = {
        "status": ["PENDING", "RUNNABLE", "RUNNING", "SUCCEEDED", "FAILED"],
        "arrayProperties": {"index": [{"exists": False}]},
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client = self.clients.client("batch", self.region)
        self._queue_tags: dict[str, dict[str, str]] = {}

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> JobEvent | None:
        """The event's detail is the job's DescribeJobs detail; array children are skipped."""
        envelope = read_envelope(event)
        detail = envelope.detail
        job_id, status = text(detail, "jobId"), text(detail, "status")
        submitted = epoch_millis(detail, "createdAt")
        started = epoch_millis(detail, "startedAt") if detail.get("startedAt") else None
        if _is_child({"jobId": job_id, "arrayProperties": section(detail, "arrayProperties")}):
            return None
        return JobEvent(
            service=cls.name,
            region=envelope.region,
            job_id=job_id,
            name=text(detail, "jobName"),
            state=status,
            active=status in ACTIVE_STATUSES,
            at=envelope.time,
            submitted_at=submitted,
            running_since=started if status == "RUNNING" else None,
        )

    def describe_many(
        self, job_ids: Sequence[str], now: datetime, names: Mapping[str, str] | None = None
    ) -> dict[str, Job]:
        details = [
            detail
            for chunk in _chunks(list(job_ids), DESCRIBE_LIMIT)
            for detail in self._client.describe_jobs(jobs=chunk).get("jobs", [])
            if detail["status"] in ACTIVE_STATUSES and not _is_child(detail)
        ]
        self._load_queue_tags({detail["jobQueue"] for detail in details})
        return {
            detail["jobId"]: self.to_job(detail, self._queue_tags.get(detail["jobQueue"], {}), now)
            for detail in details
        }

    def _load_queue_tags(self, queues: set[str]) -> None:
        """The tags of the queues not yet known, 100 queues a DescribeJobQueues call."""
        missing = sorted(queues - self._queue_tags.keys())
        for chunk in _chunks(missing, QUEUES_LIMIT):
            for queue in self._client.describe_job_queues(jobQueues=chunk).get("jobQueues", []):
                self._remember(queue)
        for queue in missing:  # gone: no tags
            self._queue_tags.setdefault(queue, {})

    def _remember(self, queue: Mapping[str, Any]) -> None:
        """A job names its queue by ARN; a caller may by name: both find the tags."""
        tags = queue.get("tags", {})
        self._queue_tags[queue["jobQueueArn"]] = tags
        self._queue_tags[queue["jobQueueName"]] = tags

    def list_active(self, now: datetime) -> Iterator[Job | Unreadable]:
        """Every queue's active ids first, then DescribeJobs 100 ids a call across queues. A
        queue whose jobs cannot be listed (deleted mid-sweep, refused) is one Unreadable, and
        the other queues are still listed."""
        ids: dict[str, None] = {}
        for queue in self._job_queues():
            self._remember(queue)
            arn = queue["jobQueueArn"]
            try:
                ids.update(dict.fromkeys(self._active_ids(arn)))
            except ClientError as error:
                if not isolable(error):
                    raise
                yield Unreadable(f"batch job queue {queue.get('jobQueueName', arn)}", str(error))
        yield from self.describe_many(list(ids), now).values()

    def list_history(self, since: datetime, now: datetime) -> Iterator[Past | Unreadable]:
        """Every job created since `since` in every queue, active or ended (ListJobs per
        status, every page, as `list_active`; Batch keeps ended jobs for at least 7 days)."""
        for queue in self._job_queues():
            arn = queue["jobQueueArn"]
            self._queue_tags[arn] = queue.get("tags", {})
            try:
                ids = self._ids(arn, (*ACTIVE_STATUSES, *sorted(FINISHED_STATUSES)), since)
                details = [
                    detail
                    for chunk in _chunks(ids, DESCRIBE_LIMIT)
                    for detail in self._client.describe_jobs(jobs=chunk).get("jobs", [])
                ]
            except ClientError as error:
                if not isolable(error):
                    raise
                yield Unreadable(f"batch job queue {queue.get('jobQueueName', arn)}", str(error))
                continue
            for detail in details:
                ended = _time(detail["stoppedAt"]) if detail.get("stoppedAt") else None
                job = self.to_job(detail, self._queue_tags[arn], ended or now)
                yield Past(job, ended, detail["status"])

    def _ids(self, queue_arn: str, statuses: Sequence[str], since: datetime) -> list[str]:
        paginator = self._client.get_paginator("list_jobs")
        ids: dict[str, None] = {}
        for status in statuses:
            for page in paginator.paginate(jobQueue=queue_arn, jobStatus=status):
                for summary in page.get("jobSummaryList", []):
                    if not _is_child(summary) and _time(summary["createdAt"]) >= since:
                        ids[summary["jobId"]] = None
        return list(ids)

    def _job_queues(self) -> Iterator[dict[str, Any]]:
        for page in self._client.get_paginator("describe_job_queues").paginate():
            for queue in page.get("jobQueues", []):
                if queue.get("jobQueueType") not in SERVICE_JOB_QUEUE_TYPES:
                    yield queue

    def _active_ids(self, queue_arn: str) -> list[str]:
        paginator = self._client.get_paginator("list_jobs")
        ids: dict[str, None] = {}  # ordered and de-duplicated
        for status in ACTIVE_STATUSES:
            for page in paginator.paginate(jobQueue=queue_arn, jobStatus=status):
                for summary in page.get("jobSummaryList", []):
                    if not _is_child(summary):
                        ids[summary["jobId"]] = None
        return list(ids)

    def to_job(
        self, detail: Mapping[str, Any], queue_tags: Mapping[str, str], now: datetime
    ) -> Job:
        """One job from its DescribeJobs detail (the shape Batch's state-change events carry).

        Tags are the job queue's, overridden by the job's own.
        """
        basis = cost_basis(detail)
        started_at = _run_start(detail)
        status = detail["status"]
        array = detail.get("arrayProperties", {})
        if "size" in array:
            runs = self._child_runs(detail["jobId"], array.get("statusSummary"), now)
            started_at = min((start for start, _ in runs), default=None)
            basis = _scaled(basis, _mean_concurrency(runs, started_at, now))
            status = _array_status(status, array)
        return Job(
            service=self.name,
            job_id=detail["jobId"],
            name=detail["jobName"],
            region=self.region,
            status=status,
            submitted_at=_queued_since(detail),
            started_at=started_at,
            tags={**queue_tags, **detail.get("tags", {})},
            cost_basis=basis,
            arn=detail.get("jobArn"),
            details={
                "jobQueue": detail["jobQueue"],
                # Only a job still waiting can be submitted again elsewhere.
                **({"resubmittable": True} if not started_at and _resubmittable(detail) else {}),
            },
            queue_reason=queue_reason(detail) if started_at is None else "",
            timeout_minutes=attempt_timeout(detail),
        )

    def _child_runs(
        self, parent_id: str, summary: Mapping[str, int] | None, now: datetime
    ) -> list[tuple[datetime, datetime]]:
        """(start, end or now) of every child that has run; no calls while none has."""
        if summary is not None and not any(summary.get(s) for s in CHILD_RAN_STATUSES):
            return []
        paginator = self._client.get_paginator("list_jobs")
        runs = []
        for status in CHILD_RAN_STATUSES:
            for page in paginator.paginate(arrayJobId=parent_id, jobStatus=status):
                for child in page.get("jobSummaryList", []):
                    if child.get("startedAt"):
                        end = _time(child["stoppedAt"]) if child.get("stoppedAt") else now
                        runs.append((_time(child["startedAt"]), end))
        return runs

    def stop(self, job: Job, reason: str) -> Outcome:
        """TerminateJob, then read the job back: it answers nothing, and accepts a job that
        has already ended.

        "Jobs that are in the STARTING or RUNNING state are terminated, which causes them to
        transition to FAILED. Jobs that have not progressed to the STARTING state are
        cancelled" (TerminateJob, AWS Batch API reference); a cancelled PENDING job ends only
        "after all dependency jobs complete" (CancelJob, same reference). So a job still
        queued after the call is STOP_REQUESTED until a later read sees it end; a started one
        is STOPPED (it is being terminated).
        """
        reason = reason[:REASON_LIMIT]
        try:
            self._client.terminate_job(jobId=job.job_id, reason=reason)
        except (ClientError, BotoCoreError) as error:
            # Refused, or a lost answer whose retry failed: read back whether it landed.
            try:
                detail = self._describe(job)
            except Exception as read_error:
                raise error from read_error
            outcome = _after_stop(detail, reason, accepted=False)
            if outcome is None:
                raise
            return outcome
        outcome = _after_stop(self._describe(job), reason, accepted=True)
        assert outcome is not None  # an accepted stop always has an outcome
        return outcome

    def read_back(self, job: Job, reason: str) -> Outcome | None:
        """STOPPED once the job FAILED carrying our reason; ALREADY_FINISHED when it ended
        otherwise or is gone (DescribeJobs still shows jobs for days after they end); None while
        it is active, a cancel still pending included."""
        detail = self._describe(job)
        if detail is None:
            return Outcome.ALREADY_FINISHED
        return _ended_outcome(detail, reason[:REASON_LIMIT])

    def _describe(self, job: Job) -> dict[str, Any] | None:
        jobs = self._client.describe_jobs(jobs=[job.job_id]).get("jobs", [])
        return jobs[0] if jobs else None

    def resubmit(
        self, job: Job, queue: str, reason: str, *, submit: bool = True
    ) -> Resubmission | None:
        """Submit the stuck job again to `queue`, then cancel it. In that order, so a crash
        or a failed call leaves the job waiting where it was, never lost; and a repeated call
        finds the copy an earlier one submitted (`RESUBMIT_OF_TAG`) instead of submitting a
        second. CancelJob, not TerminateJob: it ends only a job that has not started ("still
        succeeds, even if no job is cancelled"), so a job that found capacity meanwhile runs
        on, and our copy is cancelled instead."""
        reason = reason[:REASON_LIMIT]
        detail = self._describe(job)
        if detail is None:
            return Resubmission(Outcome.ALREADY_FINISHED, note="the job no longer exists")
        copy = self._find_copy(detail, queue)
        if detail["status"] in ACTIVE_STATUSES and detail["status"] not in STARTED_STATUSES:
            if copy is None:
                if not submit:
                    return None
                copy = self._submit_copy(detail, queue)
            self._client.cancel_job(jobId=job.job_id, reason=reason)
            detail = self._describe(job) or {**detail, "status": "FAILED", "statusReason": reason}
        if detail["status"] in STARTED_STATUSES or _ended_outcome(detail, reason) is not None:
            if _ended_outcome(detail, reason) is Outcome.STOPPED and copy is not None:
                return _resubmitted(Outcome.RESUBMITTED, copy, queue)
            return self._withdraw(detail, copy, reason)
        return _resubmitted(Outcome.STOP_REQUESTED, copy, queue)  # a cancel not yet in effect

    def _withdraw(self, detail: Mapping[str, Any], copy: str | None, reason: str) -> Resubmission:
        """The job started or ended before our cancel: our copy, if any, is cancelled."""
        if copy is not None:
            self._client.cancel_job(
                jobId=copy, reason=f"withdrawn: {detail['jobId']} did not wait after all"
            )
        started = detail["status"] in STARTED_STATUSES
        withdrawn = f"; the copy {copy} was cancelled" if copy else ""
        return Resubmission(
            Outcome.WITHDRAWN if started else Outcome.ALREADY_FINISHED,
            note=("it started" if started else "it ended") + f" before it was resubmitted"
            f"{withdrawn}",
        )

    def _find_copy(self, detail: Mapping[str, Any], queue: str) -> str | None:
        """The job an earlier resubmission of `detail` submitted to `queue`, if any: ListJobs
        filtered by the job's name (every status, newest first: its `filters` documentation),
        then the copy's tag."""
        paginator = self._client.get_paginator("list_jobs")
        pages = paginator.paginate(
            jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [detail["jobName"]]}]
        )
        ids = [s["jobId"] for page in pages for s in page.get("jobSummaryList", [])]
        for chunk in _chunks(ids, DESCRIBE_LIMIT):
            for found in self._client.describe_jobs(jobs=chunk).get("jobs", []):
                if found.get("tags", {}).get(RESUBMIT_OF_TAG) == detail["jobId"]:
                    return str(found["jobId"])
        return None

    def _submit_copy(self, detail: Mapping[str, Any], queue: str) -> str:
        job_id: str = self._client.submit_job(**resubmit_request(detail, queue))["jobId"]
        return job_id


def resubmit_request(detail: Mapping[str, Any], queue: str) -> dict[str, Any]:
    """SubmitJob parameters that run the job described by `detail` again in `queue`: the same
    definition revision, parameters, container overrides (command, environment, resources as
    the job ran them), retry strategy, timeout, priority, share and tags, plus the tag naming
    the original."""
    container = detail.get("container") or {}
    overrides: dict[str, Any] = {
        key: container[key]
        for key in ("command", "resourceRequirements", "instanceType")
        if container.get(key)
    }
    if not container.get("resourceRequirements"):
        overrides.update({k: container[k] for k in ("vcpus", "memory") if container.get(k)})
    environment = [
        variable
        for variable in container.get("environment", [])
        if not variable["name"].startswith(RESERVED_ENVIRONMENT)
    ]
    if environment:
        overrides["environment"] = environment
    candidates: dict[str, Any] = {
        "parameters": detail.get("parameters"),
        "containerOverrides": overrides,
        "retryStrategy": detail.get("retryStrategy"),
        "timeout": detail.get("timeout"),
        "propagateTags": detail.get("propagateTags"),
        "schedulingPriorityOverride": detail.get("schedulingPriority"),
        "shareIdentifier": detail.get("shareIdentifier"),
    }
    request = {key: value for key, value in candidates.items() if value not in (None, {}, [])}
    return {
        "jobName": detail["jobName"],
        "jobQueue": queue,
        "jobDefinition": detail["jobDefinition"],
        **request,
        "tags": {**detail.get("tags", {}), RESUBMIT_OF_TAG: detail["jobId"]},
    }


def queue_reason(detail: Mapping[str, Any]) -> str:
    """Why a queued job waits: a RUNNABLE job's reason code where Batch gives one, else its
    status (SUBMITTED, PENDING on dependencies, RUNNABLE, STARTING)."""
    status = str(detail["status"])
    code = str(detail.get("statusReason") or "").split(" - ", 1)[0].strip()
    if status == "RUNNABLE" and REASON_CODE.fullmatch(code):
        return code
    return status


def _resubmittable(detail: Mapping[str, Any]) -> bool:
    """A single-container job, not an array, multi-node, EKS or ECS-properties job (whose
    overrides `resubmit_request` does not rebuild), nor a copy jobwarden made already."""
    return (
        bool(detail.get("container"))
        and not any(detail.get(k) for k in ("nodeProperties", "eksProperties", "ecsProperties"))
        and "size" not in detail.get("arrayProperties", {})
        and RESUBMIT_OF_TAG not in detail.get("tags", {})
    )


def _resubmitted(outcome: Outcome, copy: str | None, queue: str) -> Resubmission:
    note = f"submitted again to job queue {queue} as job {copy}; this job cancelled"
    return Resubmission(outcome, copy or "", queue, note)


def _after_stop(detail: Mapping[str, Any] | None, reason: str, accepted: bool) -> Outcome | None:
    """The outcome of a TerminateJob call, from the job read after it; None when the call
    failed and nothing shows it landed. An active job whose `isTerminated` or `isCancelled`
    (JobDetail, botocore's batch model) is set carries a stop that did land."""
    if detail is None:
        return Outcome.ALREADY_FINISHED  # gone: ended long ago
    ended = _ended_outcome(detail, reason)
    if ended is not None:
        return ended
    if accepted or detail.get("isTerminated") or detail.get("isCancelled"):
        return _requested(detail)
    return None


def _ended_outcome(detail: Mapping[str, Any], reason: str) -> Outcome | None:
    """How an ended job ended, for a stop that sent `reason`; None while it is active.

    TerminateJob and CancelJob leave their reason as the job's `statusReason`; a job that
    FAILED for any other reason (its container, its timeout, another caller) ended first."""
    status = detail["status"]
    if status in ACTIVE_STATUSES:
        return None
    if status == "FAILED" and reason and reason in detail.get("statusReason", ""):
        return Outcome.STOPPED
    return Outcome.ALREADY_FINISHED


def _requested(detail: Mapping[str, Any]) -> Outcome:
    """An active job after our stop: terminated if it had started, else a pending cancel."""
    if detail["status"] in STARTED_STATUSES:
        return Outcome.STOPPED
    return Outcome.STOP_REQUESTED


def cost_basis(detail: Mapping[str, Any]) -> CostBasis | None:
    """vCPU (and, on Fargate, memory) of one job; None where the job has no single container
    (multi-node, EKS or ECS-properties jobs) to read them from."""
    container = detail.get("container") or {}
    required = {r["type"]: r["value"] for r in container.get("resourceRequirements", [])}
    vcpus = required.get("VCPU", container.get("vcpus"))
    memory = required.get("MEMORY", container.get("memory"))
    if vcpus is None:
        return None
    fargate = "FARGATE" in detail.get("platformCapabilities", [])
    architecture = container.get("runtimePlatform", {}).get("cpuArchitecture", "X86_64")
    return batch_basis(
        "FARGATE" if fargate else "EC2", float(vcpus), float(memory or 0), architecture
    )


def attempt_timeout(detail: Mapping[str, Any]) -> float | None:
    """`timeout.attemptDurationSeconds` in minutes (JobDetail, botocore's batch model): how
    long an attempt may run before Batch terminates it; None when the job sets none."""
    seconds = (detail.get("timeout") or {}).get("attemptDurationSeconds")
    return float(seconds) / 60 if seconds else None


def _is_child(job: Mapping[str, Any]) -> bool:
    """An array child (`<parent>:<index>`) or a multi-node node (`<job>#<node>`): the parent
    or main job speaks for it."""
    job_id: str = job["jobId"]
    return "index" in job.get("arrayProperties", {}) or ":" in job_id or "#" in job_id


def _run_start(detail: Mapping[str, Any]) -> datetime | None:
    if detail["status"] == "RUNNING" and detail.get("startedAt"):
        return _time(detail["startedAt"])
    return None


def _queued_since(detail: Mapping[str, Any]) -> datetime:
    """When the current wait began: creation, or, for a job back in the queue to retry, the
    end of its last attempt (its earlier runs are not queue time)."""
    since = detail["createdAt"]
    if detail["status"] != "RUNNING":
        ends = [a["stoppedAt"] for a in detail.get("attempts", []) if a.get("stoppedAt")]
        since = max([since, *ends])
    return _time(since)


def _mean_concurrency(
    runs: list[tuple[datetime, datetime]], started_at: datetime | None, now: datetime
) -> float:
    """Children running on average since the first started: cost = rate x this x run time."""
    if started_at is None:
        return 1.0
    elapsed = (now - started_at).total_seconds()
    child_seconds = sum((end - start).total_seconds() for start, end in runs)
    return child_seconds / elapsed if elapsed > 0 else float(len(runs))


def _scaled(basis: CostBasis | None, factor: float) -> CostBasis | None:
    if basis is None:
        return None
    return CostBasis(tuple((key, quantity * factor) for key, quantity in basis.components))


def _array_status(status: str, array: Mapping[str, Any]) -> str:
    counts = array.get("statusSummary", {})
    children = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{status} (array of {array['size']}{': ' + children if children else ''})"


def _time(epoch_millis: int) -> datetime:
    return datetime.fromtimestamp(epoch_millis / 1000, UTC)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

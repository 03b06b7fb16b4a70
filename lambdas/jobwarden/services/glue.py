"""Glue job runs: every job's runs newest first, stopped in batches with BatchStopJobRun.

Queue time: a run is queued while it is WAITING (for capacity, or behind the job's
MaxConcurrentRuns with job run queuing) and while it is STARTING (Glue is still acquiring its
workers). In neither does it do any of the job's work yet, and a run held there is what a
policy's `max_queue_minutes` is for; so `started_at` is None, and no run time or cost accrues.
Once RUNNING, `started_at` is StartedOn, the only start time the API gives: GetJobRun has no
time at which a run left STARTING or WAITING, so run time and cost include those minutes of
start-up (an overestimate by the start-up time, never an underestimate).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from jobwarden.eventfields import envelope as read_envelope
from jobwarden.eventfields import optional_iso_time, text
from jobwarden.index import JobEvent
from jobwarden.model import CostBasis, Job, Outcome
from jobwarden.pricing import glue_basis
from jobwarden.services import register
from jobwarden.services.base import (
    Grant,
    Past,
    ServiceAdapter,
    Unreadable,
    error_code,
    isolable,
)

ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "WAITING"})
QUEUED_STATES = frozenset({"STARTING", "WAITING"})
STOPPED_STATES = frozenset({"STOPPING", "STOPPED"})  # what BatchStopJobRun leads to
# A run consumes resources for at most its Timeout, and Glue caps Timeout at 10080 minutes
# (7 days; see the Timeout field of JobRun in botocore's Glue model). Before that clock starts
# a run may wait (WAITING) or start (STARTING); we allow another 7 days for that, so a run
# whose StartedOn is older than 14 days cannot still be active, and listing a job's runs
# newest first can stop there.
MAX_RUN_AGE = timedelta(minutes=10080) * 2
JOBS_PAGE_SIZE = 100  # GetJobs returns whole job definitions; it takes up to 1000
RUNS_PAGE_SIZE = 200  # GetJobRuns' largest page
# BatchGetJobs: the model sets no maximum; 100 names keeps each answer (whole definitions)
# near the size of a GetJobs page.
DEFINITIONS_BATCH = 100
STOP_BATCH = 25  # BatchStopJobRun takes at most 25 run ids, all of one job


def billed_on_use(job: Mapping[str, Any], run: Mapping[str, Any]) -> bool:
    """Flex runs and auto-scaling runs are billed on the DPUs they use, not on the workers
    they may use (`DPUSeconds`, JobRun in botocore's glue model; "--enable-auto-scaling",
    AWS Glue job parameters)."""
    if run.get("ExecutionClass", job.get("ExecutionClass")) == "FLEX":
        return True
    arguments = {**job.get("DefaultArguments", {}), **run.get("Arguments", {})}
    return str(arguments.get("--enable-auto-scaling", "")).lower() == "true"


def cost_basis(
    job: Mapping[str, Any], run: Mapping[str, Any], elapsed_seconds: float
) -> CostBasis | None:
    """What the run is billed on per hour of its run time.

    Where the run reports `DPUSeconds` ("the total time each executor ran ... multiplied by
    a DPU factor", set for Flex and auto-scaling runs), the cost so far is DPUSeconds at the
    worker's rate: spread here as a mean over the elapsed time, so the engine's rate x run
    time gives it back. A run billed on use that reports nothing yet has no estimate (its
    allocated maximum could stop it before it has spent its limit); run-time limits still
    apply. Other runs are billed on their allocated workers (or MaxCapacity).
    """

    def setting(key: str) -> Any:
        """The run's own capacity settings override its job's."""
        return run.get(key, job.get(key))

    used: float | None = None
    if run.get("DPUSeconds") and elapsed_seconds > 0:
        used = float(run["DPUSeconds"]) / elapsed_seconds
    elif billed_on_use(job, run):
        return None
    return glue_basis(
        setting("WorkerType"),
        setting("NumberOfWorkers"),
        setting("MaxCapacity"),
        setting("ExecutionClass"),
        used,
    )


def run_timeout(job: Mapping[str, Any], run: Mapping[str, Any]) -> float | None:
    """The run's Timeout in minutes (JobRun, botocore's glue model: the run's own, else its
    job's); None where neither says (Glue then applies its default, 2880 or 480 minutes by
    Glue version, which the cost-avoided estimate caps at its horizon anyway)."""
    value = run.get("Timeout", job.get("Timeout"))
    return float(value) if value else None


class StopRefused(Exception):
    """BatchStopJobRun refused one run, and the run is still active."""


@register
class GlueJobRuns(ServiceAdapter):
    """Job runs of every Glue job in the region. Glue has no ARN for a run: a run's tags are
    its job's (GetTags on the job ARN), read once per job per sweep.

    The job ARN needs the account id and partition, which GetJobs does not return; they come
    from STS GetCallerIdentity, once per adapter. That call needs no IAM permission (an
    explicit deny cannot block it), so no grant lists it.
    """

    name = "glue"
    grants = (
        Grant(
            ("glue:GetJobs",),
            why_any_resource="GetJobs lists every job in the account; it takes no job ARN",
        ),
        Grant(
            (
                "glue:BatchGetJobs",
                "glue:GetJobRuns",
                "glue:GetJobRun",
                "glue:BatchStopJobRun",
                "glue:GetTags",
            ),
            ("arn:{partition}:glue:{region}:{account}:job/*",),
        ),
    )

    # "Job Run Status" comes only once a run passes its NotifyDelayAfter ("AWS Glue sends
    # Job Run Status events when they exceed the job delay notification threshold", the
    # EventBridge page of the AWS Glue developer guide); the state changes that end a run
    # always come. So a run's start is not evented unless its job sets NotifyDelayAfter: the
    # index cannot know every active run, and sweeps list Glue in full.
    events = (("aws.glue", "Glue Job State Change"), ("aws.glue", "Glue Job Run Status"))
    events_announce_starts = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client = self.clients.client("glue", self.region)
        self._job_arn_prefix = ""
        # Held for the sweep (this adapter's life): nothing read twice in one invocation.
        self._tags: dict[str, dict[str, str]] = {}
        self._definitions: dict[str, dict[str, Any]] = {}

    def list_active(self, now: datetime) -> Iterator[Job | Unreadable]:
        oldest = now - MAX_RUN_AGE
        pages = self._client.get_paginator("get_jobs").paginate(
            PaginationConfig={"PageSize": JOBS_PAGE_SIZE}
        )
        for page in pages:
            for job in page.get("Jobs", []):
                self._definitions[job["Name"]] = job
                yield from self._active_runs(job, oldest, now)

    def list_history(self, since: datetime, now: datetime) -> Iterator[Past | Unreadable]:
        """Every job's runs started since `since`, newest first, every page of them; a job
        whose runs or tags cannot be read is one Unreadable, as in `list_active`."""
        pages = self._client.get_paginator("get_jobs").paginate(
            PaginationConfig={"PageSize": JOBS_PAGE_SIZE}
        )
        for page in pages:
            for job in page.get("Jobs", []):
                name = job["Name"]
                try:
                    runs = list(self._runs_since(name, since))
                    tags = self._job_tags(name) if runs else {}
                except ClientError as error:
                    if error_code(error) == "EntityNotFoundException":
                        continue
                    if not isolable(error):
                        raise
                    yield Unreadable(f"glue job {name}", str(error))
                    continue
                for run in runs:
                    ended = run.get("CompletedOn")
                    found = self.to_job(job, run, tags, ended or now)
                    if isinstance(found, Unreadable):
                        yield found
                        continue
                    if ended and not run.get("ExecutionTime"):
                        # Ended without running (stopped while WAITING or STARTING).
                        found = replace(found, started_at=None)
                    yield Past(found, ended, run["JobRunState"])

    def _runs_since(self, name: str, since: datetime) -> Iterator[dict[str, Any]]:
        pages = self._client.get_paginator("get_job_runs").paginate(
            JobName=name, PaginationConfig={"PageSize": RUNS_PAGE_SIZE}
        )
        for page in pages:
            for run in page.get("JobRuns", []):
                started = run.get("StartedOn")
                if started is not None and started < since:
                    return  # newest first
                yield run

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> JobEvent | None:
        envelope = read_envelope(event)
        detail = envelope.detail
        state = text(detail, "state")
        started_on = optional_iso_time(detail, "startedOn")
        return JobEvent(
            service=cls.name,
            region=envelope.region,
            job_id=text(detail, "jobRunId"),
            name=text(detail, "jobName"),
            state=state,
            active=state in ACTIVE_STATES,
            at=envelope.time,
            submitted_at=started_on,
            running_since=started_on if state not in QUEUED_STATES else None,
        )

    def describe_many(
        self, job_ids: Sequence[str], now: datetime, names: Mapping[str, str] | None = None
    ) -> dict[str, Job]:
        """GetJobRun per run (Glue has no batch read of runs; it needs the job's name with
        the run id: `names` must carry it), then the definitions this sweep does not hold
        yet in BatchGetJobs calls, and each job's tags once."""
        runs: dict[str, dict[str, Any]] = {}
        for run_id in job_ids:
            name = (names or {})[run_id]
            try:
                run = self._client.get_job_run(JobName=name, RunId=run_id)["JobRun"]
            except ClientError as error:
                if error_code(error) != "EntityNotFoundException":
                    raise
                continue  # the job or the run is gone
            if run["JobRunState"] in ACTIVE_STATES:
                runs[run_id] = run
        self._load_definitions({run["JobName"] for run in runs.values()})
        found: dict[str, Job] = {}
        for run_id, run in runs.items():
            definition = self._definitions.get(run["JobName"])
            if definition is None:
                continue  # deleted since its run was read
            try:
                tags = self._job_tags(run["JobName"])
            except ClientError as error:
                if error_code(error) != "EntityNotFoundException":
                    raise
                continue
            job = self.to_job(definition, run, tags, now)
            if isinstance(job, Job):
                found[run_id] = job
        return found

    def _load_definitions(self, names: set[str]) -> None:
        missing = sorted(names - self._definitions.keys())
        for start in range(0, len(missing), DEFINITIONS_BATCH):
            chunk = missing[start : start + DEFINITIONS_BATCH]
            for job in self._client.batch_get_jobs(JobNames=chunk).get("Jobs", []):
                self._definitions[job["Name"]] = job

    def _active_runs(
        self, job: dict[str, Any], oldest: datetime, now: datetime
    ) -> Iterator[Job | Unreadable]:
        """One job's active runs; a job whose runs or tags cannot be read is one Unreadable
        (without its tags an exempt run could be stopped), and the listing goes on."""
        name = job["Name"]
        try:
            runs = list(self._recent_active_runs(name, oldest))
            tags = self._job_tags(name) if runs else {}
        except ClientError as error:
            if error_code(error) == "EntityNotFoundException":
                return  # deleted since GetJobs listed it; its runs went with it
            if not isolable(error):
                raise
            yield Unreadable(f"glue job {name}", str(error))
            return
        for run in runs:
            yield self.to_job(job, run, tags, now)

    def _recent_active_runs(self, name: str, oldest: datetime) -> Iterator[dict[str, Any]]:
        pages = self._client.get_paginator("get_job_runs").paginate(
            JobName=name, PaginationConfig={"PageSize": RUNS_PAGE_SIZE}
        )
        for page in pages:
            for run in page.get("JobRuns", []):
                started = run.get("StartedOn")
                if started is not None and started < oldest:
                    return  # newest first: every later run is older still
                if run["JobRunState"] in ACTIVE_STATES:
                    yield run

    def _job_tags(self, name: str) -> dict[str, str]:
        if name not in self._tags:
            arn = f"{self._arn_prefix()}job/{name}"
            self._tags[name] = self._client.get_tags(ResourceArn=arn).get("Tags", {})
        return self._tags[name]

    def _arn_prefix(self) -> str:
        if not self._job_arn_prefix:
            identity = self.clients.client("sts", self.region).get_caller_identity()
            partition = identity["Arn"].split(":")[1]
            self._job_arn_prefix = f"arn:{partition}:glue:{self.region}:{identity['Account']}:"
        return self._job_arn_prefix

    def to_job(
        self, job: dict[str, Any], run: dict[str, Any], tags: dict[str, str], now: datetime
    ) -> Job | Unreadable:
        """A run as a Job. StartedOn is optional in the model: without it, LastModifiedOn (a
        later time, so queue and run time are underestimated, never overestimated); a run
        with neither cannot be timed and is an Unreadable."""
        state = run["JobRunState"]
        started = run.get("StartedOn") or run.get("LastModifiedOn")
        if started is None:
            return Unreadable(
                f"glue run {run['Id']} of job {run['JobName']}", "it has no StartedOn time"
            )
        return Job(
            service=self.name,
            job_id=run["Id"],
            name=run["JobName"],
            region=self.region,
            status=state,
            submitted_at=started,
            started_at=None if state in QUEUED_STATES else started,
            # WAITING: for capacity or behind MaxConcurrentRuns ("StateDetail ... when a job
            # run is in a WAITING state as a result of job run queuing, the field has the
            # reason", JobRun in botocore's glue model); STARTING: acquiring its workers.
            queue_reason=state if state in QUEUED_STATES else "",
            tags=tags,
            cost_basis=cost_basis(job, run, (now - started).total_seconds()),
            timeout_minutes=run_timeout(job, run),
        )

    def stop(self, job: Job, reason: str) -> Outcome:
        outcome = self.stop_many([(job, reason)])[job.key]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def stop_many(self, requests: Sequence[tuple[Job, str]]) -> dict[str, Outcome | Exception]:
        """One BatchStopJobRun per job and 25 runs. BatchStopJobRun takes no reason: the
        reason lives in the ledger and the alert."""
        by_job: dict[str, list[Job]] = defaultdict(list)
        for job, _reason in requests:
            by_job[job.name].append(job)
        results: dict[str, Outcome | Exception] = {}
        for name, runs in by_job.items():
            for start in range(0, len(runs), STOP_BATCH):
                results.update(self._stop_chunk(name, runs[start : start + STOP_BATCH]))
        return results

    def _stop_chunk(self, name: str, runs: list[Job]) -> dict[str, Outcome | Exception]:
        try:
            response = self._client.batch_stop_job_run(
                JobName=name, JobRunIds=[run.job_id for run in runs]
            )
        except Exception as error:  # noqa: BLE001 - the whole call failed: read each run back
            return {run.key: self._settled(run, error) for run in runs}
        submitted = {s["JobRunId"] for s in response.get("SuccessfulSubmissions", [])}
        refused = {e["JobRunId"]: e.get("ErrorDetail", {}) for e in response.get("Errors", [])}
        results: dict[str, Outcome | Exception] = {}
        for run in runs:
            if run.job_id in submitted:
                results[run.key] = Outcome.STOPPED
                continue
            detail = refused.get(run.job_id)
            refusal = (
                f"{run.job_id}: {detail.get('ErrorCode', 'unknown error')}: "
                f"{detail.get('ErrorMessage', '')}"
                if detail is not None
                else f"BatchStopJobRun did not answer for {run.job_id}"
            )
            results[run.key] = self._settled(run, StopRefused(refusal))
        return results

    def _settled(self, run: Job, error: Exception) -> Outcome | Exception:
        """Glue does not document which per-run error means "already ended", and a refusal
        may answer botocore's retry of a request whose response was lost: read the run back.
        STOPPING or STOPPED after our request is our stop; another end came first."""
        try:
            outcome = self.read_back(run, "")
        except Exception as read_error:  # noqa: BLE001 - reported for this run only
            return StopRefused(f"{error}; reading the run failed: {read_error}")
        return error if outcome is None else outcome

    def read_back(self, job: Job, reason: str) -> Outcome | None:
        try:
            run = self._client.get_job_run(JobName=job.name, RunId=job.job_id)["JobRun"]
        except ClientError as error:
            if error_code(error) != "EntityNotFoundException":
                raise
            return Outcome.ALREADY_FINISHED  # the job, and its runs, were deleted
        state = run["JobRunState"]
        if state in ACTIVE_STATES:
            return None
        return Outcome.STOPPED if state in STOPPED_STATES else Outcome.ALREADY_FINISHED

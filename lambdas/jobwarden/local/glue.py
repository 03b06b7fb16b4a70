"""Glue job runs that stay starting, waiting or running until a test or the demo moves them on.

Jobs (CreateJob, GetJobs, GetJob, GetTags) stay in moto. Its job runs do not fit, so this fill
owns them (StartJobRun, GetJobRuns, GetJobRun, BatchStopJobRun) and reads the job definitions
from moto:

- moto has no BatchStopJobRun, no WAITING, STOPPING or STOPPED, and ignores job run queuing;
- its runs move on through the process-wide `moto_api.state_manager` (default: SUCCEEDED on
  the first read). "glue::job_run" with `{"progression": "manual", "times": N}` moves every
  run in the process one state on every N reads (STARTING, RUNNING, SUCCEEDED), never WAITING;
- its GetJobRuns answers oldest first, and every run carries a CompletedOn and an
  ExecutionTime of 123 while it runs.

Writing our stop into moto's run objects would still leave every read to be rewritten, so the
runs live here. Runs never move on their own (no TIMEOUT either): `advance` and `finish` move
them.

Where each behaviour comes from (beyond what botocore's model allows):
- A run starts STARTING; past the job's MaxConcurrentRuns it is WAITING when the run asks for
  job run queuing and refused with ConcurrentRunsExceededException when it does not: the
  model's documentation of `JobRunQueuingEnabled` ("If false or not populated, the job run will
  not be considered for queueing") and of JobRunState, and StartJobRun's declared errors.
  **Assumption**: moto keeps no job-level queuing setting, so only the run's own counts.
- GetJobRuns answers newest first: the model ("returns the job runs in chronological order,
  with the newest jobs returned first"). **Assumption**: 100 runs a page without MaxResults
  (Glue documents no default).
- BatchStopJobRun moves active runs to STOPPING and lists them in `SuccessfulSubmissions`:
  the CLI example (aws/aws-cli, awscli/examples/glue/batch-stop-job-run.rst) and Glue's
  "Job Run Status" STOPPING event sample (tests/events/README.md). **Assumption**: every other
  id is an entry of `Errors` with ErrorCode EntityNotFoundException (unknown run) or
  InvalidInputException (ended run); Glue does not document these codes.
- Run fields as the CLI examples show them (get-job-run.rst, get-job-runs.rst): Attempt 0,
  Arguments (the job's DefaultArguments under the run's), PredecessorRuns, Timeout (the job's,
  else 2880 minutes, the model's default for Glue 4.0 and earlier), LogGroupName, GlueVersion,
  WorkerType and NumberOfWorkers or MaxCapacity. **Assumption**: ExecutionTime is 0 while a
  run is active and, once it ends, the seconds since it entered RUNNING ("the amount of time
  (in seconds) that the job run consumed resources", model); CompletedOn only once it ends.
- **Assumption**: WAITING and STARTING may alternate; once RUNNING a run stays RUNNING until it
  ends (`advance` enforces this).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import time_machine

from jobwarden.aws import Clients
from jobwarden.local.emulator import ACCOUNT_ID, AwsError, Emulator, Handler, ServiceFill, page

ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "WAITING"})
ENDED_STATES = frozenset({"STOPPED", "SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED"})
PAGE_SIZE = 100  # GetJobRuns without MaxResults: assumed (Glue does not document its default)
DEFAULT_TIMEOUT_MINUTES = 2880  # Glue 4.0 and earlier, per the Timeout field's doc string
QUEUED_DETAIL = "Job run is waiting for resources: the job's MaxConcurrentRuns is reached"


class GlueRunsFill(ServiceFill):
    service = "glue"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # region -> job name -> runs in start order; each run is the API's JobRun dict.
        self.runs: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._running_since: dict[str, datetime] = {}  # run id -> when it entered RUNNING

    def operations(self) -> dict[str, Handler]:
        return {
            "StartJobRun": self.start_job_run,
            "GetJobRuns": self.get_job_runs,
            "GetJobRun": self.get_job_run,
            "BatchStopJobRun": self.batch_stop_job_run,
        }

    # --- the API ---------------------------------------------------------------------------

    def start_job_run(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        """STARTING; past the job's MaxConcurrentRuns, WAITING with job run queuing (the
        run's JobRunQueuingEnabled; moto does not keep the job's) or refused without it."""
        job = _job(params["JobName"], region)
        runs = self.runs[region][job["Name"]]
        busy = sum(run["JobRunState"] in ACTIVE_STATES for run in runs)
        queued = busy >= job.get("ExecutionProperty", {}).get("MaxConcurrentRuns", 1)
        if queued and not params.get("JobRunQueuingEnabled"):
            raise AwsError(
                "ConcurrentRunsExceededException", f"Concurrent runs exceeded for {job['Name']}"
            )
        now = self.now()
        run: dict[str, Any] = {
            "Id": f"jr_{uuid.uuid4().hex}{uuid.uuid4().hex}",
            "Attempt": 0,
            "JobName": job["Name"],
            "JobRunQueuingEnabled": bool(params.get("JobRunQueuingEnabled")),
            "StartedOn": now,
            "LastModifiedOn": now,
            "JobRunState": "WAITING" if queued else "STARTING",
            "Arguments": {**job.get("DefaultArguments", {}), **params.get("Arguments", {})},
            "PredecessorRuns": [],
            "ExecutionTime": 0,  # assumed: Glue reports the seconds consumed once a run ends
            "Timeout": params.get("Timeout", job.get("Timeout", DEFAULT_TIMEOUT_MINUTES)),
            "LogGroupName": "/aws-glue/jobs",
            "ExecutionClass": params.get("ExecutionClass", job.get("ExecutionClass", "STANDARD")),
            **_capacity(job, params),
        }
        if "JobRunId" in params:
            run["PreviousRunId"] = params["JobRunId"]
        if "GlueVersion" in job:
            run["GlueVersion"] = job["GlueVersion"]
        if queued:
            run["StateDetail"] = QUEUED_DETAIL
        runs.append(run)
        return {"JobRunId": run["Id"]}

    def get_job_runs(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        """Newest first, as Glue documents; MaxResults per page."""
        _job(params["JobName"], region)
        runs = self.runs[region][params["JobName"]]
        newest_first = [run for _, run in sorted(enumerate(runs), key=_newest_first)]
        size = params.get("MaxResults", PAGE_SIZE)
        found, token = page(newest_first, params.get("NextToken"), size)
        return {"JobRuns": found, **({"NextToken": token} if token else {})}

    def get_job_run(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        _job(params["JobName"], region)
        run = self._run(region, params["JobName"], params["RunId"])
        if run is None:
            raise AwsError("EntityNotFoundException", f"Job run {params['RunId']} not found")
        return {"JobRun": run}

    def batch_stop_job_run(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        """Active runs go to STOPPING; each other id is one entry of `Errors`.

        Glue does not document the per-run error codes; these are assumptions, and the
        adapter does not depend on them (it re-reads any run whose stop was refused).
        """
        stopped: list[dict[str, str]] = []
        errors: list[dict[str, Any]] = []
        name = params["JobName"]
        for run_id in params["JobRunIds"]:
            run = self._run(region, name, run_id)
            if run is None:
                errors.append(_stop_error(name, run_id, "EntityNotFoundException", "not found"))
            elif run["JobRunState"] not in ACTIVE_STATES:
                state = run["JobRunState"]
                errors.append(_stop_error(name, run_id, "InvalidInputException", f"run is {state}"))
            else:
                self._move(run, "STOPPING")
                stopped.append({"JobName": name, "JobRunId": run_id})
        return {"SuccessfulSubmissions": stopped, "Errors": errors}

    # --- controls for tests and the demo ----------------------------------------------------

    def advance(self, run_id: str, state: str) -> dict[str, Any]:
        """Move an active run to another active state at the emulator's current time.

        A run may go back and forth between WAITING and STARTING while it acquires
        resources; once RUNNING it stays RUNNING until it ends.
        """
        run = self._find(run_id)
        if state not in ACTIVE_STATES:
            raise ValueError(f"{state} is not an active state; use finish()")
        if run["JobRunState"] not in ACTIVE_STATES:
            raise ValueError(f"run {run_id} has already ended ({run['JobRunState']})")
        if run["JobRunState"] == "RUNNING" and state != "RUNNING":
            raise ValueError(f"run {run_id} is already running")
        self._move(run, state)
        return run

    def report_usage(self, run_id: str, dpu_seconds: float) -> dict[str, Any]:
        """Set the DPU-seconds a Flex or auto-scaling run reports having used (`DPUSeconds`,
        JobRun in botocore's glue model; whether Glue updates it while the run is active is
        not documented: tests set it either way)."""
        run = self._find(run_id)
        run["DPUSeconds"] = float(dpu_seconds)
        return run

    def finish(self, run_id: str, state: str = "SUCCEEDED") -> dict[str, Any]:
        """End a run (a stopping one too) in `state`, at the emulator's current time."""
        if state not in ENDED_STATES:
            raise ValueError(f"{state} is not a final state")
        run = self._find(run_id)
        if run["JobRunState"] in ENDED_STATES:
            raise ValueError(f"run {run_id} has already ended ({run['JobRunState']})")
        self._move(run, state)
        return run

    def _move(self, run: dict[str, Any], state: str) -> None:
        now = self.now()
        run.pop("StateDetail", None)
        if state == "RUNNING":
            self._running_since[run["Id"]] = now
        if state in ENDED_STATES:
            since = self._running_since.get(run["Id"])
            run["ExecutionTime"] = int((now - since).total_seconds()) if since else 0
            run["CompletedOn"] = now
        run.update(JobRunState=state, LastModifiedOn=now)

    def _run(self, region: str, job_name: str, run_id: str) -> dict[str, Any] | None:
        return next((r for r in self.runs[region][job_name] if r["Id"] == run_id), None)

    def _find(self, run_id: str) -> dict[str, Any]:
        for jobs in self.runs.values():
            for runs in jobs.values():
                for run in runs:
                    if run["Id"] == run_id:
                        return run
        raise KeyError(run_id)


def _newest_first(indexed: tuple[int, dict[str, Any]]) -> tuple[float, int]:
    index, run = indexed
    return (-run["StartedOn"].timestamp(), -index)


def _job(name: str, region: str) -> dict[str, Any]:
    """The job definition as moto's GetJob answers it."""
    from moto.glue.models import glue_backends

    jobs = glue_backends[ACCOUNT_ID][region].jobs
    if name not in jobs:
        raise AwsError("EntityNotFoundException", f"Job {name} not found")
    return {k: v for k, v in jobs[name].as_dict().items() if v is not None}


def _capacity(job: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Workers (type and count), else MaxCapacity: the request's settings over the job's."""
    worker_type = params.get("WorkerType", job.get("WorkerType"))
    if worker_type:
        workers = params.get("NumberOfWorkers", job.get("NumberOfWorkers"))
        return {"WorkerType": worker_type, **({"NumberOfWorkers": workers} if workers else {})}
    capacity = params.get("MaxCapacity", job.get("MaxCapacity"))
    return {"MaxCapacity": capacity} if capacity else {}


def _stop_error(job_name: str, run_id: str, code: str, message: str) -> dict[str, Any]:
    return {
        "JobName": job_name,
        "JobRunId": run_id,
        "ErrorDetail": {"ErrorCode": code, "ErrorMessage": message},
    }


# --- account set-up, and the demo -----------------------------------------------------------


def create_glue_job(
    clients: Clients,
    name: str,
    tags: dict[str, str] | None = None,
    *,
    worker_type: str | None = "G.1X",
    workers: int = 2,
    max_concurrent_runs: int = 1,
    region: str | None = None,
    **extra: Any,
) -> None:
    """A Spark ETL job (or, with `worker_type=None` and `MaxCapacity`, a capacity job)."""
    capacity = {"WorkerType": worker_type, "NumberOfWorkers": workers} if worker_type else {}
    clients.client("glue", region).create_job(
        Name=name,
        Role=f"arn:aws:iam::{ACCOUNT_ID}:role/glue-service-role",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://glue-scripts/{name}.py"},
        GlueVersion="4.0",
        ExecutionProperty={"MaxConcurrentRuns": max_concurrent_runs},
        Tags=tags or {},
        **capacity,
        **extra,
    )


DEMO_POLICIES: dict[str, dict[str, Any]] = {
    "glue-cost": {
        "description": "A Glue run may spend $5 and wait 30 minutes for capacity.",
        "match": {"services": ["glue"]},
        "limits": {"max_cost_usd": 5, "max_queue_minutes": 30},
        "action": "stop",
        "priority": 50,
    },
}


def seed_demo(emulator: Emulator, clients: Clients, now: datetime) -> dict[str, str]:
    """A run over its cost limit and a healthy one, each after a week of finished runs."""
    glue = clients.client("glue")
    fill: GlueRunsFill = emulator.fill("glue")
    create_glue_job(clients, "nightly-aggregate", {"team": "data"}, worker_type="G.2X", workers=10)
    create_glue_job(clients, "hourly-ingest", {"team": "ingest"}, worker_type="G.1X", workers=2)

    def start(job: str, ago: timedelta, running_after: timedelta, minutes: int = 0) -> str:
        with time_machine.travel(now - ago, tick=False):
            run_id: str = glue.start_job_run(JobName=job)["JobRunId"]
        with time_machine.travel(now - ago + running_after, tick=False):
            fill.advance(run_id, "RUNNING")
        if minutes:
            with time_machine.travel(now - ago + timedelta(minutes=minutes), tick=False):
                fill.finish(run_id)
        return run_id

    for day in range(7, 0, -1):
        start("nightly-aggregate", timedelta(days=day, hours=2), timedelta(minutes=1), 40)
    return {
        "nightly-aggregate (G.2X x 10, running 2 h, $5 limit)": start(
            "nightly-aggregate", timedelta(hours=2), timedelta(minutes=1)
        ),
        "hourly-ingest (G.1X x 2, healthy, 20 min)": start(
            "hourly-ingest", timedelta(minutes=21), timedelta(minutes=1)
        ),
    }


def describe_for_demo(clients: Clients, ids: dict[str, str]) -> dict[str, str]:
    """Run id -> its state, read back through GetJobs and GetJobRuns."""
    glue = clients.client("glue")
    wanted = set(ids.values())
    states: dict[str, str] = {}
    for jobs in glue.get_paginator("get_jobs").paginate():
        for job in jobs.get("Jobs", []):
            for runs in glue.get_paginator("get_job_runs").paginate(JobName=job["Name"]):
                for run in runs.get("JobRuns", []):
                    if run["Id"] in wanted:
                        states[run["Id"]] = run["JobRunState"]
    return states

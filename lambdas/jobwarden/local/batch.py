"""AWS Batch jobs that stay in whatever status a test or the demo puts them in.

moto's Batch runs each job in a Docker container or, told not to use Docker, ends it at once,
and pages neither ListJobs nor DescribeJobQueues. This fill owns jobs (SubmitJob, ListJobs,
DescribeJobs, TerminateJob, CancelJob). Job queues, compute environments and job definitions
stay in moto, which SubmitJob reads them from; DescribeJobQueues stays unpaged there.

Where each behaviour comes from (beyond what botocore's model allows):
- ListJobs answers up to 1000 jobs a page, with or without `maxResults`: the model's
  `maxResults` documentation ("When --job-status is used, Batch returns up to 1000 values";
  "If neither parameter is used, then ListJobs returns up to 1000 results (jobs that are in
  the RUNNING status)"), which also gives RUNNING as the status listed by default. Its summaries
  carry no `startedAt` until a job runs. **Assumption**: a `maxResults` above 1000 gets pages of
  1000 rather than an error.
- DescribeJobs omits `startedAt` until a job runs, though the model marks it required: the CLI
  example (aws/aws-cli, awscli/examples/batch/describe-jobs.rst, a SUBMITTED job) and Batch's
  RUNNABLE state-change event sample (tests/events/README.md) both leave it out.
  `startedAt` is stamped on the move from STARTING to RUNNING (the model's documentation of
  `startedAt`), `stoppedAt` when the job ends.
- TerminateJob ends a job in any active status as FAILED with the reason as `statusReason`
  ("Jobs that are in the STARTING or RUNNING state are terminated, which causes them to
  transition to FAILED. Jobs that have not progressed to the STARTING state are cancelled");
  CancelJob ends only SUBMITTED, PENDING and RUNNABLE jobs and "still succeeds, even if no job
  is cancelled" (both from the operations' documentation in the model). **Assumption**: both
  take effect at once, though "A PENDING job is cancelled after all dependency jobs are
  completed"; and TerminateJob on a job that has already ended succeeds and changes nothing.
- Jobs move only forward, by `set_status`. An array job's children are `<parent>:<index>`; the
  parent carries `statusSummary` (model). **Assumption**: the parent is PENDING once any child
  has moved on, and ends SUCCEEDED or FAILED with its last child.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import time_machine

from jobwarden.aws import Clients
from jobwarden.local.emulator import ACCOUNT_ID, AwsError, Emulator, Handler, ServiceFill, page

STATUS_ORDER = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
QUEUED = frozenset({"SUBMITTED", "PENDING", "RUNNABLE"})
FINISHED = frozenset({"SUCCEEDED", "FAILED"})
ALL_STATUSES = (*STATUS_ORDER, "SUCCEEDED", "FAILED")
DEFAULT_PAGE_SIZE = 1000  # ListJobs without maxResults (the model's documentation)
MAX_PAGE_SIZE = 1000
DESCRIBE_LIMIT = 100
REASON_LIMIT = 1024
JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
# The fields of a job definition's containerProperties that a job's ContainerDetail repeats.
CONTAINER_FIELDS = (
    "image",
    "command",
    "vcpus",
    "memory",
    "resourceRequirements",
    "runtimePlatform",
    "environment",
    "jobRoleArn",
    "executionRoleArn",
    "instanceType",
    "user",
    "fargatePlatformConfiguration",
    "networkConfiguration",
)
SUMMARY_FIELDS = (
    "jobArn",
    "jobId",
    "jobName",
    "createdAt",
    "status",
    "statusReason",
    "startedAt",
    "stoppedAt",
    "jobDefinition",
)
SERVICE_ROLE = "jobwarden-emulated-batch-service-role"


class BatchFill(ServiceFill):
    service = "batch"
    # botocore's model marks JobDetail.startedAt required, but Batch leaves it out until a
    # job runs (moto does too, and so do Batch's own state-change events).
    omitted_required: ClassVar[dict[str, frozenset[str]]] = {"JobDetail": frozenset({"startedAt"})}

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.jobs: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # region -> id
        self.children: dict[str, list[str]] = {}  # array parent id -> child ids

    def operations(self) -> dict[str, Handler]:
        return {
            "SubmitJob": self.submit_job,
            "ListJobs": self.list_jobs,
            "DescribeJobs": self.describe_jobs,
            "TerminateJob": self.terminate_job,
            "CancelJob": self.cancel_job,
        }

    # --- the API ---------------------------------------------------------------------------

    def submit_job(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if not JOB_NAME.match(params["jobName"]):
            raise AwsError("ClientException", f"Job name {params['jobName']!r} is not valid")
        queue = self._queue(params["jobQueue"], region)
        if queue.state != "ENABLED":
            raise AwsError("ClientException", f"Job queue {queue.name} is not enabled")
        definition = _backend(region).get_job_definition(params["jobDefinition"])
        if definition is None or definition.status != "ACTIVE":
            raise AwsError(
                "ClientException", f"Job definition {params['jobDefinition']} does not exist"
            )
        if definition.type != "container" or definition.container_properties is None:
            raise NotImplementedError("only container job definitions are emulated")
        job_id = str(uuid.uuid4())
        job = {
            "jobArn": _job_arn(region, job_id),
            "jobName": params["jobName"],
            "jobId": job_id,
            "jobQueue": queue.arn,
            "status": "SUBMITTED",
            "attempts": [],
            "createdAt": self._millis(),
            "jobDefinition": definition.arn,
            "container": _container(definition.container_properties, params),
            "platformCapabilities": list(definition.platform_capabilities or []),
            "propagateTags": params.get("propagateTags", definition.propagate_tags or False),
            **({"tags": params["tags"]} if params.get("tags") else {}),
            **({"timeout": params["timeout"]} if "timeout" in params else {}),
            # Carried into the job's detail as submitted (JobDetail in botocore's batch model).
            **{
                field: params[source]
                for source, field in (
                    ("parameters", "parameters"),
                    ("retryStrategy", "retryStrategy"),
                    ("shareIdentifier", "shareIdentifier"),
                    ("schedulingPriorityOverride", "schedulingPriority"),
                )
                if source in params
            },
        }
        self.jobs[region][job_id] = job
        size = params.get("arrayProperties", {}).get("size")
        if size:
            self.children[job_id] = []
            for index in range(size):
                child_id = f"{job_id}:{index}"
                child = {
                    **job,
                    "jobId": child_id,
                    "jobArn": _job_arn(region, child_id),
                    "arrayProperties": {"index": index},
                }
                self.jobs[region][child_id] = child
                self.children[job_id].append(child_id)
            self._refresh_parent(job_id)
        return {"jobArn": job["jobArn"], "jobName": job["jobName"], "jobId": job_id}

    def list_jobs(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if "multiNodeJobId" in params:
            raise NotImplementedError("ListJobs for multi-node jobs is not emulated")
        named = _name_filter(params.get("filters", []))
        status = params.get("jobStatus", "RUNNING")  # the service's default
        if "arrayJobId" in params:
            ids = self.children.get(params["arrayJobId"], [])
            jobs = [self.jobs[region][i] for i in ids if i in self.jobs[region]]
        elif "jobQueue" in params:
            queue_arn = self._queue(params["jobQueue"], region).arn
            jobs = [
                j
                for j in self.jobs[region].values()
                if j["jobQueue"] == queue_arn and "index" not in j.get("arrayProperties", {})
            ]
        else:
            raise AwsError("ClientException", "Specify a job queue or an array job id")
        size = params.get("maxResults", DEFAULT_PAGE_SIZE)
        if size < 1:
            raise AwsError("ClientException", "maxResults must be at least 1")
        size = min(size, MAX_PAGE_SIZE)  # assumption: a larger maxResults still pages 1000
        if named is not None:  # every status, newest first, by name (the filter's documentation)
            found = sorted((j for j in jobs if named(j["jobName"])), key=lambda j: -j["createdAt"])
            matching = [_summary(j) for j in found]
        else:
            matching = [_summary(j) for j in jobs if j["status"] == status]
        try:
            summaries, token = page(matching, params.get("nextToken"), size)
        except AwsError as error:
            raise AwsError("ClientException", error.message) from None
        return {"jobSummaryList": summaries, **({"nextToken": token} if token else {})}

    def describe_jobs(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if len(params["jobs"]) > DESCRIBE_LIMIT:
            raise AwsError("ClientException", f"at most {DESCRIBE_LIMIT} jobs per call")
        jobs = self.jobs[region]
        found = [jobs[_job_id(i)] for i in params["jobs"] if _job_id(i) in jobs]
        return {"jobs": found}

    def terminate_job(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        """Ends a job in any active status; a job that has already ended is left as it was
        and the call still succeeds."""
        self._stop(self._job_to_stop(params, region), params["reason"], lambda job: True)
        return {}

    def cancel_job(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        """Ends a job that has not reached STARTING; any other job is left as it was and the
        call still succeeds (such jobs need TerminateJob)."""
        job = self._job_to_stop(params, region)
        self._stop(job, params["reason"], lambda job: job["status"] in QUEUED)
        return {}

    # --- controls for tests and the demo ----------------------------------------------------

    def set_status(self, job_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
        """Move a job (or an array child) forward to `status` at the emulator's current time."""
        job = self._find(job_id)
        if job_id in self.children:
            raise ValueError(f"{job_id} is an array job: move its children")
        current = job["status"]
        if current in FINISHED:
            raise ValueError(f"job {job_id} has already finished")
        if status in FINISHED:
            if status == "SUCCEEDED" and "startedAt" not in job:
                job["startedAt"] = self._millis()  # it must have run to succeed
            self._finish(job, status, reason)
            return job
        if STATUS_ORDER.index(status) <= STATUS_ORDER.index(current):
            raise ValueError(f"job {job_id} is already past {status}")
        job["status"] = status
        if status == "RUNNING":
            job["startedAt"] = self._millis()
        if reason is not None:
            job["statusReason"] = reason
        self._refresh_parent(_parent_id(job_id))
        return job

    # --- internals -------------------------------------------------------------------------

    def _stop(
        self, job: dict[str, Any], reason: str, applies: Callable[[dict[str, Any]], bool]
    ) -> None:
        """End `job` as FAILED where `applies`; an array parent by ending its children."""
        if job["status"] in FINISHED or not applies(job):
            return
        if job["jobId"] in self.children:
            job["statusReason"] = reason
            for child in self._children_of(job):
                self._stop(child, reason, applies)
            return
        self._finish(job, "FAILED", reason)

    def _finish(self, job: dict[str, Any], status: str, reason: str | None) -> None:
        job.update(status=status, stoppedAt=self._millis())
        if reason is not None:
            job["statusReason"] = reason
        self._refresh_parent(_parent_id(job["jobId"]))

    def _refresh_parent(self, parent_id: str | None) -> None:
        """An array parent's status follows its children: PENDING once any has moved on,
        SUCCEEDED when all have, FAILED when all have ended and any failed."""
        if parent_id is None or parent_id not in self.children:
            return
        parent = self._find(parent_id)
        children = [self._find(c) for c in self.children[parent_id]]
        counts = Counter(c["status"] for c in children)
        if all(c["status"] in FINISHED for c in children):
            status = "SUCCEEDED" if counts["SUCCEEDED"] == len(children) else "FAILED"
        else:
            status = "SUBMITTED" if counts["SUBMITTED"] == len(children) else "PENDING"
        now = self._millis()
        if status in FINISHED and parent["status"] not in FINISHED:
            parent["stoppedAt"] = now
        parent["status"] = status
        parent["arrayProperties"] = {
            "statusSummary": {s: counts[s] for s in ALL_STATUSES},
            "statusSummaryLastUpdatedAt": now,
            "size": len(children),
        }

    def _children_of(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._find(c) for c in self.children.get(job["jobId"], [])]

    def _job_to_stop(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        if len(params["reason"]) > REASON_LIMIT:
            raise AwsError("ClientException", f"reason is longer than {REASON_LIMIT} characters")
        job = self.jobs[region].get(params["jobId"])
        if job is None:
            raise AwsError("ClientException", f"Job {params['jobId']} not found")
        return job

    def _find(self, job_id: str) -> dict[str, Any]:
        for jobs in self.jobs.values():
            if job_id in jobs:
                return jobs[job_id]
        raise KeyError(job_id)

    def _millis(self) -> int:
        return int(self.now().timestamp() * 1000)

    @staticmethod
    def _queue(identifier: str, region: str) -> Any:
        queue = _backend(region).get_job_queue(identifier)
        if queue is None:
            raise AwsError("ClientException", f"Job queue {identifier} does not exist")
        return queue


def _backend(region: str) -> Any:
    from moto.batch.models import batch_backends

    return batch_backends[ACCOUNT_ID][region]


def _job_arn(region: str, job_id: str) -> str:
    return f"arn:aws:batch:{region}:{ACCOUNT_ID}:job/{job_id}"


def _job_id(id_or_arn: str) -> str:
    return id_or_arn.rsplit("/", 1)[-1]


def _parent_id(job_id: str) -> str | None:
    return job_id.split(":", 1)[0] if ":" in job_id else None


def _container(properties: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The definition's container, with the submission's overrides applied."""
    container = {k: properties[k] for k in CONTAINER_FIELDS if properties.get(k) not in (None, [])}
    overrides = params.get("containerOverrides", {})
    for key in ("command", "environment", "vcpus", "memory", "instanceType"):
        if key in overrides:
            container[key] = overrides[key]
    required = {r["type"]: r for r in container.get("resourceRequirements", [])}
    required.update({r["type"]: r for r in overrides.get("resourceRequirements", [])})
    if required:
        container["resourceRequirements"] = list(required.values())
    return container


def _name_filter(filters: list[dict[str, Any]]) -> Callable[[str], bool] | None:
    """ListJobs' JOB_NAME filter: "a case-insensitive match for the job name. If the value ends
    with an asterisk (*), the filter matches any job name that begins with the string before
    the '*'"; "Only one filter can be used at a time", and with one `jobStatus` is ignored
    (`filters` in botocore's batch model). Other filters are not emulated."""
    if not filters:
        return None
    if len(filters) > 1:
        raise AwsError("ClientException", "Only one filter can be used at a time")
    (only,) = filters
    if only["name"] != "JOB_NAME":
        raise NotImplementedError(f"the ListJobs filter {only['name']} is not emulated")
    (value,) = only["values"]
    wanted = value.lower()
    if wanted.endswith("*"):
        return lambda name: name.lower().startswith(wanted[:-1])
    return lambda name: name.lower() == wanted


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    """The job's ListJobs entry (JobSummary), which omits `startedAt` until the job runs."""
    summary: dict[str, Any] = {k: job[k] for k in SUMMARY_FIELDS if k in job}
    array = job.get("arrayProperties", {})
    if array:
        summary["arrayProperties"] = {k: array[k] for k in ("size", "index") if k in array}
    return summary


# --- resources, for tests and the demo -------------------------------------------------------


def create_job_queue(
    clients: Clients, name: str, tags: dict[str, str] | None = None, region: str | None = None
) -> str:
    """A job queue on its own unmanaged compute environment; returns the queue's ARN."""
    iam = clients.client("iam", region)
    try:
        role_arn = iam.get_role(RoleName=SERVICE_ROLE)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role_arn = iam.create_role(
            RoleName=SERVICE_ROLE,
            AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}',
        )["Role"]["Arn"]
    batch = clients.client("batch", region)
    environment = batch.create_compute_environment(
        computeEnvironmentName=f"{name}-environment",
        type="UNMANAGED",
        state="ENABLED",
        serviceRole=role_arn,
    )["computeEnvironmentArn"]
    queue_arn: str = batch.create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        **({"tags": tags} if tags else {}),
    )["jobQueueArn"]
    return queue_arn


def register_job_definition(
    clients: Clients,
    name: str,
    *,
    vcpus: float = 1,
    memory_mib: int = 2048,
    fargate: bool = False,
    architecture: str | None = None,
    region: str | None = None,
) -> str:
    """A container job definition sized with resourceRequirements; returns its ARN."""
    properties: dict[str, Any] = {
        "image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
        "command": ["sleep", "3600"],
        "resourceRequirements": [
            {"type": "VCPU", "value": f"{vcpus:g}"},
            {"type": "MEMORY", "value": str(memory_mib)},
        ],
    }
    if architecture:
        properties["runtimePlatform"] = {"cpuArchitecture": architecture}
    arn: str = clients.client("batch", region).register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties=properties,
        platformCapabilities=["FARGATE" if fargate else "EC2"],
    )["jobDefinitionArn"]
    return arn


# --- the demo --------------------------------------------------------------------------------

# What Batch says about a RUNNABLE job no compute environment of its queue can place.
UNPLACEABLE_REASON = (
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU)"
    " is higher than that can be met by the CE(s) attached to the job queue."
)
DEMO_POLICIES: dict[str, dict[str, Any]] = {
    "batch-queue-time": {
        "description": "A Batch job waiting an hour for capacity will not be placed: "
        "no compute environment fits it. Free the queue.",
        "match": {"services": ["batch"]},
        "limits": {"max_queue_minutes": 60, "max_run_minutes": 240},
        "action": "stop",
        "priority": 100,
    },
}


def seed_demo(emulator: Emulator, clients: Clients, now: datetime) -> dict[str, str]:
    """One job stuck in RUNNABLE for 5 hours (it asks for more vCPUs than its queue's compute
    environment has, and says so), and one healthy job running for 40 minutes."""
    fill: BatchFill = emulator.fill("batch")
    batch = clients.client("batch")
    create_job_queue(clients, "analytics", {"team": "data"})
    register_job_definition(clients, "genome-align", vcpus=64, memory_mib=262144)
    register_job_definition(clients, "daily-report", vcpus=2, memory_mib=4096, fargate=True)

    def submit(name: str, definition: str, ago: timedelta, reason: str | None = None) -> str:
        with time_machine.travel(now - ago, tick=False):
            job_id: str = batch.submit_job(
                jobName=name, jobQueue="analytics", jobDefinition=definition
            )["jobId"]
            fill.set_status(job_id, "PENDING")
        with time_machine.travel(now - ago + timedelta(seconds=30), tick=False):
            fill.set_status(job_id, "RUNNABLE", reason)
        return job_id

    stuck = submit("genome-align-chr7", "genome-align", timedelta(hours=5), UNPLACEABLE_REASON)
    healthy = submit("daily-report", "daily-report", timedelta(minutes=42))
    with time_machine.travel(now - timedelta(minutes=41), tick=False):
        fill.set_status(healthy, "STARTING")
    with time_machine.travel(now - timedelta(minutes=40), tick=False):
        fill.set_status(healthy, "RUNNING")
    return {
        "genome-align-chr7 (RUNNABLE 5 h, 60 min queue limit)": stuck,
        "daily-report (healthy, running 40 min)": healthy,
    }


def describe_for_demo(clients: Clients, ids: dict[str, str]) -> dict[str, str]:
    """Each job's status as DescribeJobs reports it (ids: label -> job id)."""
    jobs = clients.client("batch").describe_jobs(jobs=list(ids.values()))["jobs"]
    return {job["jobId"]: job["status"] for job in jobs}

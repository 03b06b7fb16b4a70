"""The demo's waste that timeouts miss (issue 13): a superseded Amplify build, a Batch job
waiting for a hopeless reason, one stuck on capacity past its limit (resubmitted to a fallback
queue) and one waiting for capacity within its limit.

Its own module, like a fill's demo section (`DEMO_POLICIES`, `seed_demo`,
`describe_for_demo`), so the other demos' scenarios stay as they are. The Batch reasons are
the `statusReason` texts the Batch user guide prints ("Jobs stuck in a RUNNABLE status").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import time_machine

from jobwarden.aws import Clients
from jobwarden.local.amplify import create_app, start_job
from jobwarden.local.batch import BatchFill, create_job_queue, register_job_definition
from jobwarden.local.emulator import Emulator
from jobwarden.services.amplify import parse_id
from jobwarden.services.batch import RESUBMIT_OF_TAG

HOPELESS = (
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue "
    "cannot meet the CPU requirement of the job."
)
NO_CAPACITY = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity "
    "requirements for this job."
)
FALLBACK_QUEUE = "overflow"
MINUTE = timedelta(minutes=1)

DEMO_POLICIES: dict[str, dict[str, Any]] = {
    "blog-superseded": {
        "description": "A newer build of a branch makes the older one pointless: stop it.",
        "match": {"services": ["amplify"], "names": ["blog/*"]},
        "limits": {"max_run_minutes": 60},
        "cancel_superseded": True,
        "priority": 10,
    },
    "sequencing-waits": {
        "description": "A job no compute environment can place never starts: stop it at once. "
        "One short of capacity for 4 hours is resubmitted to the overflow queue.",
        "match": {"services": ["batch"], "names": ["seq-*"]},
        "limits": {"max_queue_minutes_by_reason": {"MISCONFIGURATION:*": 0, "CAPACITY:*": 240}},
        "resubmit": {"job_queue": FALLBACK_QUEUE},
        "priority": 50,
    },
}


def seed_demo(emulator: Emulator, clients: Clients, now: datetime) -> dict[str, str]:
    with time_machine.travel(now - timedelta(days=1), tick=False):
        blog = create_app(clients, "blog", {"team": "content"}, branches=("main", "dev"))
    building = (MINUTE, "PROVISIONING"), (2 * MINUTE, "RUNNING")
    older = start_job(emulator, clients, blog, "main", now - 6 * MINUTE, *building)
    newer = start_job(emulator, clients, blog, "main", now - MINUTE)
    dev = start_job(emulator, clients, blog, "dev", now - 5 * MINUTE, *building)

    fill: BatchFill = emulator.fill("batch")
    batch = clients.client("batch")
    create_job_queue(clients, "sequencing", {"team": "genomics"})
    create_job_queue(clients, FALLBACK_QUEUE, {"team": "genomics"})
    register_job_definition(clients, "seq-align", vcpus=16, memory_mib=65536)

    def runnable(name: str, ago: timedelta, reason: str) -> str:
        with time_machine.travel(now - ago, tick=False):
            job_id: str = batch.submit_job(
                jobName=name,
                jobQueue="sequencing",
                jobDefinition="seq-align",
                parameters={"sample": name.removeprefix("seq-")},
                tags={"run": "2026-11"},
            )["jobId"]
            fill.set_status(job_id, "PENDING")
        with time_machine.travel(now - ago + timedelta(seconds=30), tick=False):
            fill.set_status(job_id, "RUNNABLE", reason)
        return job_id

    return {
        "blog/main #1 (building 4 min, a newer build queued)": older,
        "blog/main #2 (the newer build, pending)": newer,
        "blog/dev (another branch, building)": dev,
        "seq-chr1 (RUNNABLE 3 min, no CE fits it)": runnable("seq-chr1", 3 * MINUTE, HOPELESS),
        "seq-chr2 (RUNNABLE 5 h, no capacity)": runnable(
            "seq-chr2", timedelta(hours=5), NO_CAPACITY
        ),
        "seq-chr3 (RUNNABLE 40 min, no capacity)": runnable("seq-chr3", 40 * MINUTE, NO_CAPACITY),
    }


def describe_for_demo(clients: Clients, ids: dict[str, str]) -> dict[str, str]:
    """Each job's status through GetJob or DescribeJobs; a resubmitted Batch job with its copy."""
    amplify, batch = clients.client("amplify"), clients.client("batch")
    states: dict[str, str] = {}
    batch_ids = [i for i in ids.values() if "/" not in i]
    for qualified in (i for i in ids.values() if "/" in i):
        found = amplify.get_job(**_job_params(qualified))["job"]
        states[qualified] = str(found["summary"]["status"])
    copies = _copies(batch)
    for job in batch.describe_jobs(jobs=batch_ids)["jobs"]:
        copy = copies.get(job["jobId"])
        moved = f"; copy {copy['jobId']} {copy['status']} in {FALLBACK_QUEUE}" if copy else ""
        states[job["jobId"]] = f"{job['status']}{moved}"
    return states


def _copies(batch: Any) -> dict[str, dict[str, Any]]:
    """Original job id -> its copy in the fallback queue."""
    ids = [
        summary["jobId"]
        for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
        for summary in batch.list_jobs(jobQueue=FALLBACK_QUEUE, jobStatus=status)["jobSummaryList"]
    ]
    jobs = batch.describe_jobs(jobs=ids)["jobs"] if ids else []
    return {j["tags"][RESUBMIT_OF_TAG]: j for j in jobs if RESUBMIT_OF_TAG in j.get("tags", {})}


def _job_params(qualified: str) -> dict[str, str]:
    parts = parse_id(qualified)
    return {"appId": parts["app_id"], "branchName": parts["branch"], "jobId": parts["job_id"]}

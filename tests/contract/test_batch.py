"""AWS Batch jobs: DescribeJobQueues, ListJobs, DescribeJobs and TerminateJob, answered with
the AWS CLI's published example outputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobwarden.model import Job, Outcome, Settings
from jobwarden.pricing import batch_basis
from jobwarden.services.batch import BatchJobs

from tests.contract.conftest import REGION, sample

QUEUE = "arn:aws:batch:us-east-1:012345678910:job-queue/HighPriority"
JOB_ID = "bcf0b186-a532-4122-842e-2ccab8d54efb"  # describe-jobs.rst's SUBMITTED job
CREATED = datetime.fromtimestamp(1480483387.803, UTC)
ACTIVE = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


def adapter(clients: Any) -> BatchJobs:
    return BatchJobs(clients, REGION, Settings())


def test_list_active_reads_every_status_of_every_queue(clients, stub):
    batch = stub("batch")
    queues = sample("batch", "DescribeJobQueues", "batch/describe-job-queues")
    assert queues["jobQueues"][0]["jobQueueArn"] == QUEUE
    batch.add_response("describe_job_queues", queues, {})
    pages = {
        "SUBMITTED": sample("batch", "ListJobs", "batch/list-jobs-submitted"),
        "RUNNING": sample("batch", "ListJobs", "batch/list-jobs-running"),
    }
    for status in ACTIVE:
        # No published example lists PENDING, RUNNABLE or STARTING jobs: an empty page.
        page = pages.get(status, {"jobSummaryList": []})
        batch.add_response("list_jobs", page, {"jobQueue": QUEUE, "jobStatus": status})
    listed = [pages[s]["jobSummaryList"][0]["jobId"] for s in ("SUBMITTED", "RUNNING")]
    batch.add_response(
        "describe_jobs", sample("batch", "DescribeJobs", "batch/describe-jobs"), {"jobs": listed}
    )

    jobs = list(adapter(clients).list_active(CREATED + timedelta(hours=1)))

    assert jobs == [
        Job(
            service="batch",
            job_id=JOB_ID,
            name="example",
            region=REGION,
            status="SUBMITTED",
            submitted_at=CREATED,
            started_at=None,  # the sample has no startedAt: it has not run
            tags={},
            cost_basis=batch_basis("EC2", 1.0, 128.0, "X86_64"),  # vcpus 1, memory 128
            details={"jobQueue": QUEUE, "resubmittable": True},  # one container, waiting
            queue_reason="SUBMITTED",  # no reason code: the status is why it waits
        )
    ]
    assert jobs[0].queue_seconds(CREATED + timedelta(hours=1)) == 3600
    batch.assert_no_pending_responses()


def stop(clients: Any, stub: Any) -> Outcome:
    """TerminateJob (its answer is empty: terminate-job.rst prints nothing), then the read
    back, answered with describe-jobs.rst's job, still SUBMITTED."""
    batch = stub("batch")
    batch.add_response(
        "terminate_job",
        sample("batch", "TerminateJob", "batch/terminate-job"),
        {"jobId": JOB_ID, "reason": "queued 60 min, over the 30 min limit of policy q"},
    )
    batch.add_response(
        "describe_jobs", sample("batch", "DescribeJobs", "batch/describe-jobs"), {"jobs": [JOB_ID]}
    )
    job = Job("batch", JOB_ID, "example", REGION, "SUBMITTED", CREATED)
    outcome = adapter(clients).stop(job, "queued 60 min, over the 30 min limit of policy q")
    batch.assert_no_pending_responses()
    return outcome


def test_terminate_job_sends_the_reason_and_reads_the_job_back(clients, stub):
    assert stop(clients, stub) in (Outcome.STOPPED, Outcome.STOP_REQUESTED)


def test_a_job_still_submitted_after_terminate_job_is_a_stop_requested(clients, stub):
    assert stop(clients, stub) is Outcome.STOP_REQUESTED

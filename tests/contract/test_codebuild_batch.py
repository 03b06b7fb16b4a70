"""CodeBuild batch builds: ListBuildBatches, BatchGetBuildBatches, StopBuildBatch and
RetryBuildBatch, answered with the AWS CLI's published example outputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobwarden.model import CostBasis, Job, Outcome, PendingRetry, Retry, RetryStarted, Settings
from jobwarden.services.codebuild_batch import (
    RETRY_OF_VARIABLE,
    CodeBuildBatches,
    retry_token,
    start_again_request,
)

from tests.contract.conftest import REGION, sample

BATCH = "<project-name>:<batch-ID>"  # the CLI examples' placeholder, kept as published
SMALL = CostBasis((("codebuild:LINUX_CONTAINER:BUILD_GENERAL1_SMALL", 1.0),))


def adapter(clients: Any) -> CodeBuildBatches:
    return CodeBuildBatches(clients, REGION, Settings())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def job(batch_id: str = BATCH) -> Job:
    return Job(
        "codebuild-batch",
        batch_id,
        "<project-name>",
        REGION,
        "IN_PROGRESS",
        at("2020-10-21T16:54:24.740+00:00"),
    )


def test_a_retried_batch_is_listed_as_queued_from_its_retry(clients, stub):
    """list-build-batches.rst's ids, read back as retry-build-batch.rst's batch (the only
    published IN_PROGRESS batch: `... FAILED (RETRY), SUBMITTED`)."""
    codebuild = stub("codebuild")
    listed = sample("codebuild", "ListBuildBatches", "codebuild/list-build-batches")
    retried = sample("codebuild", "RetryBuildBatch", "codebuild/retry-build-batch")["buildBatch"]
    projects = sample("codebuild", "BatchGetProjects", "codebuild/batch-get-projects")
    codebuild.add_response(
        "list_build_batches",
        listed,
        {"filter": {"status": "IN_PROGRESS"}, "sortOrder": "DESCENDING", "maxResults": 100},
    )
    codebuild.add_response(
        "batch_get_build_batches", {"buildBatches": [retried]}, {"ids": listed["ids"]}
    )
    codebuild.add_response("batch_get_projects", projects, {"names": ["<project-name>"]})

    now = at("2020-10-21T17:39:39.709+00:00")
    jobs = list(adapter(clients).list_active(now))

    assert jobs == [
        Job(
            service="codebuild-batch",
            job_id=BATCH,
            name="<project-name>",
            region=REGION,
            status="IN_PROGRESS (SUBMITTED)",
            # The retry's SUBMITTED phase, not the batch's first start: this attempt's wait.
            submitted_at=at("2020-10-21T17:29:39.709+00:00"),
            started_at=None,
            tags={},
            cost_basis=SMALL,  # no build of the retry runs yet: one build's rate
            arn=f"arn:aws:codebuild:<region-ID>:<account-ID>:build-batch/{BATCH}",
            attempt="2",  # the run after one ended phase: a decision on run 1 never stops it
            queue_reason="SUBMITTED",
            timeout_minutes=60.0,  # the sample's buildTimeoutInMinutes
        )
    ]
    assert jobs[0].queue_seconds(now) == 600
    codebuild.assert_no_pending_responses()


def test_an_ended_batch_read_back_is_not_active(clients, stub):
    codebuild = stub("codebuild")
    found = sample("codebuild", "BatchGetBuildBatches", "codebuild/batch-get-build-batches")
    batch_id = found["buildBatches"][0]["id"]
    codebuild.add_response("batch_get_build_batches", found, {"ids": [batch_id]})

    assert adapter(clients).describe_many([batch_id], datetime.now(UTC)) == {}
    codebuild.assert_no_pending_responses()  # no project read for a batch that has ended


def test_stop_build_batch_answers_stopped_with_builds_still_running(clients, stub):
    """stop-build-batch.rst: STOPPED at once, `linux_small` still IN_PROGRESS: our stop."""
    codebuild = stub("codebuild")
    stopped = sample("codebuild", "StopBuildBatch", "codebuild/stop-build-batch")
    statuses = [
        g["currentBuildSummary"]["buildStatus"] for g in stopped["buildBatch"]["buildGroups"]
    ]
    assert statuses == ["SUCCEEDED", "IN_PROGRESS", "PENDING", "PENDING"]
    codebuild.add_response("stop_build_batch", stopped, {"id": BATCH})

    assert adapter(clients).stop(job(), "too long") is Outcome.STOPPED
    codebuild.assert_no_pending_responses()


def test_stop_build_batch_on_an_ended_batch_is_already_finished(clients, stub):
    """User Guide, "Stop a batch build": an ended batch is answered with its final status
    (the batch object is batch-get-build-batches.rst's SUCCEEDED batch)."""
    codebuild = stub("codebuild")
    ended = sample("codebuild", "BatchGetBuildBatches", "codebuild/batch-get-build-batches")
    batch = ended["buildBatches"][0]
    codebuild.add_response("stop_build_batch", {"buildBatch": batch}, {"id": batch["id"]})

    assert adapter(clients).stop(job(batch["id"]), "too long") is Outcome.ALREADY_FINISHED
    codebuild.assert_no_pending_responses()


def test_retry_build_batch_of_the_stopped_batch(clients, stub):
    """The stopped batch (stop-build-batch.rst) read back, then retried: the request the
    adapter sends, and retry-build-batch.rst's answer (the same batch id, SUBMITTED again)."""
    codebuild = stub("codebuild")
    stopped = sample("codebuild", "StopBuildBatch", "codebuild/stop-build-batch")["buildBatch"]
    retried = sample("codebuild", "RetryBuildBatch", "codebuild/retry-build-batch")
    codebuild.add_response("batch_get_build_batches", {"buildBatches": [stopped]}, {"ids": [BATCH]})
    codebuild.add_response(
        "retry_build_batch",
        retried,
        {
            "id": BATCH,
            "retryType": "RETRY_FAILED_BUILDS",
            "idempotencyToken": retry_token(BATCH, 1),
        },
    )

    assert adapter(clients).retry(stopped_pending(), 1) == RetryStarted(BATCH)
    codebuild.assert_no_pending_responses()


def test_a_stopped_batch_retry_refused_is_started_again(clients, stub):
    """Under the documented answer to RetryBuildBatch on a stopped batch ("Only batch builds
    that have failed can be retried"), the batch is started again: stop-build-batch.rst's
    batch read back, the refusal, then start-build-batch.rst's answer (a new batch id)."""
    codebuild = stub("codebuild")
    stopped = sample("codebuild", "StopBuildBatch", "codebuild/stop-build-batch")["buildBatch"]
    started = sample("codebuild", "StartBuildBatch", "codebuild/start-build-batch")
    codebuild.add_response("batch_get_build_batches", {"buildBatches": [stopped]}, {"ids": [BATCH]})
    codebuild.add_client_error(
        "retry_build_batch",
        "InvalidInputException",
        "Only batch builds that have failed can be retried",
    )
    request = start_again_request(stopped, retry_token(BATCH, 1))
    assert request["projectName"] == "<project-name>"
    assert request["idempotencyToken"] == retry_token(BATCH, 1)
    assert {"name": RETRY_OF_VARIABLE, "value": BATCH, "type": "PLAINTEXT"} in request[
        "environmentVariablesOverride"
    ]
    codebuild.add_response("start_build_batch", started, request)

    retried = adapter(clients).retry(stopped_pending(), 1)
    assert isinstance(retried, RetryStarted)
    assert retried.job_id == started["buildBatch"]["id"]
    assert "StartBuildBatch" in retried.note
    codebuild.assert_no_pending_responses()


def stopped_pending() -> PendingRetry:
    """stop-build-batch.rst's batch, waiting for its retry a minute after the stop."""
    return PendingRetry(
        service="codebuild-batch",
        region=REGION,
        job_id=BATCH,
        name="<project-name>",
        retry_subject=f"codebuild-batch#{REGION}#{BATCH}",
        retry=Retry("RETRY_FAILED_BUILDS", 1),
        policy="batch-builds",
        stopped_at=at("2020-10-21T16:56:05.152+00:00") + timedelta(minutes=1),
    )

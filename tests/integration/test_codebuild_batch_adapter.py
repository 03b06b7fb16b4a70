"""The CodeBuild batch builds adapter against the emulated account (moto + the batch fill)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from jobwarden.aws import Clients
from jobwarden.local.codebuild_batch import CodeBuildBatchFill
from jobwarden.model import Job, Outcome, PendingRetry, Retry, RetryStarted, Settings
from jobwarden.services import REGISTRY
from jobwarden.services.base import RetryImpossible
from jobwarden.services.codebuild_batch import (  # importing registers the adapter
    CodeBuildBatches,
    retry_token,
)

from tests.integration.conftest import throttle

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
LIST_PARAMS = {"filter": {"status": "IN_PROGRESS"}, "sortOrder": "DESCENDING", "maxResults": 100}


@pytest.fixture(autouse=True)
def batch_fill(account) -> CodeBuildBatchFill:
    fill: CodeBuildBatchFill = account.emulator.add(CodeBuildBatchFill)
    return fill


def adapter(clients: Clients) -> CodeBuildBatches:
    return CodeBuildBatches(clients, "us-east-1", Settings())


def start_batch(
    account,
    project: str,
    ago: timedelta,
    now: datetime,
    phases: tuple[tuple[str, timedelta], ...] = (),
    *,
    builds: int = 1,
) -> str:
    """Start a batch `ago` before `now`; move it to each (phase, offset after its start)."""
    fill = account.emulator.fill("codebuild-batch")
    with time_machine.travel(now - ago, tick=False):
        batch_id: str = account.clients.client("codebuild").start_build_batch(projectName=project)[
            "buildBatch"
        ]["id"]
    for phase, offset in phases:
        with time_machine.travel(now - ago + offset, tick=False):
            fill.advance(batch_id, phase, builds=builds)
    return batch_id


def batch(account, batch_id: str) -> dict:
    found = account.clients.client("codebuild").batch_get_build_batches(ids=[batch_id])
    return found["buildBatches"][0]


def pending(batch_id: str, retry_type: str = "RETRY_FAILED_BUILDS") -> PendingRetry:
    return PendingRetry(
        service="codebuild-batch",
        region="us-east-1",
        job_id=batch_id,
        name="release-train",
        retry_subject=f"codebuild-batch#us-east-1#{batch_id}",
        retry=Retry(retry_type, 1),
        policy="batch-builds",
        stopped_at=datetime.now(UTC),
    )


def test_it_is_registered_with_its_grants():
    assert REGISTRY["codebuild-batch"] is CodeBuildBatches
    assert CodeBuildBatches.supports_retry
    assert CodeBuildBatches.iam_actions() == {
        "codebuild:ListBuildBatches",
        "codebuild:BatchGetBuildBatches",
        "codebuild:StopBuildBatch",
        "codebuild:RetryBuildBatch",
        "codebuild:StartBuildBatch",
        "codebuild:BatchGetProjects",
    }


def test_each_active_phase_with_queue_and_run_time_and_project_tags(account):
    now = datetime.now(UTC)
    account.project("release-train", {"team": "platform"}, compute_type="BUILD_GENERAL1_LARGE")
    submitted = start_batch(account, "release-train", 3 * HOUR, now)
    downloading = start_batch(
        account, "release-train", 2 * HOUR, now, (("DOWNLOAD_BATCHSPEC", 5 * MINUTE),)
    )
    running = start_batch(
        account, "release-train", 2 * HOUR, now, (("IN_PROGRESS", 10 * MINUTE),), builds=3
    )
    combining = start_batch(
        account,
        "release-train",
        HOUR,
        now,
        (
            ("DOWNLOAD_BATCHSPEC", MINUTE),
            ("IN_PROGRESS", 4 * MINUTE),
            ("COMBINE_ARTIFACTS", 50 * MINUTE),
        ),
    )
    finished = start_batch(account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),))
    account.emulator.fill("codebuild-batch").finish(finished, "FAILED")

    jobs = {job.job_id: job for job in adapter(account.clients).list_active(now)}

    assert set(jobs) == {submitted, downloading, running, combining}
    # Queued until the batch's own builds start: SUBMITTED and DOWNLOAD_BATCHSPEC.
    assert jobs[submitted].started_at is None
    assert jobs[submitted].queue_seconds(now) == pytest.approx(3 * 3600, abs=1)
    assert jobs[downloading].started_at is None
    assert jobs[downloading].status == "IN_PROGRESS (DOWNLOAD_BATCHSPEC)"
    assert jobs[downloading].queue_seconds(now) == pytest.approx(2 * 3600, abs=1)
    assert jobs[running].queue_seconds(now) == pytest.approx(10 * 60, abs=1)
    assert jobs[running].run_seconds(now) == pytest.approx(110 * 60, abs=1)
    assert jobs[running].status == "IN_PROGRESS (IN_PROGRESS)"
    assert jobs[combining].run_seconds(now) == pytest.approx(56 * 60, abs=1)
    assert jobs[combining].status == "IN_PROGRESS (COMBINE_ARTIFACTS)"
    assert jobs[running].tags == {"team": "platform"}
    assert jobs[running].name == "release-train"
    assert jobs[running].arn.endswith(f":build-batch/{running}")
    # Three builds running on the batch's compute type.
    assert jobs[running].cost_basis.components == (
        ("codebuild:LINUX_CONTAINER:BUILD_GENERAL1_LARGE", 3.0),
    )
    # None running (the builds ended before COMBINE_ARTIFACTS): priced as one.
    assert jobs[combining].cost_basis.components == (
        ("codebuild:LINUX_CONTAINER:BUILD_GENERAL1_LARGE", 1.0),
    )


def test_lists_only_running_batches_across_pages(account):
    now = datetime.now(UTC)
    account.project("busy")
    fill = account.emulator.fill("codebuild-batch")
    for n in range(250):
        ended = start_batch(account, "busy", HOUR + n * MINUTE, now, (("IN_PROGRESS", MINUTE),))
        fill.finish(ended)
    running = {
        start_batch(account, "busy", n * MINUTE, now, (("IN_PROGRESS", MINUTE // 2),))
        for n in range(1, 121)
    }
    account.emulator.calls.clear()

    found = {job.job_id for job in adapter(account.clients).list_active(now)}

    assert found == running
    # 120 running of 370: two pages, and no finished batch is ever described.
    assert account.emulator.calls.count(("codebuild", "ListBuildBatches")) == 2
    assert account.emulator.calls.count(("codebuild", "BatchGetBuildBatches")) == 2


def test_list_request_and_describe_in_chunks_skipping_what_ended_or_vanished():
    """Pinned parameters; a batch may end, or disappear, between the list and the read."""
    clients = Clients(default_region="us-east-1")
    client = clients.client("codebuild")
    ids = [f"p:{n}" for n in range(150)]
    now = datetime.now(UTC)

    def described(chunk: list[str]) -> list[dict]:
        return [
            {
                "id": i,
                "projectName": "p",
                "startTime": now - HOUR,
                "currentPhase": "IN_PROGRESS",
                "buildBatchStatus": "SUCCEEDED" if i == "p:7" else "IN_PROGRESS",
            }
            for i in chunk
            if i != "p:120"
        ]

    with Stubber(client) as stub:
        stub.add_response("list_build_batches", {"ids": ids}, LIST_PARAMS)
        stub.add_response(
            "batch_get_build_batches", {"buildBatches": described(ids[:100])}, {"ids": ids[:100]}
        )
        stub.add_response(
            "batch_get_build_batches",
            {"buildBatches": described(ids[100:]), "buildBatchesNotFound": ["p:120"]},
            {"ids": ids[100:]},
        )
        stub.add_response("batch_get_projects", {"projects": []}, {"names": ["p"]})
        jobs = list(adapter(clients).list_active(now))
        stub.assert_no_pending_responses()
    assert len(jobs) == 148
    assert {"p:7", "p:120"}.isdisjoint(job.job_id for job in jobs)


def test_describe_reads_one_batch_while_it_runs(account, batch_fill):
    now = datetime.now(UTC)
    account.project("release-train", {"team": "platform"})
    running = start_batch(account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),))
    ended = start_batch(account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),))
    batch_fill.finish(ended)
    batches = adapter(account.clients)
    job = batches.describe(running, now)
    assert (job.job_id, job.tags) == (running, {"team": "platform"})
    assert job.run_seconds(now) == pytest.approx(59 * 60, abs=1)
    assert batches.describe(ended, now) is None
    assert batches.describe("release-train:gone", now) is None
    assert set(batches.describe_many([running, ended], now)) == {running}


def test_stop_then_already_finished(account, batch_fill):
    now = datetime.now(UTC)
    account.project("release-train")
    batch_id = start_batch(
        account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),), builds=2
    )
    batches = adapter(account.clients)
    (job,) = batches.list_active(now)

    assert batches.stop(job, "too long") is Outcome.STOPPED
    stopped = batch(account, batch_id)
    assert (stopped["buildBatchStatus"], stopped["currentPhase"]) == ("STOPPED", "STOPPED")
    # STOPPED at once while its builds are still stopping (the CLI's stop-build-batch example).
    builds = [g["currentBuildSummary"]["buildStatus"] for g in stopped["buildGroups"][1:]]
    assert builds == ["IN_PROGRESS", "IN_PROGRESS"]
    assert list(batches.list_active(now)) == []
    batch_fill.settle(batch_id)
    settled = batch(account, batch_id)
    assert {g["currentBuildSummary"]["buildStatus"] for g in settled["buildGroups"][1:]} == {
        "STOPPED"
    }
    # Stopped again, it is answered as it ended (User Guide, "Stop a batch build"): our stop.
    assert batches.stop(job, "too long") is Outcome.STOPPED
    ended = start_batch(account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),))
    (ended_job,) = batches.list_active(now)
    batch_fill.finish(ended)
    assert batches.stop(ended_job, "too long") is Outcome.ALREADY_FINISHED
    assert batch(account, ended)["buildBatchStatus"] == "SUCCEEDED"
    assert batches.read_back(job, "too long") is Outcome.STOPPED


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED"])
def test_a_batch_that_ended_on_its_own_is_already_finished(account, status):
    now = datetime.now(UTC)
    account.project("release-train")
    batch_id = start_batch(account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),))
    batches = adapter(account.clients)
    (job,) = batches.list_active(now)
    assert batches.read_back(job, "too long") is None
    account.emulator.fill("codebuild-batch").finish(batch_id, status)

    assert batches.stop(job, "too long") is Outcome.ALREADY_FINISHED
    assert batches.read_back(job, "too long") is Outcome.ALREADY_FINISHED
    assert batches.read_back(_job("release-train:gone"), "x") is Outcome.ALREADY_FINISHED


def test_stop_request_and_the_race_with_the_batch_ending():
    clients = Clients(default_region="us-east-1")
    batches = adapter(clients)
    client = clients.client("codebuild")
    job = _job("p:1")
    stopping = {"id": "p:1", "buildBatchStatus": "IN_PROGRESS", "projectName": "p"}
    with Stubber(client) as stub:
        # Still stopping when the call returns: stopped all the same.
        stub.add_response("stop_build_batch", {"buildBatch": stopping}, {"id": "p:1"})
        assert batches.stop(job, "too long") is Outcome.STOPPED
        # It ended on its own as the call landed.
        ended = {**stopping, "buildBatchStatus": "SUCCEEDED"}
        stub.add_response("stop_build_batch", {"buildBatch": ended}, {"id": "p:1"})
        assert batches.stop(job, "too long") is Outcome.ALREADY_FINISHED
        # Refused because it had ended: re-read, already finished.
        stub.add_client_error(
            "stop_build_batch",
            "InvalidInputException",
            "not running",
            expected_params={"id": "p:1"},
        )
        stub.add_response("batch_get_build_batches", {"buildBatches": [ended]}, {"ids": ["p:1"]})
        assert batches.stop(job, "too long") is Outcome.ALREADY_FINISHED
        # Refused while it still runs: a real failure.
        stub.add_client_error(
            "stop_build_batch", "InvalidInputException", "bad", expected_params={"id": "p:1"}
        )
        stub.add_response("batch_get_build_batches", {"buildBatches": [stopping]}, {"ids": ["p:1"]})
        with pytest.raises(ClientError):
            batches.stop(job, "too long")
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("read", "outcome"),
    [
        ({"buildBatchStatus": "STOPPED", "currentPhase": "STOPPED"}, Outcome.STOPPED),
        # Still IN_PROGRESS while its builds stop, already in its STOPPED phase: ours.
        ({"buildBatchStatus": "IN_PROGRESS", "currentPhase": "STOPPED"}, Outcome.STOPPED),
        ({"buildBatchStatus": "FAILED", "currentPhase": "FAILED"}, Outcome.ALREADY_FINISHED),
    ],
)
def test_a_lost_stop_answer_then_a_refusal_is_read_back(read, outcome):
    """Our first StopBuildBatch landed but its answer was lost; botocore's retry is refused
    (or fails outright): the batch read back tells whose end it was."""
    clients = Clients(default_region="us-east-1")
    with Stubber(clients.client("codebuild")) as stub:
        for error in ("InvalidInputException", "InternalFailure"):
            stub.add_client_error("stop_build_batch", error, "no", expected_params={"id": "p:1"})
            stub.add_response(
                "batch_get_build_batches",
                {"buildBatches": [{"id": "p:1", "projectName": "p", **read}]},
                {"ids": ["p:1"]},
            )
            assert adapter(clients).stop(_job("p:1"), "too long") is outcome
        stub.assert_no_pending_responses()


def test_retry_request_waits_for_the_stop_and_skips_a_success():
    clients = Clients(default_region="us-east-1")
    batches = adapter(clients)
    client = clients.client("codebuild")
    summary = {"id": "p:1", "projectName": "p"}
    with Stubber(client) as stub:
        stub.add_response(
            "batch_get_build_batches",
            {"buildBatches": [{**summary, "buildBatchStatus": "IN_PROGRESS"}]},
            {"ids": ["p:1"]},
        )
        assert batches.retry(pending("p:1"), 1) is None  # still stopping: no retry call
        stub.add_response(
            "batch_get_build_batches",
            {"buildBatches": [{**summary, "buildBatchStatus": "STOPPED"}]},
            {"ids": ["p:1"]},
        )
        stub.add_response(
            "retry_build_batch",
            {"buildBatch": {**summary, "buildBatchStatus": "IN_PROGRESS"}},
            {
                "id": "p:1",
                "retryType": "RETRY_ALL_BUILDS",
                "idempotencyToken": retry_token("p:1", 2),
            },
        )
        assert batches.retry(pending("p:1", "RETRY_ALL_BUILDS"), 2) == RetryStarted("p:1")
        stub.add_response(
            "batch_get_build_batches",
            {"buildBatches": [{**summary, "buildBatchStatus": "SUCCEEDED"}]},
            {"ids": ["p:1"]},
        )
        assert batches.retry(pending("p:1"), 1) is Outcome.ALREADY_FINISHED
        stub.assert_no_pending_responses()


def test_retry_token_is_deterministic_per_batch_and_attempt():
    long_id = "p" * 255 + ":" + "0" * 36
    assert retry_token("p:1", 1) == retry_token("p:1", 1)
    assert len({retry_token("p:1", 1), retry_token("p:1", 2), retry_token("p:2", 1)}) == 3
    assert len(retry_token(long_id, 10)) < 64


def test_a_retried_batch_keeps_its_id_and_is_timed_from_the_retry(account):
    now = datetime.now(UTC)
    account.project("release-train")
    fill = account.emulator.fill("codebuild-batch")
    batch_id = start_batch(
        account, "release-train", 3 * HOUR, now, (("IN_PROGRESS", MINUTE),), builds=3
    )
    fill.batches["us-east-1"][batch_id]["buildGroups"][1]["currentBuildSummary"]["buildStatus"] = (
        "SUCCEEDED"  # build1 finished before the stop
    )
    batches = adapter(account.clients)
    (job,) = batches.list_active(now)
    with time_machine.travel(now - HOUR, tick=False):
        assert batches.stop(job, "too long") is Outcome.STOPPED
    with time_machine.travel(now - 30 * MINUTE, tick=False):
        assert batches.retry(pending(batch_id), 1) == RetryStarted(batch_id)

    retried = batch(account, batch_id)
    assert retried["buildBatchStatus"] == "IN_PROGRESS"
    # As the CLI's retry-build-batch example shows: the ended phase closed RETRY, SUBMITTED anew.
    assert [(p["phaseType"], p.get("phaseStatus")) for p in retried["phases"]] == [
        ("SUBMITTED", "SUCCEEDED"),
        ("IN_PROGRESS", "STOPPED"),
        ("STOPPED", "RETRY"),
        ("SUBMITTED", None),
    ]
    (queued,) = batches.list_active(now)
    assert queued.job_id == batch_id
    assert queued.started_at is None
    assert queued.queue_seconds(now) == pytest.approx(30 * 60, abs=1)
    with time_machine.travel(now - 20 * MINUTE, tick=False):
        fill.advance(batch_id, "IN_PROGRESS")
    groups = {g["identifier"]: g for g in batch(account, batch_id)["buildGroups"]}
    # RETRY_FAILED_BUILDS reruns the stopped builds, not the one that succeeded.
    assert "priorBuildSummaryList" not in groups["build1"]
    for rerun in ("build2", "build3"):
        assert [s["buildStatus"] for s in groups[rerun]["priorBuildSummaryList"]] == ["STOPPED"]
        assert groups[rerun]["currentBuildSummary"]["buildStatus"] == "IN_PROGRESS"
    (again,) = batches.list_active(now)
    assert again.job_id == batch_id
    assert again.run_seconds(now) == pytest.approx(20 * 60, abs=1)
    assert again.queue_seconds(now) == pytest.approx(10 * 60, abs=1)
    assert again.cost_basis.components[0][1] == 2.0


def test_a_stopped_batch_the_service_will_not_retry_is_started_again(account, monkeypatch):
    """Under the documented answer ("Only batch builds that have failed can be retried"),
    the stopped batch is started anew from its project, source version and overrides, and
    the new batch's attempts count against the original's."""
    account.emulator.fill("codebuild-batch").retry_stopped = False
    now = datetime.now(UTC)
    account.project("release-train")
    codebuild = account.clients.client("codebuild")
    with time_machine.travel(now - HOUR, tick=False):
        original = codebuild.start_build_batch(
            projectName="release-train",
            sourceVersion="main",
            computeTypeOverride="BUILD_GENERAL1_LARGE",
            environmentVariablesOverride=[{"name": "STAGE", "value": "prod"}],
        )["buildBatch"]["id"]
    batches = adapter(account.clients)
    (job,) = batches.list_active(now)
    assert job.retry_subject == f"codebuild-batch#us-east-1#{original}"
    assert batches.stop(job, "too long") is Outcome.STOPPED

    started = batches.retry(pending(original), 1)

    assert isinstance(started, RetryStarted)
    assert started.job_id != original
    assert "StartBuildBatch" in started.note
    assert original in started.note
    (again,) = batches.list_active(now)
    assert again.job_id == started.job_id
    assert again.retry_subject == job.retry_subject  # counted against the original
    assert again.cost_basis.components[0][0] == "codebuild:LINUX_CONTAINER:BUILD_GENERAL1_LARGE"
    fresh = batch(account, started.job_id)
    assert fresh["sourceVersion"] == "main"
    assert {v["name"]: v["value"] for v in fresh["environment"]["environmentVariables"]} == {
        "STAGE": "prod",
        "JOBWARDEN_RETRY_OF": original,
    }
    # Stopped and started again once more: still the original's lineage, not the copy's.
    assert batches.stop(again, "too long") is Outcome.STOPPED
    third = batches.retry(pending(started.job_id), 2)
    assert isinstance(third, RetryStarted)
    (last,) = batches.list_active(now)
    assert last.retry_subject == job.retry_subject


def test_retry_under_either_answer_pinned():
    """RetryBuildBatch accepted (in place), or refused for the stopped batch and replaced by
    a StartBuildBatch of the same project, resolved source version and overrides."""
    clients = Clients(default_region="us-east-1")
    batches = adapter(clients)
    stopped = {
        "id": "p:1",
        "projectName": "p",
        "buildBatchStatus": "STOPPED",
        "sourceVersion": "main",
        "resolvedSourceVersion": "aef7744ed069c51098e15c360f4102cd2cd1ad64",
        "source": {"type": "GITHUB", "location": "https://github.com/o/r", "buildspec": "b.yml"},
        "environment": {
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "environmentVariables": [{"name": "A", "value": "1", "type": "PLAINTEXT"}],
        },
        "serviceRole": "arn:aws:iam::123456789012:role/codebuild",
        "buildTimeoutInMinutes": 60,
        "queuedTimeoutInMinutes": 480,
    }
    token = retry_token("p:1", 1)
    with Stubber(clients.client("codebuild")) as stub:
        stub.add_response("batch_get_build_batches", {"buildBatches": [stopped]}, {"ids": ["p:1"]})
        stub.add_response(
            "retry_build_batch",
            {"buildBatch": {**stopped, "buildBatchStatus": "IN_PROGRESS"}},
            {"id": "p:1", "retryType": "RETRY_FAILED_BUILDS", "idempotencyToken": token},
        )
        assert batches.retry(pending("p:1"), 1) == RetryStarted("p:1")

        stub.add_response("batch_get_build_batches", {"buildBatches": [stopped]}, {"ids": ["p:1"]})
        stub.add_client_error(
            "retry_build_batch",
            "InvalidInputException",
            "Only batch builds that have failed can be retried",
        )
        stub.add_response(
            "start_build_batch",
            {"buildBatch": {"id": "p:2", "projectName": "p", "buildBatchStatus": "IN_PROGRESS"}},
            {
                "projectName": "p",
                "sourceVersion": "aef7744ed069c51098e15c360f4102cd2cd1ad64",
                "sourceTypeOverride": "GITHUB",
                "sourceLocationOverride": "https://github.com/o/r",
                "buildspecOverride": "b.yml",
                "environmentTypeOverride": "LINUX_CONTAINER",
                "imageOverride": "aws/codebuild/standard:7.0",
                "computeTypeOverride": "BUILD_GENERAL1_SMALL",
                "environmentVariablesOverride": [
                    {"name": "A", "value": "1", "type": "PLAINTEXT"},
                    {"name": "JOBWARDEN_RETRY_OF", "value": "p:1", "type": "PLAINTEXT"},
                ],
                "buildTimeoutInMinutesOverride": 60,
                "queuedTimeoutInMinutesOverride": 480,
                "idempotencyToken": token,
            },
        )
        started = batches.retry(pending("p:1"), 1)
        assert (started.job_id, "p:1" in started.note) == ("p:2", True)
        stub.assert_no_pending_responses()


def test_refusals_no_later_sweep_can_overcome_are_retry_impossible():
    clients = Clients(default_region="us-east-1")
    batches = adapter(clients)
    failed = {"id": "p:1", "projectName": "p", "buildBatchStatus": "FAILED"}
    stopped = {**failed, "buildBatchStatus": "STOPPED"}
    with Stubber(clients.client("codebuild")) as stub:
        # A retry type RetryBuildBatch does not take: refused before any call.
        with pytest.raises(RetryImpossible, match="'RETRY'"):
            batches.retry(pending("p:1", "RETRY"), 1)
        # A failed batch refused: nothing else to try.
        stub.add_response("batch_get_build_batches", {"buildBatches": [failed]})
        stub.add_client_error("retry_build_batch", "InvalidInputException", "no")
        with pytest.raises(RetryImpossible, match="FAILED"):
            batches.retry(pending("p:1"), 1)
        # A stopped batch refused, and its project is gone.
        stub.add_response("batch_get_build_batches", {"buildBatches": [stopped]})
        stub.add_client_error("retry_build_batch", "InvalidInputException", "no")
        stub.add_client_error("start_build_batch", "ResourceNotFoundException", "no project")
        with pytest.raises(RetryImpossible, match="no project"):
            batches.retry(pending("p:1"), 1)
        # Denied or throttled: a failed attempt, which a later sweep may repeat.
        stub.add_response("batch_get_build_batches", {"buildBatches": [stopped]})
        stub.add_client_error("retry_build_batch", "AccessDeniedException", "denied")
        with pytest.raises(ClientError, match="denied"):
            batches.retry(pending("p:1"), 1)
        # Deleted: nothing to retry.
        stub.add_response("batch_get_build_batches", {"buildBatches": []})
        assert batches.retry(pending("p:1"), 1) is Outcome.ALREADY_FINISHED
        stub.assert_no_pending_responses()


def test_a_batch_whose_project_cannot_be_read_is_reported():
    clients = Clients(default_region="us-east-1")
    now = datetime.now(UTC)
    running = {"projectName": "pp", "buildBatchStatus": "IN_PROGRESS", "startTime": now - HOUR}
    with Stubber(clients.client("codebuild")) as stub:
        stub.add_response("list_build_batches", {"ids": ["pp:1", "qq:1"]})
        stub.add_response(
            "batch_get_build_batches",
            {
                "buildBatches": [
                    {**running, "id": "pp:1"},
                    {**running, "id": "qq:1", "projectName": "qq"},
                ]
            },
        )
        stub.add_client_error("batch_get_projects", "AccessDeniedException", "one denied")
        stub.add_client_error(
            "batch_get_projects",
            "AccessDeniedException",
            "not p",
            expected_params={"names": ["pp"]},
        )
        stub.add_response("batch_get_projects", {"projects": [{"name": "qq"}]}, {"names": ["qq"]})
        listed = list(adapter(clients).list_active(now))
    assert [type(item).__name__ for item in listed] == ["Unreadable", "Job"]
    assert listed[0].subject == "codebuild batch build pp:1"
    assert listed[1].job_id == "qq:1"


def test_throttled_batch_get_projects_is_retried(account):
    """BatchGetProjects is served by moto; botocore's retry mode absorbs the throttling."""
    now = datetime.now(UTC)
    account.project("release-train", {"team": "platform"})
    start_batch(account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),))
    throttled = throttle(account.clients.client("codebuild"), "BatchGetProjects")
    jobs = list(adapter(account.clients).list_active(now))
    assert len(throttled) == 2
    assert jobs[0].tags == {"team": "platform"}


def _job(batch_id: str) -> Job:
    now = datetime.now(UTC)
    return Job("codebuild-batch", batch_id, "p", "us-east-1", "IN_PROGRESS", now, now)


# --- the fill itself ---------------------------------------------------------------------------


def test_the_fill_honours_the_idempotency_token_for_five_minutes(account, batch_fill):
    now = datetime.now(UTC)
    account.project("release-train")
    batch_id = start_batch(
        account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),), builds=2
    )
    batch_fill.finish(batch_id, "FAILED")
    codebuild = account.clients.client("codebuild")
    token = retry_token(batch_id, 1)

    def retry(retry_type: str = "RETRY_FAILED_BUILDS") -> dict:
        return codebuild.retry_build_batch(
            id=batch_id, retryType=retry_type, idempotencyToken=token
        )

    first = retry()["buildBatch"]
    again = retry()["buildBatch"]  # a second sweep racing past its claim: no second retry
    assert batch_fill.retries == 1
    assert again["phases"] == first["phases"]
    assert again["buildBatchStatus"] == "IN_PROGRESS"
    with pytest.raises(ClientError, match="parameter mismatch"):
        retry("RETRY_ALL_BUILDS")
    # Past the token's five minutes, the same token is a new request.
    with time_machine.travel(now + 6 * MINUTE, tick=False):
        batch_fill.finish(batch_id, "FAILED")
        retry()
    assert batch_fill.retries == 2


def test_the_fill_retries_only_batches_that_failed(account, batch_fill):
    now = datetime.now(UTC)
    account.project("release-train")
    codebuild = account.clients.client("codebuild")
    running = start_batch(account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),))
    succeeded = start_batch(account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),))
    batch_fill.finish(succeeded)
    for batch_id in (running, succeeded):
        with pytest.raises(ClientError) as caught:
            codebuild.retry_build_batch(id=batch_id, retryType="RETRY_ALL_BUILDS")
        assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    with pytest.raises(ClientError) as caught:
        codebuild.retry_build_batch(id="release-train:missing", retryType="RETRY_ALL_BUILDS")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert batch_fill.retries == 0


def test_retry_all_builds_and_a_batch_stopped_before_its_builds(account, batch_fill):
    now = datetime.now(UTC)
    account.project("release-train")
    codebuild = account.clients.client("codebuild")
    ran = start_batch(account, "release-train", HOUR, now, (("IN_PROGRESS", MINUTE),), builds=2)
    batch_fill.batches["us-east-1"][ran]["buildGroups"][1]["currentBuildSummary"]["buildStatus"] = (
        "SUCCEEDED"
    )
    batch_fill.finish(ran, "TIMED_OUT")
    retried = codebuild.retry_build_batch(id=ran, retryType="RETRY_ALL_BUILDS")["buildBatch"]
    assert retried["currentPhase"] == "SUBMITTED"
    assert all("priorBuildSummaryList" not in g for g in retried["buildGroups"])
    batch_fill.advance(ran, "DOWNLOAD_BATCHSPEC")  # the builds rerun only once in progress
    assert all("priorBuildSummaryList" not in g for g in batch(account, ran)["buildGroups"])
    batch_fill.advance(ran, "IN_PROGRESS")
    reruns = [len(g.get("priorBuildSummaryList", [])) for g in batch(account, ran)["buildGroups"]]
    assert reruns == [0, 1, 1]  # every build, never the batchspec download

    early = start_batch(account, "release-train", HOUR, now)
    codebuild.stop_build_batch(id=early)
    retried = codebuild.retry_build_batch(id=early, retryType="RETRY_FAILED_BUILDS")["buildBatch"]
    assert retried["currentPhase"] == "SUBMITTED"
    batch_fill.advance(early, "DOWNLOAD_BATCHSPEC")
    (download,) = batch(account, early)["buildGroups"]
    assert download["identifier"] == "DOWNLOAD_SOURCE"
    assert [s["buildStatus"] for s in download["priorBuildSummaryList"]] == ["STOPPED"]
    assert download["currentBuildSummary"]["buildStatus"] == "IN_PROGRESS"
    batch_fill.advance(early, "IN_PROGRESS", builds=2)
    assert len(batch(account, early)["buildGroups"]) == 3


def test_the_fill_refuses_what_the_service_refuses(account, batch_fill):
    codebuild = account.clients.client("codebuild")
    with pytest.raises(ClientError, match="at most 100"):
        codebuild.batch_get_build_batches(ids=[f"p:{n}" for n in range(101)])
    with pytest.raises(ClientError) as caught:
        codebuild.stop_build_batch(id="p:missing")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        codebuild.start_build_batch(projectName="missing")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    found = codebuild.batch_get_build_batches(ids=["p:missing"])
    assert (found["buildBatches"], found["buildBatchesNotFound"]) == ([], ["p:missing"])
    assert codebuild.list_build_batches()["ids"] == []


def test_phases_only_move_forward_and_overrides_apply(account, batch_fill):
    account.project("release-train")
    codebuild = account.clients.client("codebuild")
    batch_id = codebuild.start_build_batch(
        projectName="release-train",
        computeTypeOverride="BUILD_GENERAL1_MEDIUM",
        buildBatchConfigOverride={"timeoutInMins": 120},
    )["buildBatch"]["id"]
    started = batch(account, batch_id)
    assert started["environment"]["computeType"] == "BUILD_GENERAL1_MEDIUM"
    assert started["buildBatchConfig"] == {"timeoutInMins": 120}
    assert started["buildBatchNumber"] == 1
    batch_fill.advance(batch_id, "IN_PROGRESS")
    with pytest.raises(ValueError, match="already past"):
        batch_fill.advance(batch_id, "DOWNLOAD_BATCHSPEC")
    batch_fill.finish(batch_id)
    with pytest.raises(ValueError, match="already finished"):
        batch_fill.finish(batch_id)

"""The gap fill itself: requests and responses are held to botocore's service model."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from jobwarden.local.emulator import AwsError, ContractError, ServiceFill


def test_a_response_that_breaks_the_model_is_refused(account):
    fill = account.emulator.fill("codebuild")
    original = fill.batch_get_builds
    fill.batch_get_builds = lambda params, region: {"builds": [{"id": 42}]}
    try:
        with pytest.raises(ContractError, match="BatchGetBuilds response breaks the model"):
            boto3.client("codebuild").batch_get_builds(ids=["x:1"])
    finally:
        fill.batch_get_builds = original


def test_an_error_the_operation_cannot_raise_is_refused(account):
    class Wrong(ServiceFill):
        service = "codebuild"

        def operations(self):
            def fail(params, region):
                raise AwsError("NoSuchBucket", "not a CodeBuild error")

            return {"ListBuilds": fail}

    account.emulator.add(Wrong)
    with pytest.raises(ContractError, match="cannot return NoSuchBucket"):
        boto3.client("codebuild").list_builds()


def test_requests_are_validated_before_the_fill_sees_them(account):
    with pytest.raises(ParamValidationError):
        boto3.client("codebuild").batch_get_builds(ids="not-a-list")
    assert ("codebuild", "BatchGetBuilds") not in account.emulator.calls


def test_modeled_errors_reach_the_caller_as_client_errors(account):
    with pytest.raises(ClientError) as caught:
        boto3.client("codebuild").start_build(projectName="missing")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_more_than_100_ids_is_refused_like_the_service(account):
    with pytest.raises(ClientError, match="at most 100"):
        boto3.client("codebuild").batch_get_builds(ids=[f"p:{n}" for n in range(101)])


def test_operations_it_does_not_fill_fall_through_to_moto(account):
    account.project("web-app", {"team": "web"})
    projects = boto3.client("codebuild").batch_get_projects(names=["web-app"])["projects"]
    assert projects[0]["tags"] == [{"key": "team", "value": "web"}]
    assert ("codebuild", "BatchGetProjects") not in account.emulator.calls


def test_a_build_stays_running_however_often_it_is_read(account):
    account.project("web-app")
    build_id = boto3.client("codebuild").start_build(projectName="web-app")["build"]["id"]
    account.emulator.fill("codebuild").advance(build_id, "BUILD")
    for _ in range(3):
        assert account.build(build_id)["buildStatus"] == "IN_PROGRESS"
    assert account.build(build_id)["currentPhase"] == "BUILD"


def test_phases_only_move_forward(account):
    account.project("web-app")
    build_id = boto3.client("codebuild").start_build(projectName="web-app")["build"]["id"]
    fill = account.emulator.fill("codebuild")
    fill.advance(build_id, "BUILD")
    with pytest.raises(ValueError, match="already past"):
        fill.advance(build_id, "PROVISIONING")


# --- enum values, validated as the services validate them -----------------------------------


def test_an_enum_value_outside_the_model_is_refused_as_the_service_refuses_it(account):
    codebuild = boto3.client("codebuild")
    with pytest.raises(ClientError) as caught:
        codebuild.retry_build_batch(id="p:1", retryType="RETRY")  # botocore lets it through
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "1 validation error detected: Value 'RETRY' at 'retryType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [RETRY_ALL_BUILDS, RETRY_FAILED_BUILDS]"
    )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_enum_values_are_checked_inside_structures_and_every_one_is_reported(account):
    with pytest.raises(ClientError) as caught:
        boto3.client("codebuild").list_build_batches(
            filter={"status": "RUNNING"}, sortOrder="NEWEST"
        )
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("2 validation errors detected: ")
    assert "Value 'RUNNING' at 'filter.status'" in message
    assert "Value 'NEWEST' at 'sortOrder'" in message


def test_valid_enum_values_reach_the_fill(account):
    account.project("web-app")
    account.start_build("web-app", timedelta(minutes=5))
    ids = boto3.client("codebuild").list_builds(sortOrder="ASCENDING")["ids"]
    assert len(ids) == 1
    batch = boto3.client("batch")
    with pytest.raises(ClientError) as caught:
        batch.list_jobs(jobQueue="any", jobStatus="QUEUED")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


# --- CodeBuild: what the User Guide and the CLI examples say --------------------------------


def test_stop_build_on_an_ended_build_answers_its_final_status(account):
    """CodeBuild User Guide, "Stop builds": the final status (e.g. SUCCEEDED), not an error."""
    account.project("web-app")
    build_id = account.start_build("web-app", timedelta(minutes=5), timedelta(minutes=1))
    fill = account.emulator.fill("codebuild")
    fill.finish(build_id)
    answered = boto3.client("codebuild").stop_build(id=build_id)["build"]
    assert (answered["buildStatus"], answered["currentPhase"]) == ("SUCCEEDED", "COMPLETED")
    assert account.build(build_id) == answered


def test_stop_build_ends_a_running_build_as_the_cli_example_shows(account):
    account.project("web-app")
    build_id = account.start_build("web-app", timedelta(minutes=5), timedelta(minutes=1))
    answered = boto3.client("codebuild").stop_build(id=build_id)["build"]
    assert (answered["buildStatus"], answered["currentPhase"]) == ("STOPPED", "COMPLETED")
    assert answered["buildComplete"] is True
    assert [(p["phaseType"], p.get("phaseStatus")) for p in answered["phases"][-2:]] == [
        ("BUILD", "STOPPED"),
        ("COMPLETED", None),
    ]


@pytest.mark.parametrize("accepted", [True, False])
def test_list_builds_sort_order_with_a_next_token_either_way(account, accepted):
    """Assumption with a switch: ListBuildsForProject refuses the pair (aws/aws-cli#5863)."""
    account.project("busy")
    for n in range(101):
        account.start_build("busy", timedelta(minutes=200 - n))
    fill = account.emulator.fill("codebuild")
    fill.sort_order_with_token = accepted
    codebuild = boto3.client("codebuild")
    first = codebuild.list_builds(sortOrder="DESCENDING")
    assert len(first["ids"]) == 100
    rest = codebuild.list_builds(nextToken=first["nextToken"])  # never refused without it
    assert len(rest["ids"]) == 1
    if accepted:
        again = codebuild.list_builds(sortOrder="DESCENDING", nextToken=first["nextToken"])
        assert again["ids"] == rest["ids"]
    else:
        with pytest.raises(ClientError) as caught:
            codebuild.list_builds(sortOrder="DESCENDING", nextToken=first["nextToken"])
        assert caught.value.response["Error"] == {
            "Code": "InvalidInputException",
            "Message": "Sort order can't be specified when passing a nextToken",
        }


def _failed_and_stopped_batches(account) -> tuple[str, str]:
    from jobwarden.local.codebuild_batch import CodeBuildBatchFill

    fill = account.emulator.add(CodeBuildBatchFill)
    account.project("release-train")
    codebuild = boto3.client("codebuild")
    failed, stopped = (
        codebuild.start_build_batch(projectName="release-train")["buildBatch"]["id"]
        for _ in range(2)
    )
    for batch_id in (failed, stopped):
        fill.advance(batch_id, "IN_PROGRESS", builds=2)
    fill.finish(failed, "FAILED")
    codebuild.stop_build_batch(id=stopped)
    return failed, stopped


@pytest.mark.parametrize("retry_stopped", [True, False])
def test_retry_of_a_stopped_batch_either_way(account, retry_stopped):
    """Assumption with a switch: "Only batch builds that have failed can be retried"."""
    failed, stopped = _failed_and_stopped_batches(account)
    fill = account.emulator.fill("codebuild-batch")
    fill.retry_stopped = retry_stopped
    codebuild = boto3.client("codebuild")
    assert codebuild.retry_build_batch(id=failed)["buildBatch"]["currentPhase"] == "SUBMITTED"
    if retry_stopped:
        retried = codebuild.retry_build_batch(id=stopped)["buildBatch"]
        assert retried["buildBatchStatus"] == "IN_PROGRESS"
        assert fill.retries == 2
    else:
        with pytest.raises(ClientError) as caught:
            codebuild.retry_build_batch(id=stopped)
        assert caught.value.response["Error"]["Code"] == "InvalidInputException"
        assert fill.retries == 1


def test_a_retried_batch_gets_the_phases_the_cli_example_shows(account):
    """retry-build-batch.rst: ... IN_PROGRESS, FAILED (RETRY), SUBMITTED; groups unchanged."""
    failed, _ = _failed_and_stopped_batches(account)
    codebuild = boto3.client("codebuild")
    before = codebuild.batch_get_build_batches(ids=[failed])["buildBatches"][0]
    retried = codebuild.retry_build_batch(id=failed, retryType="RETRY_FAILED_BUILDS")["buildBatch"]
    assert [(p["phaseType"], p.get("phaseStatus")) for p in retried["phases"]] == [
        ("SUBMITTED", "SUCCEEDED"),
        ("IN_PROGRESS", "FAILED"),
        ("FAILED", "RETRY"),
        ("SUBMITTED", None),
    ]
    assert "endTime" in retried["phases"][-2]
    assert (retried["currentPhase"], retried["buildBatchStatus"]) == ("SUBMITTED", "IN_PROGRESS")
    assert retried["complete"] is False
    assert "endTime" not in retried
    assert (retried["id"], retried["startTime"], retried["buildBatchNumber"]) == (
        before["id"],
        before["startTime"],
        before["buildBatchNumber"],
    )
    assert retried["buildGroups"] == before["buildGroups"]


def test_stop_build_batch_answers_stopped_while_its_builds_are_still_stopping(account):
    """stop-build-batch.rst: the batch STOPPED and complete, a member build still IN_PROGRESS."""
    _, stopped = _failed_and_stopped_batches(account)
    fill = account.emulator.fill("codebuild-batch")
    codebuild = boto3.client("codebuild")
    batch = codebuild.batch_get_build_batches(ids=[stopped])["buildBatches"][0]
    assert (batch["buildBatchStatus"], batch["currentPhase"], batch["complete"]) == (
        "STOPPED",
        "STOPPED",
        True,
    )
    assert [(p["phaseType"], p.get("phaseStatus")) for p in batch["phases"][-2:]] == [
        ("IN_PROGRESS", "STOPPED"),
        ("STOPPED", None),
    ]
    members = [g["currentBuildSummary"]["buildStatus"] for g in batch["buildGroups"][1:]]
    assert members == ["IN_PROGRESS", "IN_PROGRESS"]
    fill.settle(stopped)
    again = codebuild.stop_build_batch(id=stopped)["buildBatch"]  # ended: answered, not refused
    assert again["buildBatchStatus"] == "STOPPED"
    members = [g["currentBuildSummary"]["buildStatus"] for g in again["buildGroups"][1:]]
    assert members == ["STOPPED", "STOPPED"]


# --- Batch -------------------------------------------------------------------------------------


def test_batch_list_jobs_answers_up_to_1000_jobs_a_page(account):
    from jobwarden.local.batch import BatchFill, create_job_queue, register_job_definition

    fill: BatchFill = account.emulator.fill("batch")
    create_job_queue(account.clients, "analytics")
    register_job_definition(account.clients, "align")
    batch = boto3.client("batch")
    for n in range(1001):
        batch.submit_job(jobName=f"j{n}", jobQueue="analytics", jobDefinition="align")
    assert len(fill.jobs["us-east-1"]) == 1001
    first = batch.list_jobs(jobQueue="analytics", jobStatus="SUBMITTED")
    assert len(first["jobSummaryList"]) == 1000
    rest = batch.list_jobs(
        jobQueue="analytics", jobStatus="SUBMITTED", nextToken=first["nextToken"]
    )
    assert (len(rest["jobSummaryList"]), "nextToken" in rest) == (1, False)
    capped = batch.list_jobs(jobQueue="analytics", jobStatus="SUBMITTED", maxResults=5000)
    assert len(capped["jobSummaryList"]) == 1000  # assumption: capped, not refused
    small = batch.list_jobs(jobQueue="analytics", jobStatus="SUBMITTED", maxResults=10)
    assert len(small["jobSummaryList"]) == 10

"""The gap fill itself: requests and responses are held to botocore's service model."""

from __future__ import annotations

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

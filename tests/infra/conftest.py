"""Synthesize the app once per session (per context) and share the template between tests.

Synthesis runs exactly as `app.py` does it (cdk.json's context, cdk-nag registered), into a
temporary directory, with no credentials and no network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.stack import STACK_NAME, JobWardenStack, build_app, cdk_json_context

SWEEP_HANDLER = "jobwarden.handlers.sweep.handler"
EVENTS_HANDLER = "jobwarden.handlers.events.handler"

# The context of the second synthesis: everything that changes what the stack looks like.
CUSTOM_CONTEXT = {
    "mode": "enforce",
    "alert_email": "oncall@example.com",
    "regions": ["eu-west-1", "us-east-1"],
    "sweep_rate_minutes": 15,
    "retention_days": 30,
    "reconcile_every_minutes": 45,
    "tracing": True,
    "dashboard": True,
    "lambda_error_alarm": True,
}


@dataclass
class Synth:
    app: App
    stack: JobWardenStack
    outdir: Path
    template: dict[str, Any]
    validation_error: str | None

    @property
    def assertions(self) -> Template:
        return Template.from_json(self.template)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]  # type: ignore[no-any-return]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == resource_type}

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.of_type(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def topic(self, display_name: str) -> tuple[str, dict[str, Any]]:
        (found,) = [
            (k, r)
            for k, r in self.of_type("AWS::SNS::Topic").items()
            if r["Properties"]["DisplayName"] == display_name
        ]
        return found

    def alerts_topic(self) -> tuple[str, dict[str, Any]]:
        """The topic jobwarden's functions publish job alerts to (encrypted)."""
        return self.topic("jobwarden alerts")

    def alarms_topic(self) -> tuple[str, dict[str, Any]]:
        """The topic the CloudWatch alarms publish to."""
        return self.topic("jobwarden alarms")

    def functions(self, handler: str) -> dict[str, dict[str, Any]]:
        return {
            k: r
            for k, r in self.of_type("AWS::Lambda::Function").items()
            if r["Properties"]["Handler"] == handler
        }

    def sweep_functions(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """service -> (logical id, resource) of every sweep function."""
        found = {}
        for logical_id, resource in self.functions(SWEEP_HANDLER).items():
            service = resource["Properties"]["Environment"]["Variables"]["JOBWARDEN_SERVICE"]
            assert service not in found, f"two sweep functions for {service}"
            found[service] = (logical_id, resource)
        return found

    def events_function(self) -> tuple[str, dict[str, Any]]:
        found = self.functions(EVENTS_HANDLER)
        assert len(found) == 1
        return next(iter(found.items()))

    def role_of(self, function_id: str) -> str:
        role = self.resources[function_id]["Properties"]["Role"]
        return role["Fn::GetAtt"][0]  # type: ignore[no-any-return]

    def statements_of(self, function_id: str) -> list[dict[str, Any]]:
        """Every statement the function's role holds (the role itself holds none)."""
        return self.role_statements(self.role_of(function_id))

    def scheduler_role(self) -> str:
        """The logical id of the one role EventBridge Scheduler assumes."""
        (role_id,) = [
            k
            for k, r in self.of_type("AWS::IAM::Role").items()
            if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
            == {"Service": "scheduler.amazonaws.com"}
        ]
        return role_id

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        """Every statement of the role's one policy (the role itself holds none)."""
        role = self.resources[role_id]["Properties"]
        assert "ManagedPolicyArns" not in role, f"{role_id} has managed policies"
        assert "Policies" not in role, f"{role_id} has inline policies"
        policies = [
            r["Properties"]
            for r in self.of_type("AWS::IAM::Policy").values()
            if {"Ref": role_id} in r["Properties"]["Roles"]
        ]
        assert len(policies) == 1, f"{role_id} has {len(policies)} policies"
        assert policies[0]["Roles"] == [{"Ref": role_id}]
        return policies[0]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def normalized(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements with Action and Resource as sorted lists, sorted, for exact comparison."""

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    result = [
        {
            **statement,
            "Action": sorted(as_list(statement["Action"])),
            "Resource": sorted(as_list(statement["Resource"]), key=json.dumps),
        }
        for statement in statements
    ]
    return sorted(result, key=json.dumps)


def synthesize(overrides: Mapping[str, Any], outdir: Path) -> Synth:
    app = build_app({**cdk_json_context(), **overrides}, outdir=str(outdir))
    stack = app.node.find_child(STACK_NAME)
    assert isinstance(stack, JobWardenStack)
    error = None
    try:
        app.synth()
    except RuntimeError as failure:  # cdk-nag (or CDK's own validation) found something
        report = outdir / "validation-report.json"
        error = f"{failure}\n{report.read_text() if report.exists() else ''}"
    template = json.loads((outdir / f"{STACK_NAME}.template.json").read_text())
    return Synth(app, stack, outdir, template, error)


@pytest.fixture(scope="session")
def default_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize({}, tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def custom_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(CUSTOM_CONTEXT, tmp_path_factory.mktemp("cdk-custom"))

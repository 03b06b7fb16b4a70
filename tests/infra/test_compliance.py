"""cdk-nag (AwsSolutions) and cfn-lint on the synthesized app.

cdk-nag runs as a validation plugin at synthesis (`Validations.of(app).add_plugins(...)`, the
cdk-nag 3 API): an unacknowledged finding fails synthesis. Every acknowledgement sits on the
construct it is about (a role, a function), never on the stack, and carries its reason; with
`write_suppressions_to_cloud_formation` they are also in the template's Metadata.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file
from jobwarden.services import REGISTRY

from infra.constructs.function import nag_form
from infra.constructs.sweeps import render_grants
from tests.infra.conftest import Synth

XRAY_AND_ANY = "AwsSolutions-IAM5[Resource::*]"
POLICY_TREE = (
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:"
    "parameter/jobwarden/policies/*]"
)
SCHEDULES = (
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:"
    "<AWS::AccountId>:schedule/jobwarden-deadlines/*]"
)
RUNTIME = "AwsSolutions-L1"


def test_cdk_nag_finds_nothing_unacknowledged(default_synth: Synth, custom_synth: Synth) -> None:
    for synth in (default_synth, custom_synth):
        assert synth.validation_error is None, synth.validation_error
    # The same checks run directly, so a failure lists every finding by rule and construct.
    report = AwsSolutionsChecks().validate_scope(default_synth.app)
    findings = [
        f"{v.rule_name} at {[r.construct_path for r in v.violating_resources]}"
        for v in report.violations
    ]
    assert findings == []
    assert report.success


def acknowledgements(synth: Synth) -> dict[str, dict[str, str]]:
    """logical id -> {finding id: reason}, from the cdk_nag Metadata in the template."""
    found = {}
    for logical_id, resource in synth.resources.items():
        rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        if rules:
            found[logical_id] = {rule["id"]: rule["reason"] for rule in rules}
    return found


def expected_acknowledgements(synth: Synth, regions: list[str]) -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {}

    def function(function_id: str, role_findings: set[str]) -> None:
        role_id = synth.role_of(function_id)
        (policy_id,) = [
            k
            for k, r in synth.of_type("AWS::IAM::Policy").items()
            if r["Properties"]["Roles"] == [{"Ref": role_id}]
        ]
        expected[role_id] = expected[policy_id] = role_findings
        expected[function_id] = {RUNTIME}
        for invoke_id, invoke in synth.of_type("AWS::Lambda::EventInvokeConfig").items():
            if invoke["Properties"]["FunctionName"] == {"Ref": function_id}:
                expected[invoke_id] = {RUNTIME}

    # X-Ray's actions take "*": acknowledged only where tracing is on (context `tracing`).
    traced = {XRAY_AND_ANY} if synth.stack.config.tracing.active else set()
    for service, (function_id, _) in synth.sweep_functions().items():
        findings = {*traced, POLICY_TREE, SCHEDULES}
        for grant in render_grants(REGISTRY[service], regions):
            findings.update(
                f"AwsSolutions-IAM5[Resource::{nag_form(r)}]" for r in grant.resources if "*" in r
            )
        function(function_id, findings)
    events_id, _ = synth.events_function()
    function(events_id, {*traced, POLICY_TREE, SCHEDULES})
    # The alarms topic is not encrypted: CloudWatch cannot publish to the
    # AWS managed SNS key, and it carries alarm notifications only.
    alarms_id, _ = synth.alarms_topic()
    expected[alarms_id] = {"AwsSolutions-SNS2"}
    # The Scheduler role and the schedule group need no acknowledgement: the role invokes
    # named functions only.
    return expected


def test_acknowledgements_are_per_resource_and_give_reasons(
    default_synth: Synth, custom_synth: Synth
) -> None:
    for synth, regions in ((default_synth, []), (custom_synth, ["eu-west-1", "us-east-1"])):
        found = acknowledgements(synth)
        assert {k: set(v) for k, v in found.items()} == expected_acknowledgements(synth, regions)
        for rules in found.values():
            for finding, reason in rules.items():
                assert len(reason) > 40, f"{finding}: reason too thin: {reason!r}"
        # Nothing is acknowledged stack- or app-wide.
        key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for scope in (synth.app, synth.stack):
            assert [m for m in scope.node.metadata if m.type == key] == []


def test_codebuild_acknowledgements_say_why(default_synth: Synth, custom_synth: Synth) -> None:
    function_id, _ = default_synth.sweep_functions()["codebuild"]
    rules = acknowledgements(default_synth)[default_synth.role_of(function_id)]
    assert "X-Ray" not in rules[XRAY_AND_ANY]  # tracing is off by default
    assert "ListBuilds has no resource type" in rules[XRAY_AND_ANY]
    traced_id, _ = custom_synth.sweep_functions()["codebuild"]
    traced = acknowledgements(custom_synth)[custom_synth.role_of(traced_id)]
    assert "X-Ray" in traced[XRAY_AND_ANY]
    assert "ListBuilds has no resource type" in traced[XRAY_AND_ANY]
    projects = (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:"
        "<AWS::AccountId>:project/*]"
    )
    assert rules[projects].startswith(
        "codebuild:BatchGetBuilds, codebuild:BatchGetProjects, codebuild:StopBuild: "
    )
    assert "/jobwarden/policies/" in rules[POLICY_TREE]
    assert "jobwarden-deadlines group and no other group" in rules[SCHEDULES]


def test_events_function_acknowledgements_say_why(
    default_synth: Synth, custom_synth: Synth
) -> None:
    function_id, _ = default_synth.events_function()
    rules = acknowledgements(default_synth)[default_synth.role_of(function_id)]
    assert set(rules) == {POLICY_TREE, SCHEDULES}  # no X-Ray, so no "*" at all
    traced_id, _ = custom_synth.events_function()
    traced = acknowledgements(custom_synth)[custom_synth.role_of(traced_id)]
    assert set(traced) == {XRAY_AND_ANY, POLICY_TREE, SCHEDULES}
    assert traced[XRAY_AND_ANY].startswith("X-Ray's PutTraceSegments")
    assert rules[SCHEDULES].startswith(
        "scheduler:CreateSchedule, scheduler:UpdateSchedule, scheduler:DeleteSchedule: "
    )


def test_cfn_lint_passes_on_the_synthesized_templates(
    default_synth: Synth, custom_synth: Synth
) -> None:
    for synth in (default_synth, custom_synth):
        template = Path(synth.outdir) / "JobWarden.template.json"
        # W3005: CDK makes each function depend on its role as well as the role's policy;
        # the role dependency is redundant (a GetAtt already orders it) and harmless.
        config = ManualArgs(regions=["us-east-1", "eu-west-1"], ignore_checks=["W3005"])
        matches = lint_file(template, config=config)
        assert [f"{m.rule.id} {m.message} ({m.path})" for m in matches] == []

"""CDK context: defaults, overrides, and clear errors for values the stack cannot use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jobwarden.model import Mode
from jobwarden.policies import parse_settings
from jobwarden.services import REGISTRY

from infra.constructs.function import TraceLevel
from infra.stack import CDK_JSON, ContextError, JobWardenConfig, build_app, cdk_json_context
from tests.infra.conftest import Synth

ROOT = Path(__file__).resolve().parents[2]


def test_cdk_json_runs_app_py_with_the_documented_defaults() -> None:
    cdk_json = json.loads(CDK_JSON.read_text())
    assert cdk_json["app"] == "python3 app.py"
    config = JobWardenConfig.from_context(cdk_json_context())
    assert config == JobWardenConfig.from_context({})
    assert config == JobWardenConfig(
        mode=Mode.DRY_RUN,
        sweep_rate_minutes=5,
        services=tuple(sorted(REGISTRY)),
        alert_email=None,
        regions=(),
        retention_days=90,
        reconcile_every_minutes=30,
    )
    assert cdk_json["context"]["reconcile_every_minutes"] == 30


def test_values_from_the_command_line_are_strings() -> None:
    config = JobWardenConfig.from_context(
        {
            "mode": "enforce",
            "sweep_rate_minutes": "10",
            "services": "codebuild, codebuild",
            "alert_email": " ops@example.com ",
            "regions": "eu-west-1,us-east-2",
            "retention_days": "7",
            "reconcile_every_minutes": "60",
        }
    )
    assert config == JobWardenConfig(
        mode=Mode.ENFORCE,
        sweep_rate_minutes=10,
        services=("codebuild",),
        alert_email="ops@example.com",
        regions=("eu-west-1", "us-east-2"),
        retention_days=7,
        reconcile_every_minutes=60,
    )


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"mode": "yolo"}, "context 'mode' must be one of ['dry_run', 'enforce']"),
        ({"mode": "DRY_RUN"}, "context 'mode'"),
        ({"services": ["codebuild", "lambda"]}, "unknown services ['lambda']; known: "),
        ({"services": []}, "names no service"),
        ({"services": 3}, "context 'services' must be a list"),
        ({"sweep_rate_minutes": 0}, "'sweep_rate_minutes' must be a whole number, 1..1440"),
        ({"sweep_rate_minutes": "5m"}, "'sweep_rate_minutes'"),
        ({"sweep_rate_minutes": True}, "'sweep_rate_minutes'"),
        ({"retention_days": -1}, "'retention_days' must be a whole number, at least 1"),
        ({"reconcile_every_minutes": 0}, "'reconcile_every_minutes' must be a whole number, 1.."),
        ({"reconcile_every_minutes": 1441}, "'reconcile_every_minutes'"),
        ({"reconcile_every_minutes": "30m"}, "'reconcile_every_minutes'"),
        ({"regions": ["eu-west-1", "mars"]}, "malformed region names ['mars']"),
        ({"alert_email": "not-an-address"}, "'alert_email' must be an email address"),
        ({"tracing": "yes"}, "context 'tracing' must be false | true | calls, got 'yes'"),
        ({"tracing": 1}, "context 'tracing' must be false | true | calls"),
    ],
)
def test_unusable_context_fails_with_a_clear_message(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError) as error:
        JobWardenConfig.from_context(context)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (False, TraceLevel.OFF),
        ("false", TraceLevel.OFF),
        (True, TraceLevel.INVOCATIONS),
        ("TRUE", TraceLevel.INVOCATIONS),
        ("calls", TraceLevel.CALLS),
        (" Calls ", TraceLevel.CALLS),
    ],
)
def test_tracing_is_off_invocations_or_calls(value: Any, level: TraceLevel) -> None:
    """JSON booleans from cdk.json, strings from `-c tracing=...`."""
    assert JobWardenConfig.from_context({"tracing": value}).tracing is level


def test_unknown_services_error_lists_every_registered_service() -> None:
    with pytest.raises(ContextError) as error:
        JobWardenConfig.from_context({"services": "lambda"})
    assert str(error.value).endswith(f"known: {', '.join(sorted(REGISTRY))}")


def test_bad_mode_stops_the_app_before_synthesis() -> None:
    with pytest.raises(ContextError, match="mode"):
        build_app({**cdk_json_context(), "mode": "enforce-everything"})


def test_cli_context_overrides_cdk_json_and_fails_clearly(tmp_path: Path) -> None:
    """`cdk -c mode=...` reaches app.py through CDK_CONTEXT_JSON and wins over cdk.json."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update(
        CDK_CONTEXT_JSON=json.dumps({"mode": "enforce-everything"}), CDK_OUTDIR=str(tmp_path)
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "context 'mode' must be one of ['dry_run', 'enforce'], got 'enforce-everything'" in (
        result.stderr
    )
    assert not (tmp_path / "JobWarden.template.json").exists()


def test_custom_context_shapes_the_stack(custom_synth: Synth) -> None:
    assert custom_synth.validation_error is None, custom_synth.validation_error
    settings = next(
        r["Properties"]["Value"]
        for r in custom_synth.of_type("AWS::SSM::Parameter").values()
        if r["Properties"]["Name"] == "/jobwarden/settings"
    )
    parsed = parse_settings(settings)
    assert parsed.mode is Mode.ENFORCE
    assert parsed.regions == ("eu-west-1", "us-east-1")
    assert parsed.ledger_retention_days == 30
    assert parsed.reconcile_every_minutes == 45

    # The address hears both the job alerts and the alarms.
    subscriptions = [
        r["Properties"] for r in custom_synth.of_type("AWS::SNS::Subscription").values()
    ]
    assert sorted(subscriptions, key=lambda s: s["TopicArn"]["Ref"]) == [
        {"Endpoint": "oncall@example.com", "Protocol": "email", "TopicArn": {"Ref": topic_id}}
        for topic_id in sorted((custom_synth.alarms_topic()[0], custom_synth.alerts_topic()[0]))
    ]

    schedules = [
        r["Properties"]["ScheduleExpression"]
        for r in custom_synth.of_type("AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert schedules == ["rate(15 minutes)"] * len(REGISTRY)
    for function_id, _ in custom_synth.sweep_functions().values():
        (invoke,) = [
            r["Properties"]
            for r in custom_synth.of_type("AWS::Lambda::EventInvokeConfig").values()
            if r["Properties"]["FunctionName"] == {"Ref": function_id}
        ]
        assert invoke["MaximumEventAgeInSeconds"] == 15 * 60


def test_notify_topics_are_standard_topic_arns() -> None:
    arns = "arn:aws:sns:us-east-1:111122223333:data,arn:aws:sns:us-east-1:111122223333:data"
    assert JobWardenConfig.from_context({"notify_topics": arns}).notify_topics == (
        "arn:aws:sns:us-east-1:111122223333:data",
    )
    for bad in ("data-team", "arn:aws:sns:us-east-1:111122223333:ops.fifo", ["arn:aws:sqs:x"]):
        with pytest.raises(ContextError, match="notify_topics"):
            JobWardenConfig.from_context({"notify_topics": bad})

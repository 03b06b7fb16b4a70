"""The events handler (minimal for now): logs and counts each event, never raises."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jobwarden.handlers import events
from jobwarden.services import REGISTRY

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


@dataclass
class FakeContext:
    function_name: str = "jobwarden-events"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:jobwarden-events"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


@pytest.fixture(autouse=True)
def metrics_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lambda has POWERTOOLS_METRICS_NAMESPACE when the module loads; here it comes later."""
    monkeypatch.setattr(events.metrics, "namespace", "JobWarden")


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text())  # type: ignore[no-any-return]


def invoke(event: Any, capsys: pytest.CaptureFixture[str]) -> tuple[Any, list[dict[str, Any]]]:
    result = events.handler(event, FakeContext())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return result, lines


def emitted(lines: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(metric, service dimension, value) of every EMF document printed."""
    found = []
    for line in lines:
        if "_aws" not in line:
            continue
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "JobWarden"
        assert directive["Dimensions"] == [["service"]]
        for metric in directive["Metrics"]:
            value = line[metric["Name"]]
            found.append(
                (metric["Name"], line["service"], sum(value) if isinstance(value, list) else value)
            )
    return found


@pytest.mark.parametrize(
    ("file", "service", "detail_type"),
    [
        (
            "codebuild_build_state_change_succeeded.json",
            "codebuild",
            "CodeBuild Build State Change",
        ),
        ("glue_job_state_change_failed.json", "glue", "Glue Job State Change"),
        ("glue_job_run_status.json", "glue", "Glue Job Run Status"),
        ("batch_job_state_change_runnable.json", "batch", "Batch Job State Change"),
    ],
)
def test_subscribed_events_are_logged_and_counted(
    file: str,
    service: str,
    detail_type: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = sample(file)
    result, lines = invoke(event, capsys)
    assert result == {"received": detail_type}
    assert emitted(lines) == [("EventsReceived", service, 1.0)]
    (log,) = [r for r in caplog.records if r.getMessage() == "event received"]
    assert log.levelname == "INFO"
    assert vars(log)["source"] == event["source"]
    assert vars(log)["detail_type"] == detail_type
    assert vars(log)["event_id"] == event["id"]


def test_amplify_deployment_events_are_received(capsys: pytest.CaptureFixture[str]) -> None:
    # AWS publishes no sample payload for Amplify (see tests/events/README.md); only the
    # envelope matters here.
    event = {
        "version": "0",
        "id": "5b2f0b14-3f1a-4b57-9f36-1f2b8c3b2d11",
        "detail-type": "Amplify Deployment Status Change",
        "source": "aws.amplify",
        "detail": {"appId": "d1a2b3c4", "branchName": "main", "jobId": "7", "jobStatus": "STARTED"},
    }
    result, lines = invoke(event, capsys)
    assert result == {"received": "Amplify Deployment Status Change"}
    assert emitted(lines) == [("EventsReceived", "amplify", 1.0)]


@pytest.mark.parametrize(
    ("event", "service", "ignored"),
    [
        (sample("codebuild_build_phase_change.json"), "codebuild", "CodeBuild Build Phase Change"),
        (
            {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"},
            "ec2",
            "EC2 Instance State-change Notification",
        ),
        ({}, "unknown", None),
        (
            {"source": "custom.app", "detail-type": "Job State Change"},
            "unknown",
            "Job State Change",
        ),
        ({"source": ["aws.glue"], "detail-type": {"x": 1}}, "unknown", None),
        ({"source": "aws.", "detail-type": 7}, "unknown", None),
        (None, "unknown", None),
        ([], "unknown", None),
        ("not an event", "unknown", None),
    ],
)
def test_unknown_or_malformed_events_are_ignored_never_raised(
    event: Any,
    service: str,
    ignored: str | None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    result, lines = invoke(event, capsys)
    assert result == {"ignored": ignored}
    assert emitted(lines) == [("EventsIgnored", service, 1.0)]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "event ignored: not a subscribed state change")
    ]


def test_every_registered_service_has_its_state_change_events() -> None:
    assert set(REGISTRY) <= set(events.SUBSCRIPTIONS)
    for source, detail_types in events.SUBSCRIPTIONS.values():
        assert source.startswith("aws.")
        assert detail_types
        assert events.service_of(source) in {name.split("-")[0] for name in events.SUBSCRIPTIONS}

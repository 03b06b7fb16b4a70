"""Fixtures shared by every layer: no test ever reaches a real AWS account."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# AWS's sample events, each with its source (tests/events/README.md).
EVENTS_DIR = Path(__file__).resolve().parent / "events"


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and a region, and no Powertools side effects."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "JobWarden",
        "POWERTOOLS_SERVICE_NAME": "jobwarden",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return


@pytest.fixture
def now() -> datetime:
    return NOW


@dataclass
class LambdaContext:
    """What the handlers read of Lambda's context object; `remaining_ms` is the time left."""

    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:jobwarden-sweep"
    function_name: str = "jobwarden"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    remaining_ms: Callable[[], int] = field(default=lambda: 300_000)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms()


def alert_bodies(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ledger entries the alerts carried, one by one or in a digest (render.py's JSON)."""
    entries = []
    for alert in alerts:
        body = json.loads(alert["Message"])
        if body["kind"] == "digest":
            entries += [item["entry"] for item in body["entries"]]
        else:
            entries.append(body["entry"])
    return entries


def sample_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text())  # type: ignore[no-any-return]


def build_event(status: str, build_id: str, at: datetime, started: datetime) -> dict[str, Any]:
    """A CodeBuild state change in us-east-1. AWS documents only a SUCCEEDED sample; the other
    states differ in these fields."""
    event = copy.deepcopy(sample_event("codebuild_build_state_change_succeeded.json"))
    event["time"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    event["region"] = "us-east-1"
    event["detail"]["build-status"] = status
    event["detail"]["project-name"] = build_id.split(":", maxsplit=1)[0]
    event["detail"]["build-id"] = f"arn:aws:codebuild:us-east-1:123456789012:build/{build_id}"
    info = event["detail"]["additional-information"]
    info["build-start-time"] = started.strftime("%b %-d, %Y %-I:%M:%S %p")
    return event

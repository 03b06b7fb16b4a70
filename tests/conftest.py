"""Fixtures shared by every layer: no test ever reaches a real AWS account."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


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

"""How a Batch job detail becomes a Job: times, children, cost basis (no AWS calls)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jobwarden.aws import Clients
from jobwarden.model import Settings
from jobwarden.services.batch import BatchJobs, cost_basis

EVENTS = Path(__file__).parents[1] / "events"
NOW = datetime(2022, 1, 12, 1, 36, 40, tzinfo=UTC)  # two hours after the sample's createdAt


def to_job(detail: dict, queue_tags: dict | None = None):
    adapter = BatchJobs(Clients(default_region="us-east-1"), "us-east-1", Settings())
    return adapter.to_job(detail, queue_tags or {}, NOW)


def runnable_sample() -> dict:
    """AWS's documented RUNNABLE state-change event: the DescribeJobs shape, as the service
    sends it, without `startedAt` (which botocore's model wrongly marks required)."""
    event = json.loads((EVENTS / "batch_job_state_change_runnable.json").read_text())
    return event["detail"]  # type: ignore[no-any-return]


def test_a_runnable_job_without_started_at_is_queued_since_creation():
    job = to_job(runnable_sample(), {"team": "data", "resourceArn": "queue"})

    assert job.job_id == "4c7599ae-0a82-49aa-ba5a-4727fcce14a8"
    assert job.name == "event-test"
    assert job.status == "RUNNABLE"
    assert job.submitted_at == datetime(2022, 1, 11, 23, 36, 40, 58000, tzinfo=UTC)
    assert job.started_at is None
    assert job.queue_seconds(NOW) == pytest.approx(2 * 3600, abs=1)
    assert job.tags["team"] == "data"
    assert job.tags["resourceArn"].endswith(":job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8")
    assert job.cost_basis.components == (("batch-ec2:vcpu", 2.0),)  # platformCapabilities []


def test_a_job_back_in_the_queue_for_another_attempt_waits_since_that_attempt_ended():
    detail = runnable_sample()
    created = detail["createdAt"]
    detail["attempts"] = [
        {"startedAt": created + 60_000, "stoppedAt": created + 90 * 60_000, "statusReason": "x"}
    ]
    job = to_job(detail)

    assert job.started_at is None
    assert job.queue_seconds(NOW) == pytest.approx(30 * 60, abs=1)  # not the 89 min it ran


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (  # legacy vcpus / memory on EC2: billed by vCPU
            {"container": {"vcpus": 4, "memory": 8192}, "platformCapabilities": ["EC2"]},
            (("batch-ec2:vcpu", 4.0),),
        ),
        (  # Fargate x86 by default: vCPU and GB
            {
                "container": {
                    "resourceRequirements": [
                        {"type": "VCPU", "value": "0.25"},
                        {"type": "MEMORY", "value": "512"},
                    ]
                },
                "platformCapabilities": ["FARGATE"],
            },
            (("fargate:X86_64:vcpu", 0.25), ("fargate:X86_64:gb", 0.5)),
        ),
        (  # resourceRequirements win over the legacy fields; ARM from the runtime platform
            {
                "container": {
                    "vcpus": 1,
                    "memory": 1024,
                    "resourceRequirements": [
                        {"type": "VCPU", "value": "4"},
                        {"type": "MEMORY", "value": "8192"},
                        {"type": "GPU", "value": "1"},
                    ],
                    "runtimePlatform": {"cpuArchitecture": "ARM64"},
                },
                "platformCapabilities": ["FARGATE"],
            },
            (("fargate:ARM64:vcpu", 4.0), ("fargate:ARM64:gb", 8.0)),
        ),
    ],
)
def test_cost_basis(detail, expected):
    assert cost_basis(detail).components == expected


def test_jobs_without_a_single_container_have_no_cost_basis():
    multi_node = {"nodeProperties": {"numNodes": 4, "mainNode": 0, "nodeRangeProperties": []}}
    assert cost_basis(multi_node) is None

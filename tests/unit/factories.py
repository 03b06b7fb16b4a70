"""Small builders for domain records, so each test states only what it is about."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from jobwarden.model import Job, Policy
from jobwarden.pricing import codebuild_basis

from tests.conftest import NOW


def job(
    *,
    name: str = "nightly-etl",
    service: str = "codebuild",
    queued_minutes: float = 1,
    run_minutes: float | None = 30,
    tags: dict[str, str] | None = None,
    compute: str = "BUILD_GENERAL1_SMALL",
    now: datetime = NOW,
    job_id: str | None = None,
) -> Job:
    """A job submitted `queued_minutes + run_minutes` ago; `run_minutes=None` means queued."""
    running = run_minutes or 0
    submitted = now - timedelta(minutes=queued_minutes + running)
    started = None if run_minutes is None else now - timedelta(minutes=running)
    return Job(
        service=service,
        job_id=job_id or f"{name}:0001",
        name=name,
        region="us-east-1",
        status="IN_PROGRESS",
        submitted_at=submitted,
        started_at=started,
        tags=tags or {},
        cost_basis=codebuild_basis("LINUX_CONTAINER", compute),
    )


def policy(name: str = "nightly-builds", **fields: Any) -> Policy:
    return Policy(name=name, **fields)

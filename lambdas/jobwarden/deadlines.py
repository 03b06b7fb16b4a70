"""One-time EventBridge Scheduler schedules that check a job the moment its limit passes.

A schedule invokes the job's own service's sweep function with `{"check": {...}}`; that
function alone holds the service's stop rights, and it re-reads the job before acting, so a
schedule that fires late or after the job ended never stops the wrong thing. Schedules
delete themselves after they fire; the events function deletes them when the job ends first.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from jobwarden.bounds import LATEST_SCHEDULABLE
from jobwarden.services.base import error_code

GROUP = "jobwarden-deadlines"
# Scheduler's at() has whole seconds, and a job is over its limit only after the limit: fire
# in the first whole second past the deadline, never on or before it.
PAST_THE_DEADLINE = timedelta(seconds=1)


@dataclass(frozen=True)
class Targets:
    """Where deadlines go: each service's sweep function, and the role Scheduler assumes."""

    function_arns: dict[str, str]
    role_arn: str
    group: str = GROUP


class DeadlineBook(Protocol):
    def covers(self, service: str) -> bool:
        """Whether a check can be scheduled for this service (its sweep function is known)."""

    def schedule(
        self, service: str, region: str, job_id: str, name: str, at: datetime
    ) -> str | None:
        """Create (or move) the job's check; its schedule's name, or None when `at` is past
        what Scheduler accepts (the sweeps cover the job)."""

    def cancel(self, name: str) -> None: ...


def schedule_name(service: str, region: str, job_id: str) -> str:
    """Names are at most 64 of [0-9A-Za-z_.-]; job ids are longer and freer, so hash them."""
    digest = hashlib.sha256(f"{service}#{region}#{job_id}".encode()).hexdigest()[:32]
    return f"jw-{service}-{digest}"[:64]


class SchedulerDeadlines:
    def __init__(self, scheduler_client: Any, targets: Targets) -> None:
        self._scheduler = scheduler_client
        self._targets = targets

    def covers(self, service: str) -> bool:
        return service in self._targets.function_arns

    def schedule(
        self, service: str, region: str, job_id: str, name: str, at: datetime
    ) -> str | None:
        if at >= LATEST_SCHEDULABLE:
            return None
        schedule = schedule_name(service, region, job_id)
        at = at.astimezone(UTC).replace(microsecond=0) + PAST_THE_DEADLINE
        check = {"check": {"service": service, "region": region, "job_id": job_id, "name": name}}
        request = {
            "Name": schedule,
            "GroupName": self._targets.group,
            "ScheduleExpression": f"at({at:%Y-%m-%dT%H:%M:%S})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Target": {
                "Arn": self._targets.function_arns[service],
                "RoleArn": self._targets.role_arn,
                "Input": json.dumps(check),
            },
        }
        try:
            self._scheduler.create_schedule(**request)
        except self._scheduler.exceptions.ConflictException:
            self._scheduler.update_schedule(**request)
        return schedule

    def cancel(self, name: str) -> None:
        try:
            self._scheduler.delete_schedule(Name=name, GroupName=self._targets.group)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":  # fired and deleted already
                raise

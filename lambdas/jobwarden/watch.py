"""React to the services' state-change events: keep the index, set and clear deadlines.

The events function holds no service's stop rights: it only records what started and
ended, and asks EventBridge Scheduler to invoke the service's own sweep function at the
moment a limit could first be passed. The check there re-reads the job and decides with all
it knows (tags, cost), so the deadline here may be early, never late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from jobwarden.deadlines import DeadlineBook
from jobwarden.engine import matches, next_deadline
from jobwarden.eventfields import MalformedEvent
from jobwarden.index import Change, Index, JobEvent
from jobwarden.model import Job
from jobwarden.policies import Configuration
from jobwarden.services import REGISTRY
from jobwarden.services.base import ServiceAdapter

logger = Logger(service="jobwarden", child=True)

# Scheduler needs a moment in the future; a deadline already past is checked this soon.
SOONEST = timedelta(minutes=1)
# An event stamped further ahead of our clock than this is not believed: its time would make
# the index ignore every true event of the job after it.
CLOCK_SKEW = timedelta(minutes=15)
# What reading an event's fields can raise: `from_event` raises MalformedEvent, and any other
# of these from it is still about the event, not about us.
READ_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def _kind(event: Any) -> tuple[str, str] | None:
    """(source, detail-type) of an EventBridge event; None for anything else."""
    if not isinstance(event, Mapping):
        return None
    source, detail_type = event.get("source"), event.get("detail-type")
    if not isinstance(source, str) or not isinstance(detail_type, str):
        return None
    return source, detail_type


def _not_after(event: JobEvent, latest: datetime) -> None:
    for label, when in (
        ("time", event.at),
        ("submitted", event.submitted_at),
        ("started", event.running_since),
    ):
        if when is not None and when > latest:
            raise MalformedEvent(f"{label} {when.isoformat()} is ahead of our clock")


@dataclass(frozen=True)
class Reaction:
    """What one event did; `kind` is "ignored", "malformed" or the index change."""

    kind: str
    service: str = ""
    job_id: str = ""
    deadline: datetime | None = None
    why: str = ""

    def summary(self) -> dict[str, Any]:
        data = {"kind": self.kind, "service": self.service, "job_id": self.job_id, "why": self.why}
        if self.deadline:
            data["deadline"] = self.deadline.isoformat()
        return {key: value for key, value in data.items() if value}


class Watcher:
    def __init__(
        self,
        index: Index,
        deadlines: DeadlineBook,
        configuration: Configuration,
        adapters: Mapping[str, type[ServiceAdapter]] = REGISTRY,
    ) -> None:
        self.index = index
        self.deadlines = deadlines
        self.configuration = configuration
        self.adapters = adapters

    def handle(self, event: Any, now: datetime) -> Reaction:
        """React to one event. Anything that is not a well-formed event of a subscribed kind
        is "malformed" and touches neither the index nor the scheduler; a well-formed event
        of another kind is "ignored". Only the index's and the scheduler's own failures
        raise."""
        kind = _kind(event)
        if kind is None:
            return Reaction("malformed", why="not an EventBridge event (no source, detail-type)")
        readers = [a for a in self.adapters.values() if kind in a.events]
        if not readers:
            return Reaction("ignored", why=f"not a subscribed event: {kind}")
        for adapter in readers:
            try:
                job_event = adapter.from_event(event)
                if job_event is not None:
                    _not_after(job_event, now + CLOCK_SKEW)
            except READ_ERRORS as error:
                return Reaction("malformed", adapter.name, why=f"{type(error).__name__}: {error}")
            if job_event is not None:
                return self._apply(job_event, now)
        return Reaction("ignored", why="not about a job any adapter watches")

    def _apply(self, event: JobEvent, now: datetime) -> Reaction:
        change, before = self.index.observe(event)
        reaction = Reaction(str(change), event.service, event.job_id)
        if change is Change.LEFT:
            if before and before.deadline_schedule:
                self.deadlines.cancel(before.deadline_schedule)
            return reaction
        newly_running = (
            change is Change.UPDATED
            and event.running_since
            and before
            and before.state != event.state
        )
        if (change is Change.ENTERED or newly_running) and self.deadlines.covers(event.service):
            submitted = before.first_seen if before else (event.submitted_at or event.at)
            deadline = self.earliest_deadline(event, submitted)
            if deadline is not None:
                at = max(deadline, now + SOONEST)
                name = self.deadlines.schedule(
                    event.service, event.region, event.job_id, event.name, at
                )
                if name is None:  # beyond what Scheduler accepts: the sweeps cover it
                    return reaction
                if not self.index.set_deadline(event.service, event.region, event.job_id, name):
                    self.deadlines.cancel(name)  # the job ended meanwhile
                    return reaction
                return replace(reaction, deadline=at)
        return reaction

    def earliest_deadline(self, event: JobEvent, submitted: datetime) -> datetime | None:
        """The first moment any policy that could govern the job might be passed.

        The event carries no tags and no price, so every policy matching the service and name
        counts, and the job is assumed to have run since it was submitted unless the event
        says when it started: both can only make the deadline earlier.
        """
        queued = Job(event.service, event.job_id, event.name, event.region, event.state, submitted)
        running = replace(queued, started_at=event.running_since or submitted)
        # An event that does not name the job as policies do (Amplify's: app id, not name)
        # counts every policy of the service.
        unnamed = bool(event.details.get("name_unknown"))
        candidates = [
            deadline
            for policy in self.configuration.policies
            if matches(replace(policy, tags={}, names=("*",) if unnamed else policy.names), queued)
            for job in (queued, running)
            if (deadline := next_deadline(job, policy, self.configuration.settings.prices))
        ]
        return min(candidates, default=None)

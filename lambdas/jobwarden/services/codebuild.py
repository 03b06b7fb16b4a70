"""CodeBuild builds: list newest first, stop with StopBuild."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from jobwarden.eventfields import MalformedEvent, aware, optional_text, section, text
from jobwarden.eventfields import envelope as read_envelope
from jobwarden.index import JobEvent
from jobwarden.model import Job, Outcome
from jobwarden.pricing import codebuild_basis
from jobwarden.services import register
from jobwarden.services.base import Grant, ServiceAdapter, error_code

# No build can be older than the longest build timeout (36 h) plus the longest queue
# timeout (8 h), so listing newest-first can stop once it passes that age.
MAX_BUILD_AGE = timedelta(hours=36 + 8)
QUEUED_PHASES = frozenset({"SUBMITTED", "QUEUED"})
BATCH_LIMIT = 100  # BatchGetBuilds and BatchGetProjects take at most 100 names
# The state-change event writes its start time like "Sep 1, 2017 4:12:29 PM" (UTC).
EVENT_TIME_FORMAT = "%b %d, %Y %I:%M:%S %p"


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@register
class CodeBuildBuilds(ServiceAdapter):
    name = "codebuild"
    grants = (
        Grant(
            ("codebuild:ListBuilds",),
            why_any_resource="ListBuilds has no resource type; it lists the whole account",
        ),
        Grant(
            ("codebuild:BatchGetBuilds", "codebuild:BatchGetProjects", "codebuild:StopBuild"),
            ("arn:{partition}:codebuild:{region}:{account}:project/*",),
        ),
    )

    events = (("aws.codebuild", "CodeBuild Build State Change"),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client = self.clients.client("codebuild", self.region)
        self._project_tags: dict[str, dict[str, str]] = {}

    def list_active(self, now: datetime) -> Iterator[Job]:
        oldest = now - MAX_BUILD_AGE
        for page in self._client.get_paginator("list_builds").paginate(sortOrder="DESCENDING"):
            builds = self._describe(page.get("ids", []))
            active = [
                b for b in builds if b["buildStatus"] == "IN_PROGRESS" and b["startTime"] >= oldest
            ]
            self._load_tags({b["projectName"] for b in active})
            for build in active:
                yield self.to_job(build)
            if any(b["startTime"] < oldest for b in builds):
                return

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> JobEvent | None:
        envelope = read_envelope(event)
        detail = envelope.detail
        build_arn = text(detail, "build-id")
        status = text(detail, "build-status")
        build_id = build_arn.split(":build/", 1)[1] if ":build/" in build_arn else build_arn
        if not build_id:
            raise MalformedEvent(f"build-id: {build_arn!r} names no build")
        started = optional_text(section(detail, "additional-information"), "build-start-time")
        return JobEvent(
            service=cls.name,
            region=envelope.region,
            job_id=build_id,
            name=text(detail, "project-name"),
            state=status,
            active=status == "IN_PROGRESS",
            at=envelope.time,
            submitted_at=_event_start_time(started) if started else None,
        )

    def describe_many(
        self, job_ids: Sequence[str], now: datetime, names: Mapping[str, str] | None = None
    ) -> dict[str, Job]:
        active = [b for b in self._describe(list(job_ids)) if b["buildStatus"] == "IN_PROGRESS"]
        self._load_tags({b["projectName"] for b in active})
        return {build["id"]: self.to_job(build) for build in active}

    def _describe(self, ids: list[str]) -> list[dict[str, Any]]:
        builds: list[dict[str, Any]] = []
        for chunk in chunks(ids, BATCH_LIMIT):
            builds.extend(self._client.batch_get_builds(ids=chunk).get("builds", []))
        return builds

    def _load_tags(self, projects: set[str]) -> None:
        missing = sorted(projects - self._project_tags.keys())
        for chunk in chunks(missing, BATCH_LIMIT):
            for project in self._client.batch_get_projects(names=chunk).get("projects", []):
                self._project_tags[project["name"]] = {
                    tag["key"]: tag.get("value", "") for tag in project.get("tags", [])
                }

    def to_job(self, build: dict[str, Any]) -> Job:
        phase = build.get("currentPhase", "SUBMITTED")
        environment = build.get("environment", {})
        return Job(
            service=self.name,
            job_id=build["id"],
            name=build["projectName"],
            region=self.region,
            status=f"{build['buildStatus']} ({phase})",
            submitted_at=build["startTime"],
            started_at=None if phase in QUEUED_PHASES else _run_start(build),
            tags=self._project_tags.get(build["projectName"], {}),
            cost_basis=codebuild_basis(
                environment.get("type", "LINUX_CONTAINER"), environment.get("computeType", "")
            ),
            arn=build.get("arn"),
        )

    def stop(self, job: Job, reason: str) -> Outcome:
        try:
            build = self._client.stop_build(id=job.job_id)["build"]
        except ClientError as error:
            if error_code(error) != "InvalidInputException" or self._still_running(job):
                raise
            return Outcome.ALREADY_FINISHED
        if build["buildStatus"] in ("IN_PROGRESS", "STOPPED"):
            return Outcome.STOPPED
        return Outcome.ALREADY_FINISHED

    def _still_running(self, job: Job) -> bool:
        builds = self._describe([job.job_id])
        return bool(builds) and builds[0]["buildStatus"] == "IN_PROGRESS"


def _event_start_time(value: str) -> datetime:
    """The event's "Sep 1, 2017 4:12:29 PM": UTC, though it does not say so."""
    try:
        parsed = datetime.strptime(value, EVENT_TIME_FORMAT)
    except ValueError:
        raise MalformedEvent(
            f"build-start-time: {value!r} is not like {EVENT_TIME_FORMAT}"
        ) from None
    return aware(parsed.replace(tzinfo=UTC), "build-start-time")


def _run_start(build: dict[str, Any]) -> datetime:
    """When the build left the queue: the start of the first phase after QUEUED."""
    for phase in build.get("phases", []):
        if phase["phaseType"] not in QUEUED_PHASES and "startTime" in phase:
            return phase["startTime"]  # type: ignore[no-any-return]
        if phase["phaseType"] == "QUEUED" and "endTime" in phase:
            return phase["endTime"]  # type: ignore[no-any-return]
    return build["startTime"]  # type: ignore[no-any-return]

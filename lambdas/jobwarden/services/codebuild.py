"""CodeBuild builds: list newest first, stop with StopBuild."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobwarden.eventfields import MalformedEvent, aware, optional_text, section, text
from jobwarden.eventfields import envelope as read_envelope
from jobwarden.index import JobEvent
from jobwarden.model import Job, Outcome
from jobwarden.pricing import codebuild_basis
from jobwarden.services import register
from jobwarden.services.base import Grant, Past, ServiceAdapter, Unreadable, isolable
from jobwarden.watermark import MAX_PAGES, Mark

# No build can be older than the longest build timeout (36 h) plus the longest queue
# timeout (8 h), so listing newest-first can stop once it passes that age.
MAX_BUILD_AGE = timedelta(hours=36 + 8)
QUEUED_PHASES = frozenset({"SUBMITTED", "QUEUED"})
BATCH_LIMIT = 100  # BatchGetBuilds and BatchGetProjects take at most 100 names
# The state-change event writes its start time like "Sep 1, 2017 4:12:29 PM" (UTC).
EVENT_TIME_FORMAT = "%b %d, %Y %I:%M:%S %p"
# Source types whose `sourceVersion` names a git ref ("For GitHub: the commit ID, pull request
# ID, branch name, or tag name", StartBuild's sourceVersion, CodeBuild API reference); an S3
# source's is an object version id, a CodePipeline build's an artifact ARN.
GIT_SOURCES = frozenset(
    {"CODECOMMIT", "GITHUB", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED", "BITBUCKET"}
)
COMMIT_ID = re.compile(r"[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?")
PULL_REF = re.compile(r"refs/pull/(\d+)/(?:head|merge)")


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
    incremental = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client = self.clients.client("codebuild", self.region)
        self._project_tags: dict[str, dict[str, str]] = {}

    def list_active(self, now: datetime) -> Iterator[Job | Unreadable]:
        """Every build in progress, newest first, until a whole page is past the oldest age a
        build can reach.

        Paged by hand: `sortOrder` goes with the first request only. The paginator resends it
        with every nextToken, which the sibling ListBuildsForProject rejects ("Sort order
        can't be specified when passing a nextToken", aws/aws-cli#5863, now in botocore's
        codebuild model); the token carries the order. The order is documented "by build
        ID", not by start time, so one build past the cut-off does not end the listing: only
        a page in which every build is past it does.
        """
        oldest = now - MAX_BUILD_AGE
        self.listed = None
        newest: list[str] = []
        active: list[str] = []
        request: dict[str, str] = {"sortOrder": "DESCENDING"}
        while True:
            page = self._client.list_builds(**request)
            ids = page.get("ids", [])
            newest = newest or ids
            builds, unreadable = self._read(ids)
            for item in [*unreadable, *self._active(builds)]:
                active.append(_build_id(item))
                yield item
            token = page.get("nextToken")
            if not token or (builds and all(b["startTime"] < oldest for b in builds)):
                self.listed = Mark(tuple(newest), tuple(active))
                return
            request = {"nextToken": token}

    def list_since(self, mark: Mark, now: datetime) -> Iterator[Job | Unreadable]:
        """The builds new since `mark` (pages down to the first one holding a build the mark
        saw) and the builds active then, read together, 100 a BatchGetBuilds call. With no
        boundary within MAX_PAGES pages, the full listing."""
        self.listed = None
        seen = set(mark.seen)
        newest: list[str] = []
        fresh: dict[str, None] = {}  # ordered, de-duplicated
        request: dict[str, str] = {"sortOrder": "DESCENDING"}
        met = False  # the boundary; without it the whole history was read, as in full
        for _ in range(MAX_PAGES):
            page = self._client.list_builds(**request)
            ids = page.get("ids", [])
            newest = newest or ids
            fresh.update((i, None) for i in ids if i not in seen)
            token = page.get("nextToken")
            met = bool(seen.intersection(ids))
            if not token or met:
                break
            request = {"nextToken": token}
        else:
            yield from self.list_active(now)
            return
        fresh.update((i, None) for i in mark.active)
        active: list[str] = []
        for chunk in chunks(list(fresh), BATCH_LIMIT):
            builds, unreadable = self._read(chunk)
            for item in [*unreadable, *self._active(builds)]:
                active.append(_build_id(item))
                yield item
        self.listed = Mark(tuple(newest), tuple(active), full=not met)

    def list_history(self, since: datetime, now: datetime) -> Iterator[Past | Unreadable]:
        """Every build started since `since`, newest first, page after page until a whole page
        started before it (the order `list_active` relies on); batch members are left to
        codebuild-batch, as there."""
        request: dict[str, str] = {"sortOrder": "DESCENDING"}
        while True:
            page = self._client.list_builds(**request)
            builds, unreadable = self._read(page.get("ids", []))
            yield from unreadable
            recent = [b for b in builds if b["startTime"] >= since and not b.get("buildBatchArn")]
            failed = self._load_tags({b["projectName"] for b in recent})
            for build in recent:
                if build["projectName"] in failed:
                    yield Unreadable(f"codebuild build {build['id']}", failed[build["projectName"]])
                    continue
                job = self.to_job(build)
                if not _ran(build):
                    job = replace(job, started_at=None)
                yield Past(job, build.get("endTime"), build["buildStatus"])
            token = page.get("nextToken")
            if not token or (builds and all(b["startTime"] < since for b in builds)):
                return
            request = {"nextToken": token}

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
        builds, _unreadable = self._read(list(job_ids))
        return {job.job_id: job for job in self._active(builds) if isinstance(job, Job)}

    def _active(self, builds: list[dict[str, Any]]) -> Iterator[Job | Unreadable]:
        """The builds in progress that are this adapter's: a member of a batch build
        (`buildBatchArn`) belongs to its batch, judged, stopped and retried whole by the
        codebuild-batch adapter under the batch's policy; stopping one member would fail
        the batch outside it."""
        active = [
            b for b in builds if b["buildStatus"] == "IN_PROGRESS" and not b.get("buildBatchArn")
        ]
        unreadable = self._load_tags({b["projectName"] for b in active})
        for build in active:
            if build["projectName"] in unreadable:
                # Without the project's tags an exempt build could be stopped: not judged.
                yield Unreadable(
                    f"{UNREADABLE_BUILD}{build['id']}", unreadable[build["projectName"]]
                )
            else:
                yield self.to_job(build)

    def _read(self, ids: list[str]) -> tuple[list[dict[str, Any]], list[Unreadable]]:
        """BatchGetBuilds 100 ids a call. A call refused for one build (IAM decides per
        project) is retried build by build, so one unreadable build hides no other."""
        builds: list[dict[str, Any]] = []
        unreadable: list[Unreadable] = []
        for chunk in chunks(ids, BATCH_LIMIT):
            try:
                builds.extend(self._client.batch_get_builds(ids=chunk).get("builds", []))
            except ClientError as error:
                if not isolable(error):
                    raise
                if len(chunk) == 1:
                    unreadable.append(Unreadable(f"{UNREADABLE_BUILD}{chunk[0]}", str(error)))
                    continue
                for build_id in chunk:
                    found, refused = self._read([build_id])
                    builds.extend(found)
                    unreadable.extend(refused)
        return builds, unreadable

    def _describe(self, ids: list[str]) -> list[dict[str, Any]]:
        builds: list[dict[str, Any]] = []
        for chunk in chunks(ids, BATCH_LIMIT):
            builds.extend(self._client.batch_get_builds(ids=chunk).get("builds", []))
        return builds

    def _load_tags(self, projects: set[str]) -> dict[str, str]:
        """Read the projects' tags into the per-sweep cache; returns the projects that could
        not be read, with why (a chunk refused is retried project by project)."""
        failed: dict[str, str] = {}
        missing = sorted(projects - self._project_tags.keys())
        for chunk in chunks(missing, BATCH_LIMIT):
            try:
                found = self._client.batch_get_projects(names=chunk).get("projects", [])
            except ClientError as error:
                if not isolable(error):
                    raise
                if len(chunk) == 1:
                    failed[chunk[0]] = f"its project's tags could not be read: {error}"
                else:
                    for name in chunk:
                        failed.update(self._load_tags({name}))
                continue
            for project in found:
                self._project_tags[project["name"]] = {
                    tag["key"]: tag.get("value", "") for tag in project.get("tags", [])
                }
        return failed

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
            branch=source_branch(build),
            queue_reason=phase if phase in QUEUED_PHASES else "",
            timeout_minutes=_minutes(build.get("timeoutInMinutes")),
        )

    def stop(self, job: Job, reason: str) -> Outcome:
        """StopBuild takes no reason; the ledger and the alert carry it.

        StopBuild answers with the build: STOPPED at once in AWS's published example
        (awscli/examples/codebuild/stop-build.rst), or still IN_PROGRESS while it stops; a
        build that had ended keeps its own final status. A refusal or a lost answer is read
        back (`settle_failed_stop`)."""
        try:
            build = self._client.stop_build(id=job.job_id)["build"]
        except (ClientError, BotoCoreError) as error:
            return self.settle_failed_stop(job, reason, error)
        return stop_outcome(build["buildStatus"]) or Outcome.STOPPED

    def read_back(self, job: Job, reason: str) -> Outcome | None:
        builds = self._describe([job.job_id])
        if not builds:
            return Outcome.ALREADY_FINISHED  # in buildsNotFound: deleted, it runs no more
        return stop_outcome(builds[0]["buildStatus"])


def source_branch(build: Mapping[str, Any]) -> str:
    """The branch or pull request a build (or batch build) builds, from what BatchGetBuilds
    reports: "branch/<name>", "pr/<number>", "tag/<name>", or "" when it does not say.

    `sourceVersion` is what the build was asked for: "pr/25" or a branch, tag or commit
    (StartBuild's sourceVersion, CodeBuild API reference), or a git reference such as
    "refs/heads/main^{<commit>}" or "refs/pull/1/head" ("Source version sample", CodeBuild
    User Guide). `resolvedSourceVersion` is always a commit, so it names no branch. The
    webhook's CODEBUILD_WEBHOOK_HEAD_REF and CODEBUILD_WEBHOOK_TRIGGER ("branch/<name>",
    "pr/<number>", "Environment variables in build environments", same guide) exist only
    inside the build's container: BatchGetBuilds does not return them. A commit id, an S3
    object version or a CodePipeline artifact names no branch: such a build is never grouped
    with another, so never superseded."""
    if build.get("source", {}).get("type") not in GIT_SOURCES:
        return ""
    version = str(build.get("sourceVersion") or "").split("^{", 1)[0].strip()
    if not version or COMMIT_ID.fullmatch(version):
        return ""
    if version.startswith("pr/") and version[3:].isdigit():
        return version
    if pull := PULL_REF.fullmatch(version):
        return f"pr/{pull.group(1)}"
    if version.startswith("refs/heads/"):
        return "branch/" + version.removeprefix("refs/heads/")
    if version.startswith("refs/tags/"):
        return "tag/" + version.removeprefix("refs/tags/")
    if version.startswith("refs/"):
        return ""  # another kind of reference: not a branch we can name
    return f"branch/{version}"  # a branch (or tag) name: the same ref either way


def stop_outcome(status: str) -> Outcome | None:
    """After our stop request: STOPPED is ours, any other end came first, None is running.

    CodeBuild has no "stopping" status: a build being stopped stays IN_PROGRESS until it is
    STOPPED (statuses of StatusType in botocore's codebuild model)."""
    if status == "IN_PROGRESS":
        return None
    return Outcome.STOPPED if status == "STOPPED" else Outcome.ALREADY_FINISHED


UNREADABLE_BUILD = "codebuild build "


def _build_id(item: Job | Unreadable) -> str:
    """The build an active or unreadable item is about: an unreadable build stays in the
    mark, so the next incremental sweep tries it again."""
    return item.job_id if isinstance(item, Job) else item.subject.removeprefix(UNREADABLE_BUILD)


def _minutes(value: Any) -> float | None:
    """A timeout in minutes as the API gives it; None where absent (or 0, moto's unset)."""
    return float(value) if value else None


def _event_start_time(value: str) -> datetime:
    """The event's "Sep 1, 2017 4:12:29 PM": UTC, though it does not say so."""
    try:
        parsed = datetime.strptime(value, EVENT_TIME_FORMAT)
    except ValueError:
        raise MalformedEvent(
            f"build-start-time: {value!r} is not like {EVENT_TIME_FORMAT}"
        ) from None
    return aware(parsed.replace(tzinfo=UTC), "build-start-time")


def _ran(build: Mapping[str, Any]) -> bool:
    """Whether a build ever left its queue: a phase past QUEUED other than COMPLETED (a build
    stopped in its queue goes from QUEUED to COMPLETED)."""
    return any(
        p["phaseType"] not in QUEUED_PHASES and p["phaseType"] != "COMPLETED"
        for p in build.get("phases", [])
    ) or build.get("currentPhase", "SUBMITTED") not in {*QUEUED_PHASES, "COMPLETED"}


def _run_start(build: dict[str, Any]) -> datetime:
    """When the build left the queue: the start of the first phase after QUEUED."""
    for phase in build.get("phases", []):
        if phase["phaseType"] not in QUEUED_PHASES and "startTime" in phase:
            return phase["startTime"]  # type: ignore[no-any-return]
        if phase["phaseType"] == "QUEUED" and "endTime" in phase:
            return phase["endTime"]  # type: ignore[no-any-return]
    return build["startTime"]  # type: ignore[no-any-return]

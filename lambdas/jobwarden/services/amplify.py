"""Amplify Hosting jobs: each branch's jobs newest first, stopped with StopJob, retried with
StartJob (jobType RETRY)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobwarden.eventfields import envelope as read_envelope
from jobwarden.eventfields import text
from jobwarden.index import JobEvent
from jobwarden.model import Job, Outcome, PendingRetry, RetryStarted
from jobwarden.pricing import amplify_basis
from jobwarden.services import register
from jobwarden.services.base import (
    Grant,
    Past,
    ServiceAdapter,
    Unreadable,
    error_code,
    isolable,
)

ACTIVE = frozenset({"PENDING", "PROVISIONING", "RUNNING"})
QUEUED = frozenset({"PENDING", "PROVISIONING"})  # waiting for, or getting, a build instance
ENDED = frozenset({"SUCCEED", "FAILED", "CANCELLED"})
DEFAULT_BUILD_TIMEOUT = 30.0  # minutes, without a _BUILD_TIMEOUT variable
DEFAULT_COMPUTE_TYPE = "STANDARD_8GB"  # what Amplify builds on when the app sets no jobConfig
APPS_PAGE, BRANCHES_PAGE, JOBS_PAGE = 100, 50, 50  # the largest page each list call allows
REASON_LIMIT = 255  # StartJob's jobReason
ENDED_RUN = JOBS_PAGE  # ended jobs in a row after which a branch holds no older active job
APP_ID = re.compile(r"d[a-z0-9]+")  # AppId's pattern in botocore's amplify model
JOB_ID = re.compile(r"[0-9]+")  # JobId's pattern


def qualified_id(app_id: str, branch: str, job_id: str) -> str:
    """Amplify numbers jobs per branch, so jobwarden names a job by its app and branch too."""
    return f"{app_id}/{branch}/{job_id}"


def parse_id(qualified: str) -> dict[str, str]:
    """The app id, branch and job id of a `qualified_id`, for any branch name.

    A branch name may hold any character, "/" included (`BranchName` is `(?s).+` in
    botocore's amplify model; `feature/login` is ordinary), but an app id is `d[a-z0-9]+`
    and a job id `[0-9]+` (same model): so the app id ends at the first "/" and the job id
    starts after the last one, and everything between is the branch, whole.
    """
    app_id, _, rest = qualified.partition("/")
    branch, _, job_id = rest.rpartition("/")
    if not (APP_ID.fullmatch(app_id) and branch and JOB_ID.fullmatch(job_id)):
        raise ValueError(f"not an Amplify job id: {qualified!r}")
    return {"app_id": app_id, "branch": branch, "job_id": job_id}


@register
class AmplifyJobs(ServiceAdapter):
    name = "amplify"
    grants = (
        Grant(
            ("amplify:ListApps",),
            why_any_resource="ListApps has no resource type; it lists the whole account",
        ),
        Grant(
            ("amplify:GetApp", "amplify:ListBranches"),
            ("arn:{partition}:amplify:{region}:{account}:apps/*",),
        ),
        Grant(
            ("amplify:GetBranch", "amplify:ListJobs"),
            ("arn:{partition}:amplify:{region}:{account}:apps/*/branches/*",),
        ),
        Grant(
            ("amplify:GetJob", "amplify:StopJob", "amplify:StartJob"),
            ("arn:{partition}:amplify:{region}:{account}:apps/*/branches/*/jobs/*",),
        ),
    )
    supports_retry = True
    events = (("aws.amplify", "Amplify Deployment Status Change"),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client = self.clients.client("amplify", self.region)
        # Held for the sweep (this adapter's life): nothing read twice in one invocation.
        self._apps: dict[str, dict[str, Any]] = {}
        self._branches: dict[tuple[str, str], dict[str, Any]] = {}

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> JobEvent | None:
        """STARTED, SUCCEED or FAILED. The event names the app by id only, so the index's
        name is "<app id>/<branch>" until a listing reads the app's name, and `name_unknown`
        tells the deadline step to count every policy whatever names it matches (a deadline
        may come early, never late; the check re-reads the job under its real name)."""
        envelope = read_envelope(event)
        detail = envelope.detail
        app_id, branch = text(detail, "appId"), text(detail, "branchName")
        job_id, status = text(detail, "jobId"), text(detail, "jobStatus")
        return JobEvent(
            service=cls.name,
            region=envelope.region,
            job_id=qualified_id(app_id, branch, job_id),
            name=f"{app_id}/{branch}",
            state=status,
            active=status not in ENDED,
            at=envelope.time,
            details={"name_unknown": True},
        )

    def describe_many(
        self, job_ids: Sequence[str], now: datetime, names: Mapping[str, str] | None = None
    ) -> dict[str, Job]:
        """GetJob per job (Amplify has no batch read), and each app and branch once a sweep."""
        found: dict[str, Job] = {}
        for qualified in job_ids:
            details = parse_id(qualified)
            try:
                job = self._get_job(details)
                if job["summary"]["status"] not in ACTIVE:
                    continue
                app = self._app(details["app_id"])
                branch = self._branch(details["app_id"], details["branch"])
            except ClientError as error:
                if error_code(error) != "NotFoundException":
                    raise
                continue  # deleted with its branch or app
            found[qualified] = self.to_job(app, branch, job["summary"], job)
        return found

    def _app(self, app_id: str) -> dict[str, Any]:
        if app_id not in self._apps:
            self._apps[app_id] = self._client.get_app(appId=app_id)["app"]
        return self._apps[app_id]

    def _branch(self, app_id: str, name: str) -> dict[str, Any]:
        if (app_id, name) not in self._branches:
            branch = self._client.get_branch(appId=app_id, branchName=name)["branch"]
            self._branches[(app_id, name)] = branch
        return self._branches[(app_id, name)]

    def list_active(self, now: datetime) -> Iterator[Job | Unreadable]:
        """Every app, every branch, each branch's jobs newest first down to its active job.

        No age cut-off: Amplify documents no limit on how long a job may wait for a build
        instance, so a job PENDING for 30 hours must still be found. Instead each branch's
        `activeJobId` (Branch, botocore's amplify model) bounds the listing (`_active_jobs`).
        An app or branch that cannot be read is one Unreadable; the listing goes on.
        """
        for app in self._items("list_apps", "apps", APPS_PAGE):
            try:
                branches = list(
                    self._items("list_branches", "branches", BRANCHES_PAGE, appId=app["appId"])
                )
            except ClientError as error:
                if not isolable(error):
                    raise
                yield Unreadable(f"amplify app {app['appId']} ({app.get('name', '')})", str(error))
                continue
            for branch in branches:
                try:
                    jobs = list(self._active_jobs(app, branch))
                except ClientError as error:
                    if not isolable(error):
                        raise
                    subject = f"amplify app {app['appId']} branch {branch['branchName']}"
                    yield Unreadable(subject, str(error))
                    continue
                yield from jobs

    def list_history(self, since: datetime, now: datetime) -> Iterator[Past | Unreadable]:
        """Every branch's jobs started since `since`, newest first, every page of them."""
        for app in self._items("list_apps", "apps", APPS_PAGE):
            try:
                branches = list(
                    self._items("list_branches", "branches", BRANCHES_PAGE, appId=app["appId"])
                )
                for branch in branches:
                    jobs = self._items(
                        "list_jobs",
                        "jobSummaries",
                        JOBS_PAGE,
                        appId=app["appId"],
                        branchName=branch["branchName"],
                    )
                    for summary in jobs:
                        if summary["startTime"] < since:
                            break  # newest first
                        job = self.to_job(app, branch, summary)
                        if summary["status"] != "RUNNING" and job.status == summary["status"]:
                            job = replace(job, started_at=None)  # no steps: it never built
                        yield Past(job, summary.get("endTime"), summary["status"])
            except ClientError as error:
                if not isolable(error):
                    raise
                yield Unreadable(f"amplify app {app['appId']} ({app.get('name', '')})", str(error))

    def _active_jobs(self, app: dict[str, Any], branch: dict[str, Any]) -> Iterator[Job]:
        """The branch's active jobs, reading its jobs newest first.

        A branch builds one job at a time: newer jobs wait (PENDING) behind the one running,
        so active jobs sit at the new end of the list, with at most a few ended ones among
        them (a queued job cancelled). The listing stops after `ENDED_RUN` ended jobs in a
        row, and never before reaching the branch's `activeJobId` (Branch, botocore's amplify
        model), whether that names the job running now or the newest one: both readings
        are plausible, and neither stops the listing early. No age cut-off: a job PENDING
        for 30 hours is found however old it is.
        """
        active_id = str(branch.get("activeJobId") or "")
        bound = int(active_id) if active_id.isdigit() else None
        ended_in_a_row = 0
        jobs = self._items(
            "list_jobs",
            "jobSummaries",
            JOBS_PAGE,
            appId=app["appId"],
            branchName=branch["branchName"],
        )
        for summary in jobs:
            if summary["status"] not in ENDED:  # active, or still cancelling
                ended_in_a_row = 0
                if summary["status"] in ACTIVE:
                    yield self.to_job(app, branch, summary)
                continue
            ended_in_a_row += 1
            if ended_in_a_row >= ENDED_RUN and (bound is None or int(summary["jobId"]) <= bound):
                return

    def _items(self, operation: str, key: str, size: int, **params: str) -> Iterator[Any]:
        """Every item of a paginated list call, fetching the next page only when needed."""
        pages = self._client.get_paginator(operation).paginate(
            **params, PaginationConfig={"PageSize": size}
        )
        for page in pages:
            yield from page.get(key, [])

    def to_job(
        self,
        app: dict[str, Any],
        branch: dict[str, Any],
        summary: dict[str, Any],
        job: dict[str, Any] | None = None,
    ) -> Job:
        """`job` is the GetJob answer when the caller has read it (its steps say when the
        build started); otherwise a started job is read here."""
        app_id, branch_name, job_id = app["appId"], branch["branchName"], summary["jobId"]
        details = {"app_id": app_id, "branch": branch_name, "job_id": job_id}
        status, started_at = summary["status"], None
        if status not in QUEUED:
            steps = (job or self._get_job(details))["steps"]
            started_at = min((s["startTime"] for s in steps), default=summary["startTime"])
            status = f"{status} ({steps[-1]['stepName']})" if steps else status
        compute_type = app.get("jobConfig", {}).get("buildComputeType", DEFAULT_COMPUTE_TYPE)
        return Job(
            service=self.name,
            job_id=qualified_id(app_id, branch_name, job_id),
            name=f"{app['name']}/{branch_name}",
            region=self.region,
            status=status,
            submitted_at=summary["startTime"],
            started_at=started_at,
            tags={**app.get("tags", {}), **branch.get("tags", {})},
            cost_basis=amplify_basis(compute_type),
            arn=summary["jobArn"],
            details=details,
            # A retry runs the same commit under a new job id: count attempts per commit.
            lineage=f"{app_id}/{branch_name}/{summary['commitId']}",
            # A branch builds one job at a time: a newer job PENDING behind a running one
            # supersedes it. PENDING waits for the branch (or the account's concurrent build
            # limit), PROVISIONING for a build instance (JobStatus, botocore's amplify model).
            branch=f"branch/{branch_name}",
            queue_reason=summary["status"] if summary["status"] in QUEUED else "",
            timeout_minutes=build_timeout(app, branch),
        )

    def stop(self, job: Job, reason: str) -> Outcome:
        """StopJob takes no reason; the ledger and the alert carry it. A refusal or a lost
        answer is read back (`settle_failed_stop`)."""
        try:
            summary = self._client.stop_job(**_job_params(job.details))["jobSummary"]
        except (ClientError, BotoCoreError) as error:
            return self.settle_failed_stop(job, reason, error)
        return stop_outcome(summary["status"]) or Outcome.STOPPED  # accepted, cancelling

    def read_back(self, job: Job, reason: str) -> Outcome | None:
        try:
            status = self._get_job(job.details)["summary"]["status"]
        except ClientError as error:
            if error_code(error) != "NotFoundException":
                raise
            return Outcome.ALREADY_FINISHED  # deleted with its branch or app
        return stop_outcome(status)

    def retry(self, pending: PendingRetry, attempt: int) -> RetryStarted | Outcome | None:
        """Start the stopped job's commit again, once the stopped job has ended.

        Amplify has one kind of retry, so the policy's retry type does not matter here.
        """
        try:
            status = self._get_job(pending.details)["summary"]["status"]
        except ClientError as error:
            if error_code(error) != "NotFoundException":
                raise
            return Outcome.ALREADY_FINISHED  # deleted with its branch or app: nothing to retry
        if status not in ENDED:
            return None  # still CANCELLING
        reason = f"jobwarden retry {attempt} after a stop under policy {pending.policy}"
        started = self._client.start_job(
            **_job_params(pending.details), jobType="RETRY", jobReason=reason[:REASON_LIMIT]
        )["jobSummary"]
        details = pending.details
        return RetryStarted(qualified_id(details["app_id"], details["branch"], started["jobId"]))

    def _get_job(self, details: Mapping[str, Any]) -> dict[str, Any]:
        return self._client.get_job(**_job_params(details))["job"]  # type: ignore[no-any-return]


def build_timeout(app: Mapping[str, Any], branch: Mapping[str, Any]) -> float:
    """The build timeout in minutes: `_BUILD_TIMEOUT` among the branch's environment variables,
    else the app's, else 30 ("Amplify environment variable reference", Amplify Hosting user
    guide: "The build timeout duration in minutes", 5 to 120, example and default 30)."""
    for source in (branch, app):
        value = str((source.get("environmentVariables") or {}).get("_BUILD_TIMEOUT", ""))
        if value.isdigit() and int(value) > 0:
            return float(value)
    return DEFAULT_BUILD_TIMEOUT


def stop_outcome(status: str) -> Outcome | None:
    """After our stop request: CANCELLING or CANCELLED is ours, SUCCEED or FAILED came first,
    None while it is still active (JobStatus, botocore's amplify model)."""
    if status in ("CANCELLING", "CANCELLED"):
        return Outcome.STOPPED
    if status in ("SUCCEED", "FAILED"):
        return Outcome.ALREADY_FINISHED
    return None


def _job_params(details: Mapping[str, Any]) -> dict[str, str]:
    return {
        "appId": details["app_id"],
        "branchName": details["branch"],
        "jobId": details["job_id"],
    }

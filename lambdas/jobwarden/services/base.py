"""The uniform surface every service adapter offers, and the permissions it declares."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from jobwarden.aws import Clients
from jobwarden.index import JobEvent
from jobwarden.model import Job, Outcome, PendingRetry, RetryStarted, Settings
from jobwarden.watermark import Mark


@dataclass(frozen=True)
class Unreadable:
    """A resource a listing could not read (denied, deleted mid-sweep, missing a field).

    `list_active` yields one in place of the jobs it would have found there, and goes on with
    the other resources; the sweep records and alerts it as that resource's problem."""

    subject: str  # e.g. "glue job nightly-etl", "amplify app d1a2b3/branch main"
    reason: str


@dataclass(frozen=True)
class Resubmission:
    """How a resubmission stands: RESUBMITTED (the copy runs in `queue`, the original is
    cancelled), STOP_REQUESTED (the original's cancel takes effect later), ALREADY_FINISHED or
    WITHDRAWN (the original ended or started first; any copy of ours is cancelled)."""

    outcome: Outcome
    copy_id: str = ""
    queue: str = ""
    note: str = ""


@dataclass(frozen=True)
class Past:
    """A job of the recent history (`list_history`): as it was while active, and how it ended.

    `job.started_at` is None for a job that never left its queue; `ended_at` is None while it
    is still active (then `status` is its status now)."""

    job: Job
    ended_at: datetime | None
    status: str


class RetryImpossible(Exception):
    """The service refuses this retry for good (no later sweep can succeed): recorded and
    alerted once, and the pending retry dropped."""


@dataclass(frozen=True)
class Grant:
    """IAM actions an adapter calls, on resource ARN templates.

    Templates use `{partition}`, `{region}` and `{account}`; the stack fills them. A "*"
    resource carries `why_any_resource`, the reason the service allows nothing narrower.
    """

    actions: tuple[str, ...]
    resources: tuple[str, ...] = ("*",)
    why_any_resource: str = ""
    # IAM conditions narrowing the grant, e.g. {"StringEquals": {"batch:CreateAction": ...}}.
    conditions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


class ServiceAdapter(ABC):
    """Finds active jobs of one service in one region and stops them.

    Subclasses declare `name` (the registry key), `grants` (every IAM action they call) and
    implement `list_active` and `stop`. Services that can batch their stop calls override
    `stop_many`; services that can retry override `retry`.
    """

    name: ClassVar[str]
    grants: ClassVar[tuple[Grant, ...]]

    def __init__(self, clients: Clients, region: str, settings: Settings) -> None:
        self.clients = clients
        self.region = region
        self.settings = settings
        # Set by a listing that ran to its end, in adapters whose listing grows with history.
        self.listed: Mark | None = None

    @abstractmethod
    def list_active(self, now: datetime) -> Iterator[Job | Unreadable]:
        """Yield every job of this service in this region that is queued or running, and an
        `Unreadable` for each resource that could not be read (the listing goes on)."""

    # True where `list_active` pages through history and `list_since` can skip it.
    incremental: ClassVar[bool] = False

    def list_since(self, mark: Mark, now: datetime) -> Iterator[Job | Unreadable]:
        """The same jobs as `list_active`, reading only what changed since `mark` (see
        jobwarden.watermark); falls back to `list_active` when the mark's boundary is gone."""
        raise NotImplementedError(f"{self.name} lists in full only")

    @abstractmethod
    def stop(self, job: Job, reason: str) -> Outcome:
        """Stop one job: STOPPED, or ALREADY_FINISHED when it ended first. Raise on failure."""

    def list_history(self, since: datetime, now: datetime) -> Iterator[Past | Unreadable]:
        """Every job submitted since `since`, finished or still active, read with the same
        (read-only) calls as `list_active`, every page of them: what `policy simulate`
        replays. Never calls anything that changes a job."""
        raise NotImplementedError(f"{self.name} cannot list its history")

    def read_back(self, job: Job, reason: str) -> Outcome | None:
        """How a job stands after a stop whose answer we do not have (a lost response, a crash
        after the call, a refusal): STOPPED when it is stopping, stopped or cancelled (after our
        request, that is our stop); ALREADY_FINISHED when it succeeded or failed on its own, or
        no longer exists; None while it is still active. `reason` is the one the stop sent, for
        services that keep it. Read from the service, never guessed."""
        raise NotImplementedError(f"{self.name} cannot read a job back")

    def settle_failed_stop(self, job: Job, reason: str, error: Exception) -> Outcome:
        """A stop call that raised may still have landed: botocore retries a request whose
        response was lost, and the service may refuse the repeat. Read the job back; if it is
        still active the stop failed and `error` is raised, as it is when the read fails."""
        try:
            outcome = self.read_back(job, reason)
        except Exception as read_error:
            raise error from read_error
        if outcome is None:
            raise error
        return outcome

    def stop_many(self, requests: Sequence[tuple[Job, str]]) -> dict[str, Outcome | Exception]:
        """Stop several jobs; one failure is returned for its job and never hides the others."""
        results: dict[str, Outcome | Exception] = {}
        for job, reason in requests:
            try:
                results[job.key] = self.stop(job, reason)
            except Exception as error:  # noqa: BLE001 - reported per job by the sweep
                results[job.key] = error
        return results

    supports_retry: ClassVar[bool] = False
    # False where a job's start sends no event unless the job asks for one (Glue's
    # NotifyDelayAfter): the index cannot know every active job, so sweeps list in full.
    events_announce_starts: ClassVar[bool] = True
    # (EventBridge source, detail-type) pairs `from_event` reads; the stack subscribes to them.
    events: ClassVar[tuple[tuple[str, str], ...]] = ()
    # An EventBridge pattern on the events' `detail`: what the stack's rule lets through, so
    # the events function is not invoked (and billed) for events `from_event` would skip.
    event_detail: ClassVar[Mapping[str, Any]] = {}

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> JobEvent | None:
        """Read one of `events`; None when it is not about a job of this service. Raises
        KeyError, TypeError or ValueError when a field it needs is missing or malformed."""
        return None

    def describe(self, job_id: str, now: datetime, name: str = "") -> Job | None:
        """Re-read one job: the Job while it is active, None once it has ended or is gone."""
        return self.describe_many([job_id], now, {job_id: name}).get(job_id)

    def describe_many(
        self, job_ids: Sequence[str], now: datetime, names: Mapping[str, str] | None = None
    ) -> dict[str, Job]:
        """The active ones among `job_ids`, read with as few calls as the service allows.

        `names` (job id -> job name) serves services that address a job by name and id."""
        raise NotImplementedError(f"{self.name} cannot read single jobs")

    def resubmit(
        self, job: Job, queue: str, reason: str, *, submit: bool = True
    ) -> Resubmission | None:
        """Submit a queued job again to `queue` and cancel it, safely repeated: a copy an
        earlier call submitted is found and not submitted twice. With `submit` False nothing
        new is submitted: None when there is no copy yet and the job still waits."""
        raise NotImplementedError(f"{self.name} cannot resubmit")

    def retry(self, pending: PendingRetry, attempt: int) -> RetryStarted | Outcome | None:
        """Start a stopped job again once it has ended: RetryStarted (with the id the retry
        runs as), ALREADY_FINISHED when there is nothing to retry (it succeeded, or is gone),
        None while it is still stopping. Raises RetryImpossible for a refusal no later sweep
        can overcome, any other exception for a failed attempt (counted)."""
        raise NotImplementedError(f"{self.name} cannot retry")

    @classmethod
    def iam_actions(cls) -> set[str]:
        return {action for grant in cls.grants for action in grant.actions}


# Error codes that say the service, not one resource, is pushing back: botocore's retry mode
# has already retried them, and a listing that gives up on them fails as a whole.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "SlowDown",
    }
)


def isolable(error: Exception) -> bool:
    """Whether a failed read is one resource's problem (denied, gone, malformed) rather than
    the whole service's (throttled past every retry): the listing records it as that
    resource's `Unreadable` and goes on."""
    return bool(error_code(error)) and error_code(error) not in THROTTLING_CODES


def error_code(error: Any) -> str:
    """The AWS error code of a botocore ClientError, or "" for anything else."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))

"""The records the watchdog passes between its steps.

Everything here is plain data: adapters build `Job`s, `policies` builds `Policy`s and
`Settings`, the engine turns them into a `Decision`. None of it touches AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    DRY_RUN = "dry_run"
    ENFORCE = "enforce"


class Action(StrEnum):
    STOP = "stop"
    NOTIFY = "notify"


class Verdict(StrEnum):
    """What the engine concluded about one job."""

    OK = "ok"  # within every limit, or no limit applies
    EXEMPT = "exempt"  # carries the exemption tag
    STOP = "stop"  # over a limit of a stop policy (stopped only in enforce mode)
    NOTIFY = "notify"  # over a limit of a notify-only policy
    HELD = "held"  # over a stop limit, but the kill switch or the per-sweep cap holds it
    ERROR = "error"  # the job or a policy document could not be evaluated
    RETRY = "retry"  # a stopped job is started again, as its policy asks
    WARN = "warn"  # near a limit of a stop policy (its `warn_at` share): the owner is told
    SUPERSEDED = "superseded"  # a newer run of the same branch is queued or running: stop this
    RESUBMIT = "resubmit"  # stuck on capacity: submitted again to a fallback queue, then cancelled


class Outcome(StrEnum):
    """What actually happened after the decision."""

    PENDING = "pending"  # written ahead of the action; settled after it
    STOPPED = "stopped"
    WOULD_STOP = "would_stop"  # dry-run
    ALREADY_FINISHED = "already_finished"  # the job ended before our stop landed
    STOP_REQUESTED = "stop_requested"  # accepted, takes effect later (a Batch job not started)
    ALREADY_HANDLED = "already_handled"  # settled before, or another owner's lease holds it
    WITHDRAWN = "withdrawn"  # a pending stop whose job, read again, no longer warrants it
    NOTIFIED = "notified"
    HELD = "held"
    FAILED = "failed"
    RETRIED = "retried"
    RETRIES_EXHAUSTED = "retries_exhausted"
    WARNED = "warned"
    NONE = "none"
    RESUBMITTED = "resubmitted"  # a copy runs in the fallback queue; the stuck one is cancelled
    WOULD_RESUBMIT = "would_resubmit"  # dry-run


@dataclass(frozen=True)
class CostBasis:
    """What a job is billed on: (price key, quantity) pairs, priced by `pricing`."""

    components: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Job:
    """One active unit of work in one service, as the adapter read it.

    `submitted_at` is when it entered the service; `started_at` is when it began running
    (None while it is still queued). Queue time is the gap between them.
    """

    service: str
    job_id: str
    name: str
    region: str
    status: str
    submitted_at: datetime
    started_at: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    cost_basis: CostBasis | None = None
    arn: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    lineage: str = ""
    # Which run of the job this reading is of, where a retry keeps the id (a retried batch
    # build): a decision on one attempt never acts on the next.
    attempt: str = ""
    # The source branch or pull request a run builds ("branch/main", "pr/42"), where the
    # service says: runs of one name and branch supersede each other (see `waste.py`).
    branch: str = ""
    # Why a queued job waits, as the service says it ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    # "WAITING", "PROVISIONING", "QUEUED"): what `max_queue_minutes_by_reason` matches.
    queue_reason: str = ""
    # The service's own limit on this job's run time, where it has one (CodeBuild's build
    # timeout, Glue's Timeout, Batch's attemptDurationSeconds, Amplify's _BUILD_TIMEOUT):
    # what a stop's avoided cost is counted up to (see `savings`).
    timeout_minutes: float | None = None

    @property
    def key(self) -> str:
        """Identity of the job across sweeps and events."""
        return f"{self.service}#{self.region}#{self.job_id}"

    @property
    def retry_subject(self) -> str:
        """What retry attempts are counted against: the job, or the chain of jobs that a
        retry creates under new ids (the adapter sets `lineage` for those)."""
        return f"{self.service}#{self.region}#{self.lineage}" if self.lineage else self.key

    def queue_seconds(self, now: datetime) -> float:
        end = self.started_at or now
        return max(0.0, (end - self.submitted_at).total_seconds())

    def run_seconds(self, now: datetime) -> float:
        if self.started_at is None:
            return 0.0
        return max(0.0, (now - self.started_at).total_seconds())


@dataclass(frozen=True)
class Retry:
    """Ask for a retry once a stopped job has ended (services that support it)."""

    type: str
    max_attempts: int


@dataclass(frozen=True)
class RetryStarted:
    """A retry the service accepted. `job_id` is the job it runs as: the same id where the
    service retries in place (RetryBuildBatch), a new one where it starts a new job."""

    job_id: str
    note: str = ""  # how it was started, when not the usual way


@dataclass(frozen=True)
class Resubmit:
    """Submit a job stuck for one of `on_reasons` again to `job_queue`, then cancel it."""

    job_queue: str
    on_reasons: tuple[str, ...] = ("CAPACITY:*",)


@dataclass(frozen=True)
class Policy:
    """One validated policy document.

    A policy matches a job when the job's service is listed (or none are), its name matches
    one of the globs, and it carries every tag in `tags` ("*" matches any value).
    """

    name: str
    services: tuple[str, ...] = ()
    names: tuple[str, ...] = ("*",)
    tags: Mapping[str, str] = field(default_factory=dict)
    max_run_minutes: float | None = None
    max_queue_minutes: float | None = None
    max_cost_usd: float | None = None
    action: Action = Action.STOP
    priority: int = 100
    retry: Retry | None = None
    description: str = ""
    # A share of each limit (0 < warn_at < 1) at which the job's owner is warned, once per
    # job and limit, before the stop at the limit itself.
    warn_at: float | None = None
    # Who is told besides the platform topic: SNS topic ARNs, and "tag:<key>" (the job's
    # value of that tag becomes the `owner` message attribute, for subscription filters).
    notify: tuple[str, ...] = ()
    # Stop a run when a newer run of the same name and branch is queued or running.
    cancel_superseded: bool = False
    # (reason glob, minutes) pairs: the queue limit for a job waiting for that reason.
    max_queue_minutes_by_reason: tuple[tuple[str, float], ...] = ()
    resubmit: Resubmit | None = None

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(t for t in self.notify if not t.startswith(TAG_TARGET))

    @property
    def owner_tags(self) -> tuple[str, ...]:
        return tuple(t.removeprefix(TAG_TARGET) for t in self.notify if t.startswith(TAG_TARGET))


TAG_TARGET = "tag:"


@dataclass(frozen=True)
class LimitWarning:
    """One limit a job is near: which (`run`, `queue`, `cost`), its value, the clause an
    operator reads, and the minutes left before the limit is passed (None if unknown)."""

    limit: str
    value: float
    clause: str
    left_minutes: float | None

    @property
    def key(self) -> str:
        """Names the limit and its value: a changed limit is a new limit, warned anew."""
        return f"{self.limit}-{self.value:g}"


@dataclass(frozen=True)
class PendingRetry:
    """A job stopped under a policy that asks for a retry, waiting for the stop to finish."""

    service: str
    region: str
    job_id: str
    name: str
    retry_subject: str
    retry: Retry
    policy: str
    stopped_at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.service}#{self.region}#{self.job_id}"


DEFAULT_EXEMPT_TAG = "jobwarden:exempt"


@dataclass(frozen=True)
class Settings:
    """The account-wide switches. The defaults are the safe ones: dry-run, few stops."""

    mode: Mode = Mode.DRY_RUN
    exempt_tag: str = DEFAULT_EXEMPT_TAG
    # The blast radius: at most this many stops per service in any rolling window, counted
    # across sweeps and deadline checks.
    max_stops_per_window: int = 10
    stop_window_minutes: int = 60
    kill_switch: bool = False
    regions: tuple[str, ...] = ()
    prices: Mapping[str, float] = field(default_factory=dict)
    ledger_retention_days: int = 90
    reconcile_every_minutes: int = 30  # full listing cadence when events keep the index
    # Would-stop, notify, held (and dry-run warning) alerts wait this long to go out together
    # as one digest per route; 0 sends each sweep's as one digest at the end of the sweep.
    digest_minutes: int = 0


@dataclass(frozen=True)
class Avoided:
    """What stopping a job now would save: `usd` over `minutes` more of its run, estimated by
    `method` (see `savings.estimate_avoided`); `usd` None where the job has no known rate."""

    usd: float | None
    minutes: float
    method: str


@dataclass(frozen=True)
class Decision:
    """The engine's verdict on one job at one instant, with the sentence an operator reads."""

    job: Job
    verdict: Verdict
    reason: str
    mode: Mode
    at: datetime
    policy: str | None = None
    run_minutes: float = 0.0
    queue_minutes: float = 0.0
    cost_usd: float | None = None
    retry: Retry | None = None
    owners: tuple[str, ...] = ()  # the job's values of the policy's `tag:` notify targets
    topics: tuple[str, ...] = ()  # the policy's extra topics
    warnings: tuple[LimitWarning, ...] = ()  # for a warn verdict: the limits the job is near
    superseded_by: Job | None = None  # the newer run, for a SUPERSEDED verdict
    fallback_queue: str = ""  # where a RESUBMIT verdict submits the job again
    avoided: Avoided | None = None

    @property
    def calls_stop(self) -> bool:
        """True only when the service is to be called: a stop verdict (or a superseded run, or
        a resubmission, each of which ends the job) in enforce mode."""
        return self.verdict in STOPPING_VERDICTS and self.mode is Mode.ENFORCE

    @property
    def is_actionable(self) -> bool:
        """Decisions worth a ledger item and an alert."""
        return self.verdict in (
            Verdict.STOP,
            Verdict.NOTIFY,
            Verdict.HELD,
            Verdict.ERROR,
            Verdict.WARN,
            Verdict.SUPERSEDED,
            Verdict.RESUBMIT,
        )


# Verdicts that end the job: each goes through the same write-ahead, kill switch, stop budget
# and dry-run as a stop.
STOPPING_VERDICTS = frozenset({Verdict.STOP, Verdict.SUPERSEDED, Verdict.RESUBMIT})

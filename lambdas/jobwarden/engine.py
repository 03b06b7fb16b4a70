"""Policy evaluation: a pure function from (job, policies, settings, now) to a Decision."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from jobwarden.bounds import LATEST_SCHEDULABLE
from jobwarden.model import Action, Decision, Job, Policy, Settings, Verdict
from jobwarden.pricing import estimate_cost, hourly_rate
from jobwarden.savings import estimate_avoided

EXEMPT_FALSE_VALUES = frozenset({"false", "no", "0", "off"})


def is_exempt(job: Job, settings: Settings) -> bool:
    value = job.tags.get(settings.exempt_tag)
    return value is not None and value.strip().lower() not in EXEMPT_FALSE_VALUES


def matches(policy: Policy, job: Job) -> bool:
    if policy.services and job.service not in policy.services:
        return False
    if not any(fnmatchcase(job.name, pattern) for pattern in policy.names):
        return False
    for key, wanted in policy.tags.items():
        actual = job.tags.get(key)
        if actual is None or wanted not in ("*", actual):
            return False
    return True


def select_policy(job: Job, policies: Iterable[Policy]) -> Policy | None:
    """The one policy that governs a job: lowest priority number, then name, among matches."""
    candidates = sorted(
        (p for p in policies if matches(p, job)), key=lambda p: (p.priority, p.name)
    )
    return candidates[0] if candidates else None


def decide(
    job: Job,
    policies: Sequence[Policy],
    settings: Settings,
    now: datetime,
) -> Decision:
    """Evaluate one job. The stop budget is not the engine's: the act step spends it."""
    run_minutes = job.run_seconds(now) / 60
    queue_minutes = job.queue_seconds(now) / 60
    cost = estimate_cost(job.cost_basis, job.run_seconds(now), settings.prices)

    def verdict(kind: Verdict, reason: str, policy: Policy | None = None) -> Decision:
        return Decision(
            job=job,
            verdict=kind,
            reason=reason,
            mode=settings.mode,
            at=now,
            policy=policy.name if policy else None,
            run_minutes=run_minutes,
            queue_minutes=queue_minutes,
            cost_usd=cost,
            retry=policy.retry if policy else None,
            avoided=estimate_avoided(job, now, settings.prices),
        )

    if is_exempt(job, settings):
        return verdict(Verdict.EXEMPT, f"exempt by tag {settings.exempt_tag}")
    policy = select_policy(job, policies)
    if policy is None:
        return verdict(Verdict.OK, "no policy covers this job")

    breaches = _breaches(job, policy, run_minutes, queue_minutes, cost)
    if not breaches:
        return verdict(Verdict.OK, f"within the limits of policy {policy.name}", policy)
    reason = f"{' and '.join(breaches)} of policy {policy.name}"
    if policy.action is Action.NOTIFY:
        return verdict(Verdict.NOTIFY, reason, policy)
    if settings.kill_switch:
        return hold(verdict(Verdict.STOP, reason, policy), KILL_SWITCH_ON)
    return verdict(Verdict.STOP, reason, policy)


KILL_SWITCH_ON = "the kill switch is on"


def hold(decision: Decision, why: str) -> Decision:
    """A stop verdict turned into a hold, with why it was not stopped in the same sentence."""
    return replace(decision, verdict=Verdict.HELD, reason=f"{decision.reason}; not stopped: {why}")


def _breaches(
    job: Job, policy: Policy, run_minutes: float, queue_minutes: float, cost: float | None
) -> list[str]:
    """Each limit the job is over, as a clause of the decision's sentence."""
    found = []
    # A queue limit is about being stuck before starting; once running it no longer applies.
    if (
        policy.max_queue_minutes is not None
        and job.started_at is None
        and queue_minutes > policy.max_queue_minutes
    ):
        found.append(
            f"queued {queue_minutes:.0f} min, over the {policy.max_queue_minutes:g} min queue limit"
        )
    if policy.max_run_minutes is not None and run_minutes > policy.max_run_minutes:
        found.append(
            f"running {run_minutes:.0f} min, over the {policy.max_run_minutes:g} min limit"
        )
    if policy.max_cost_usd is not None and cost is not None and cost > policy.max_cost_usd:
        found.append(f"estimated cost ${cost:.2f}, over the ${policy.max_cost_usd:.2f} limit")
    return found


def next_deadline(job: Job, policy: Policy, prices: Mapping[str, float]) -> datetime | None:
    """The earliest instant one of the policy's limits will be passed, if it can be known now.

    A queued job's run-time and cost limits start counting only when it starts, so until then
    only its queue limit gives a deadline (the start event schedules the rest). A deadline
    past what EventBridge Scheduler accepts is no deadline: the sweeps cover the job.
    """
    candidates: list[datetime | None] = []
    if job.started_at is None:
        if policy.max_queue_minutes is not None:
            candidates.append(later(job.submitted_at, policy.max_queue_minutes))
    else:
        if policy.max_run_minutes is not None:
            candidates.append(later(job.started_at, policy.max_run_minutes))
        if policy.max_cost_usd is not None and job.cost_basis is not None:
            rate = hourly_rate(job.cost_basis, prices)
            if rate is not None and rate > 0:
                candidates.append(later(job.started_at, policy.max_cost_usd / rate * 60))
    return min((c for c in candidates if c is not None), default=None)


def later(start: datetime, minutes: float) -> datetime | None:
    """`start` plus `minutes`, or None when that is not a time Scheduler accepts (or not a
    number): never an overflow, whatever the policy or price said."""
    if not math.isfinite(minutes) or start > LATEST_SCHEDULABLE:
        return None
    room = (LATEST_SCHEDULABLE - start).total_seconds() / 60
    if minutes > room:
        return None
    return start + timedelta(minutes=max(minutes, 0.0))

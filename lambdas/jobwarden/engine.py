"""Policy evaluation: a pure function from (job, policies, settings, now) to a Decision."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from jobwarden.bounds import LATEST_SCHEDULABLE
from jobwarden.model import (
    Action,
    Decision,
    Job,
    LimitWarning,
    Mode,
    Policy,
    Settings,
    Verdict,
)
from jobwarden.pricing import estimate_cost, hourly_rate
from jobwarden.savings import estimate_avoided
from jobwarden.waste import earliest_queue_limit, queue_breach, resubmit_queue, superseded

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
    newer: Job | None = None,
) -> Decision:
    """Evaluate one job. The stop budget is not the engine's: the act step spends it.

    `newer` is the newest run of the job's name and branch that the listing found, if newer
    than the job (`waste.newer_runs`): a policy with `cancel_superseded` stops the job for it."""
    run_minutes = job.run_seconds(now) / 60
    queue_minutes = job.queue_seconds(now) / 60
    cost = estimate_cost(job.cost_basis, job.run_seconds(now), settings.prices)

    def verdict(
        kind: Verdict,
        reason: str,
        policy: Policy | None = None,
        warnings: tuple[LimitWarning, ...] = (),
    ) -> Decision:
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
            owners=owners_of(job, policy) if policy else (),
            topics=policy.topics if policy else (),
            warnings=warnings,
            avoided=estimate_avoided(job, now, settings.prices),
        )

    if is_exempt(job, settings):
        return verdict(Verdict.EXEMPT, f"exempt by tag {settings.exempt_tag}")
    policy = select_policy(job, policies)
    if policy is None:
        return verdict(Verdict.OK, "no policy covers this job")

    breaches = _breaches(job, policy, run_minutes, queue_minutes, cost)
    kind = Verdict.STOP
    if not breaches and (clause := superseded(job, policy, newer)):
        breaches, kind = [clause], Verdict.SUPERSEDED
    if not breaches:
        near = _near(
            job,
            policy,
            run_minutes=run_minutes,
            queue_minutes=queue_minutes,
            cost=cost,
            prices=settings.prices,
        )
        if near:
            return verdict(
                Verdict.WARN, warning_reason(near, policy.name, settings.mode), policy, near
            )
        return verdict(Verdict.OK, f"within the limits of policy {policy.name}", policy)
    reason = f"{' and '.join(breaches)} of policy {policy.name}"
    if policy.action is Action.NOTIFY:
        return verdict(Verdict.NOTIFY, reason, policy)
    decision = _waste(verdict(kind, reason, policy), job, policy, newer, queue_minutes)
    if settings.kill_switch:
        return hold(decision, KILL_SWITCH_ON)
    return decision


def _waste(
    decision: Decision, job: Job, policy: Policy, newer: Job | None, queue_minutes: float
) -> Decision:
    """A superseded run names its newer run; a stop of a job stuck on a reason its policy
    resubmits on becomes a resubmission to the fallback queue."""
    if decision.verdict is Verdict.SUPERSEDED:
        return replace(decision, superseded_by=newer)
    fallback = resubmit_queue(job, policy) if queue_breach(job, policy, queue_minutes) else ""
    if not fallback:
        return decision
    return replace(
        decision,
        verdict=Verdict.RESUBMIT,
        reason=f"{decision.reason}; resubmitted to job queue {fallback}",
        fallback_queue=fallback,
    )


KILL_SWITCH_ON = "the kill switch is on"


def owners_of(job: Job, policy: Policy) -> tuple[str, ...]:
    """The job's values of the tags the policy routes by (`notify: ["tag:team"]`), in order."""
    values = (job.tags.get(key, "").strip() for key in policy.owner_tags)
    return tuple(dict.fromkeys(value for value in values if value))


def warning_reason(near: tuple[LimitWarning, ...], policy: str, mode: Mode) -> str:
    """One sentence: how near which limit, how long is left, and what happens at the limit."""
    clauses = " and ".join(w.clause for w in near)
    lefts = [w.left_minutes for w in near if w.left_minutes is not None]
    left = f"about {max(min(lefts), 0):.0f} min left" if lefts else "time left unknown"
    then = "stopped at the limit" if mode is Mode.ENFORCE else "a dry run only records the stop"
    return f"{clauses} of policy {policy}; {left}, then {then}"


def split_warnings(decision: Decision) -> list[Decision]:
    """A warn verdict as one decision per limit: each limit is warned about once."""
    if decision.verdict is not Verdict.WARN or len(decision.warnings) < 2:
        return [decision]
    return [
        replace(
            decision,
            warnings=(one,),
            reason=warning_reason((one,), decision.policy or "", decision.mode),
        )
        for one in decision.warnings
    ]


def _near(
    job: Job,
    policy: Policy,
    *,
    run_minutes: float,
    queue_minutes: float,
    cost: float | None,
    prices: Mapping[str, float],
) -> tuple[LimitWarning, ...]:
    """The limits of a stop policy the job has used `warn_at` of, without passing them."""
    share = policy.warn_at
    if share is None or policy.action is not Action.STOP:
        return ()
    found = []
    queue_limit = policy.max_queue_minutes
    if queue_limit is not None and job.started_at is None and queue_minutes >= share * queue_limit:
        found.append(
            LimitWarning(
                "queue",
                queue_limit,
                f"queued {queue_minutes:.0f} min, {queue_minutes / queue_limit:.0%} of the "
                f"{queue_limit:g} min queue limit",
                queue_limit - queue_minutes,
            )
        )
    run_limit = policy.max_run_minutes
    if run_limit is not None and job.started_at is not None and run_minutes >= share * run_limit:
        found.append(
            LimitWarning(
                "run",
                run_limit,
                f"running {run_minutes:.0f} min, {run_minutes / run_limit:.0%} of the "
                f"{run_limit:g} min limit",
                run_limit - run_minutes,
            )
        )
    cost_limit = policy.max_cost_usd
    if cost_limit is not None and cost is not None and cost >= share * cost_limit:
        rate = hourly_rate(job.cost_basis, prices) if job.cost_basis is not None else None
        found.append(
            LimitWarning(
                "cost",
                cost_limit,
                f"estimated cost ${cost:.2f}, {cost / cost_limit:.0%} of the "
                f"${cost_limit:.2f} limit",
                (cost_limit - cost) / rate * 60 if rate else None,
            )
        )
    return tuple(found)


def hold(decision: Decision, why: str) -> Decision:
    """A stop verdict turned into a hold, with why it was not stopped in the same sentence."""
    return replace(decision, verdict=Verdict.HELD, reason=f"{decision.reason}; not stopped: {why}")


def _breaches(
    job: Job, policy: Policy, run_minutes: float, queue_minutes: float, cost: float | None
) -> list[str]:
    """Each limit the job is over, as a clause of the decision's sentence."""
    found = []
    # A queue limit is about being stuck before starting; once running it no longer applies.
    # Which limit depends on why the job waits, where the policy says (`waste.queue_limit`).
    if queued := queue_breach(job, policy, queue_minutes):
        found.append(queued)
    if policy.max_run_minutes is not None and run_minutes > policy.max_run_minutes:
        found.append(
            f"running {run_minutes:.0f} min, over the {policy.max_run_minutes:g} min limit"
        )
    if policy.max_cost_usd is not None and cost is not None and cost > policy.max_cost_usd:
        found.append(f"estimated cost ${cost:.2f}, over the ${policy.max_cost_usd:.2f} limit")
    return found


def next_deadline(
    job: Job, policy: Policy, prices: Mapping[str, float], after: datetime | None = None
) -> datetime | None:
    """The earliest instant (after `after`, when given) one of the policy's limits will be
    passed, or its `warn_at` share of one reached, if it can be known now.

    A queued job's run-time and cost limits start counting only when it starts, so until then
    only its queue limit gives a deadline (the start event schedules the rest). A deadline
    past what EventBridge Scheduler accepts is no deadline: the sweeps cover the job.
    """
    shares = [1.0]
    if policy.warn_at is not None and policy.action is Action.STOP:
        shares.append(policy.warn_at)
    candidates: list[datetime | None] = []
    for share in shares:
        if job.started_at is None:
            if (limit := earliest_queue_limit(job, policy)) is not None:
                candidates.append(later(job.submitted_at, limit * share))
            continue
        if policy.max_run_minutes is not None:
            candidates.append(later(job.started_at, policy.max_run_minutes * share))
        if policy.max_cost_usd is not None and job.cost_basis is not None:
            rate = hourly_rate(job.cost_basis, prices)
            if rate is not None and rate > 0:
                candidates.append(later(job.started_at, policy.max_cost_usd * share / rate * 60))
    return min(
        (c for c in candidates if c is not None and (after is None or c > after)), default=None
    )


def later(start: datetime, minutes: float) -> datetime | None:
    """`start` plus `minutes`, or None when that is not a time Scheduler accepts (or not a
    number): never an overflow, whatever the policy or price said."""
    if not math.isfinite(minutes) or start > LATEST_SCHEDULABLE:
        return None
    room = (LATEST_SCHEDULABLE - start).total_seconds() / 60
    if minutes > room:
        return None
    return start + timedelta(minutes=max(minutes, 0.0))

"""Waste that timeouts miss: runs a newer run has made pointless, and queue waits judged by why
they wait. Pure functions over Jobs and Policies, used by the engine and the sweep; no I/O.

Superseded runs are what GitHub Actions (`concurrency` with `cancel-in-progress`), GitLab
(auto-cancel redundant pipelines, `interruptible`) and Buildkite (cancel intermediate builds)
cancel, and CodeBuild and Amplify do not: runs of one project (or app) and one branch or pull
request, the older ones once a newer one is queued or running. Never across branches, and never
for a run whose branch the service does not say (a commit id, a CodePipeline artifact).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from fnmatch import fnmatchcase

from jobwarden.model import Job, Policy

# Like GitLab's `interruptible: false`: a project, app or branch carrying this tag with a false
# value is never stopped as superseded (its other limits still apply).
INTERRUPTIBLE_TAG = "jobwarden:interruptible"
FALSE_VALUES = frozenset({"false", "no", "0", "off"})


def newer_runs(jobs: Iterable[Job]) -> dict[str, Job]:
    """Job key -> the newest run of the same service, region, name and branch, for every run
    that one was submitted after. Runs without a branch are never grouped; runs submitted at
    the same instant are not ordered, so neither supersedes the other; a retried attempt
    supersedes nothing."""
    groups: dict[tuple[str, str, str, str], list[Job]] = defaultdict(list)
    for job in jobs:
        if job.branch:
            groups[(job.service, job.region, job.name, job.branch)].append(job)
    found: dict[str, Job] = {}
    for runs in groups.values():
        # A retried attempt (a batch build's attempt 2 and on) runs an older commit again: it
        # may be superseded, but never supersedes a run submitted after the original.
        fresh = [run for run in runs if run.attempt in ("", "1")]
        if not fresh:
            continue
        newest = max(fresh, key=lambda run: run.submitted_at)
        for run in runs:
            if run.submitted_at < newest.submitted_at and run.job_id != newest.job_id:
                found[run.key] = newest
    return found


def interruptible(job: Job) -> bool:
    value = job.tags.get(INTERRUPTIBLE_TAG)
    return value is None or value.strip().lower() not in FALSE_VALUES


def superseded(job: Job, policy: Policy, newer: Job | None) -> str:
    """The clause saying why `job` is superseded under `policy`, or "" when it is not."""
    if newer is None or not policy.cancel_superseded or not interruptible(job):
        return ""
    if (newer.service, newer.region, newer.name, newer.branch) != (
        job.service,
        job.region,
        job.name,
        job.branch,
    ) or not job.branch:
        return ""  # never across projects or branches, whatever the caller passed
    return f"superseded by the newer run {newer.job_id} ({newer.status}) of {job.branch}"


def queue_limit(job: Job, policy: Policy) -> tuple[float, str] | None:
    """The queue limit that applies to `job` now, and the reason glob that set it ("" for
    `max_queue_minutes`). The most specific glob matching why the job waits wins (the most
    characters besides wildcards; the first written on a tie)."""
    if job.queue_reason:
        matching = [
            (pattern, minutes)
            for pattern, minutes in policy.max_queue_minutes_by_reason
            if fnmatchcase(job.queue_reason, pattern)
        ]
        if matching:
            pattern, minutes = max(matching, key=lambda pair: _specificity(pair[0]))
            return minutes, pattern
    if policy.max_queue_minutes is not None:
        return policy.max_queue_minutes, ""
    return None


def earliest_queue_limit(job: Job, policy: Policy) -> float | None:
    """The queue limit for a deadline: the one that applies, or, where the job's reason is not
    known (a job read from an event), the smallest any reason could set: a deadline may come
    early (the check reads the job and judges it), never late."""
    if job.queue_reason:
        limit = queue_limit(job, policy)
        return None if limit is None else limit[0]
    candidates = [minutes for _, minutes in policy.max_queue_minutes_by_reason]
    if policy.max_queue_minutes is not None:
        candidates.append(policy.max_queue_minutes)
    return min(candidates, default=None)


def queue_breach(job: Job, policy: Policy, queue_minutes: float) -> str:
    """The clause saying a queued job is over its queue limit, or "". A limit of 0 stops the
    job as soon as it is seen waiting for that reason (a hopeless wait)."""
    if job.started_at is not None:
        return ""  # a queue limit is about being stuck before starting
    limit = queue_limit(job, policy)
    if limit is None:
        return ""
    minutes, pattern = limit
    if queue_minutes <= minutes and minutes > 0:
        return ""
    if not pattern:  # the plain limit, in the sentence it always had
        return f"queued {queue_minutes:.0f} min, over the {minutes:g} min queue limit"
    if minutes == 0:
        return (
            f"queued {queue_minutes:.0f} min waiting for {job.queue_reason}, a reason stopped "
            f"at once ({pattern}: 0 min)"
        )
    return (
        f"queued {queue_minutes:.0f} min waiting for {job.queue_reason}, over the {minutes:g} "
        f"min queue limit for {pattern}"
    )


def resubmit_queue(job: Job, policy: Policy) -> str:
    """The fallback queue a queued job over its limit is resubmitted to, or "" to stop it.

    Only a job its adapter can submit again (`details["resubmittable"]`), waiting for a reason
    the policy resubmits on, and not already in the fallback queue (a job stuck there too is
    stopped, never passed back and forth)."""
    plan = policy.resubmit
    if plan is None or not job.details.get("resubmittable") or job.started_at is not None:
        return ""
    if not any(fnmatchcase(job.queue_reason, pattern) for pattern in plan.on_reasons):
        return ""
    current = str(job.details.get("jobQueue", ""))
    if current == plan.job_queue or current.endswith(f"/{plan.job_queue}"):
        return ""
    return plan.job_queue


def _specificity(pattern: str) -> int:
    return sum(char not in "*?[]" for char in pattern)

"""One sweep of one service: list, decide, claim, record, stop, alert.

The flow is the same for every service; the adapter supplies the service-specific calls.
One bad job or one failing region is recorded and alerted, and the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from jobwarden.alerts import AlertSink
from jobwarden.aws import Clients
from jobwarden.deadlines import DeadlineBook
from jobwarden.engine import decide, next_deadline, select_policy
from jobwarden.index import Change, Index, IndexedJob, JobEvent
from jobwarden.ledger import Entry, Ledger
from jobwarden.model import Decision, Job, Mode, Outcome, PendingRetry, RetryStarted, Verdict
from jobwarden.policies import Configuration, Problem
from jobwarden.services import REGISTRY
from jobwarden.services.base import ServiceAdapter

logger = Logger(service="jobwarden", child=True)

OUTCOME_OF_VERDICT = {
    Verdict.NOTIFY: Outcome.NOTIFIED,
    Verdict.HELD: Outcome.HELD,
}


@dataclass
class SweepResult:
    service: str
    seen: int = 0
    stopped: int = 0
    notified: int = 0
    errors: int = 0
    stop_failures: int = 0
    retried: int = 0
    missed: int = 0  # active jobs a full listing found that no event had indexed
    claimed_stops: int = 0
    failed_regions: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "seen": self.seen,
            "stopped": self.stopped,
            "notified": self.notified,
            "errors": self.errors,
        }

    @property
    def every_region_failed(self) -> bool:
        return bool(self.regions) and len(self.failed_regions) == len(self.regions)


class Sweeper:
    """Wires the collaborators; `run` sweeps one service, `check` one job at its deadline.

    Without an index every sweep lists the service in full. With one, sweeps evaluate the
    jobs the events indexed and list in full every `reconcile_every_minutes`, catching
    (and counting) what the events missed.
    """

    def __init__(
        self,
        clients: Clients,
        ledger: Ledger,
        alerts: AlertSink,
        configuration: Configuration,
        *,
        adapters: Mapping[str, type[ServiceAdapter]] = REGISTRY,
        index: Index | None = None,
        deadlines: DeadlineBook | None = None,
    ) -> None:
        self.adapters = adapters
        self.index = index
        self.deadlines = deadlines
        self.clients = clients
        self.ledger = ledger
        self.alerts = alerts
        self.configuration = configuration

    def run(self, service: str, now: datetime) -> SweepResult:
        """Sweep every region: the indexed jobs, or a full listing when one is due."""
        result = SweepResult(service)
        self._report_problems(self.configuration.problems, service, now, result)
        settings = self.configuration.settings
        regions = list(settings.regions) or [self.clients.default_region]
        result.regions = regions
        for region in regions:
            adapter = self.adapters[service](self.clients, region, settings)
            if adapter.supports_retry:
                self._retry_pending(adapter, now, result)
            jobs = self._active_jobs(adapter, now, result)
            if jobs is not None:
                self._evaluate(adapter, jobs, now, result)
        return result

    def check(
        self, service: str, region: str, job_id: str, name: str, now: datetime
    ) -> SweepResult:
        """A deadline fired: re-read that one job and act on it as a sweep would.

        If it is still within its limits (its policy changed, or it started later than the
        event told), the next deadline is scheduled; if it has ended, nothing is done.
        """
        result = SweepResult(service, regions=[region])
        adapter = self.adapters[service](self.clients, region, self.configuration.settings)
        job = adapter.describe(job_id, now, name)
        if job is None:
            logger.info("deadline check: the job has already ended", extra={"job": job_id})
            return result
        self._evaluate(adapter, [job], now, result)
        decision = result.decisions[-1] if result.decisions else None
        if decision and decision.verdict is Verdict.OK and self.deadlines is not None:
            policy = select_policy(job, self.configuration.policies)
            deadline = policy and next_deadline(job, policy, self.configuration.settings.prices)
            if deadline and deadline > now:
                self.deadlines.schedule(service, region, job_id, job.name, deadline)
        return result

    def _active_jobs(
        self, adapter: ServiceAdapter, now: datetime, result: SweepResult
    ) -> list[Job] | None:
        try:
            if self._reconcile_due(adapter, now):
                jobs = []
                for item in adapter.list_active(now):
                    if isinstance(item, Job):
                        jobs.append(item)
                        continue
                    self._error(
                        result,
                        subject=f"sweep#{adapter.name}#{adapter.region}",
                        service=adapter.name,
                        region=adapter.region,
                        now=now,
                        reason=f"could not read {item.subject}: {item.reason}",
                    )
                self._reconcile(adapter, jobs, now, result)
                return jobs
            assert self.index is not None
            indexed = self.index.active(adapter.name, adapter.region)
            names = {j.job_id: j.name for j in indexed}
            found = adapter.describe_many(list(names), now, names) if indexed else {}
            for gone in (j for j in indexed if j.job_id not in found):
                self._forget(adapter, gone.job_id, gone.name, now)
            return list(found.values())
        except Exception as error:
            logger.exception("listing failed", extra={"region": adapter.region})
            result.failed_regions.append(adapter.region)
            self._error(
                result,
                subject=f"sweep#{adapter.name}#{adapter.region}",
                service=adapter.name,
                region=adapter.region,
                now=now,
                reason=f"could not list active {adapter.name} jobs: {error}",
            )
            return None

    def _reconcile_due(self, adapter: ServiceAdapter, now: datetime) -> bool:
        if self.index is None or not adapter.events:  # no events feed an index for it
            return True
        last = self.index.last_reconciled(adapter.name, adapter.region)
        every = timedelta(minutes=self.configuration.settings.reconcile_every_minutes)
        return last is None or now - last >= every

    def _reconcile(
        self, adapter: ServiceAdapter, jobs: list[Job], now: datetime, result: SweepResult
    ) -> None:
        """Bring the index in line with a full listing, and count what the events missed.

        A service that sends no events keeps no index: nothing was missed, nothing to write.
        """
        if self.index is None or not adapter.events:
            return
        listed = {job.job_id for job in jobs}
        for job in jobs:
            indexed = IndexedJob(
                job.service, job.region, job.job_id, job.name, job.status, job.submitted_at, now
            )
            if self.index.add(indexed):
                result.missed += 1
                logger.warning(
                    "missed event: an active job was not indexed", extra={"job": job.key}
                )
        for stale in self.index.active(adapter.name, adapter.region):
            if stale.job_id not in listed:
                logger.warning(
                    "missed event: an indexed job has ended", extra={"job": stale.job_id}
                )
                self._forget(adapter, stale.job_id, stale.name, now)
        self.index.mark_reconciled(adapter.name, adapter.region, now)

    def _forget(self, adapter: ServiceAdapter, job_id: str, name: str, now: datetime) -> None:
        """Take an ended job out of the index, and its deadline off the schedule."""
        assert self.index is not None
        ended = JobEvent(adapter.name, adapter.region, job_id, name, "ENDED", False, now)
        change, before = self.index.observe(ended)
        if change is Change.LEFT and before and before.deadline_schedule and self.deadlines:
            self.deadlines.cancel(before.deadline_schedule)

    def _evaluate(
        self, adapter: ServiceAdapter, jobs: list[Job], now: datetime, result: SweepResult
    ) -> None:
        settings = self.configuration.settings
        stops: list[Decision] = []
        for job in jobs:
            result.seen += 1
            try:
                decision = decide(
                    job, self.configuration.policies, settings, now, result.claimed_stops
                )
                result.decisions.append(decision)
                if not decision.is_actionable:
                    continue
                if not self._claim(decision):
                    result.outcomes[job.key] = Outcome.ALREADY_HANDLED
                    continue
                if decision.verdict is Verdict.STOP:
                    result.claimed_stops += 1
                    if decision.calls_stop:
                        stops.append(decision)
                        continue
                    self._finish(decision, Outcome.WOULD_STOP, result)
                else:
                    self._finish(decision, OUTCOME_OF_VERDICT[decision.verdict], result)
            except Exception as error:
                logger.exception("job failed", extra={"job": job.key})
                self._error(
                    result,
                    subject=job.key,
                    service=job.service,
                    region=job.region,
                    now=now,
                    reason=f"{job.name}: {error}",
                )
        if stops:
            self._stop(adapter, stops, result)

    def _claim(self, decision: Decision) -> bool:
        return self.ledger.claim(decision.job.key, _action_key(decision), decision.at)

    def _stop(self, adapter: ServiceAdapter, stops: list[Decision], result: SweepResult) -> None:
        outcomes = adapter.stop_many([(d.job, d.reason) for d in stops])
        for decision in stops:
            outcome = outcomes.get(decision.job.key)
            if isinstance(outcome, Outcome):
                self._finish(decision, outcome, result)
                if outcome is Outcome.STOPPED and decision.retry and adapter.supports_retry:
                    self.ledger.add_pending_retry(_pending(decision))
                continue
            result.stop_failures += 1
            self.ledger.release(decision.job.key, _action_key(decision))
            note = f"the stop call failed: {outcome}"
            self._finish(decision, Outcome.FAILED, result, note)

    def _retry_pending(self, adapter: ServiceAdapter, now: datetime, result: SweepResult) -> None:
        """Retry the jobs earlier sweeps stopped, once each has finished stopping.

        A retry is claimed per attempt before it is started, so racing sweeps never retry
        twice; the attempts counted against the job's retry subject enforce the cap.
        """
        settings = self.configuration.settings
        if settings.mode is not Mode.ENFORCE or settings.kill_switch:
            return
        for pending in self.ledger.pending_retries(adapter.name, adapter.region):
            attempts = self.ledger.count_claims(pending.retry_subject, "retry#")
            if attempts >= pending.retry.max_attempts:
                self.ledger.remove_pending_retry(pending)
                reason = f"not retried: the {pending.retry.max_attempts}-attempt cap is reached"
                self._retry_entry(
                    result,
                    pending,
                    now=now,
                    outcome=Outcome.RETRIES_EXHAUSTED,
                    reason=reason,
                    attempt=attempts,
                )
                continue
            attempt = attempts + 1
            action = f"retry#{attempt}"
            if not self.ledger.claim(pending.retry_subject, action, now):
                continue
            try:
                outcome = adapter.retry(pending, attempt)
            except Exception as error:  # reported; the next sweep tries again
                logger.exception("retry failed", extra={"job": pending.key})
                self.ledger.release(pending.retry_subject, action)
                reason = f"retry {attempt} failed: {error}"
                self._retry_entry(
                    result, pending, now=now, outcome=Outcome.FAILED, reason=reason, attempt=attempt
                )
                result.errors += 1
                continue
            if isinstance(outcome, RetryStarted):
                outcome = Outcome.RETRIED
            if outcome is None:  # still stopping: try again next sweep
                self.ledger.release(pending.retry_subject, action)
                continue
            self.ledger.remove_pending_retry(pending)
            if outcome is Outcome.ALREADY_FINISHED:  # it succeeded after all, or is gone
                self.ledger.release(pending.retry_subject, action)  # no attempt was made
                reason = "not retried: the job ended on its own or no longer exists"
                self._retry_entry(
                    result, pending, now=now, outcome=outcome, reason=reason, attempt=attempts
                )
                continue
            self.ledger.release(pending.key, "stop")  # the retried job may be stopped again
            reason = (
                f"retry {attempt} of {pending.retry.max_attempts} ({pending.retry.type}) "
                f"after a stop under policy {pending.policy}"
            )
            self._retry_entry(
                result, pending, now=now, outcome=outcome, reason=reason, attempt=attempt
            )

    def _retry_entry(
        self,
        result: SweepResult,
        pending: PendingRetry,
        *,
        now: datetime,
        outcome: Outcome,
        reason: str,
        attempt: int,
    ) -> None:
        entry = Entry(
            subject=pending.key,
            service=pending.service,
            region=pending.region,
            at=now,
            verdict=Verdict.RETRY,
            outcome=outcome,
            mode=self.configuration.settings.mode,
            reason=reason,
            job_id=pending.job_id,
            job_name=pending.name,
            policy=pending.policy,
            attempt=attempt,
        )
        result.retried += outcome is Outcome.RETRIED
        self._publish(entry, result)

    def _finish(
        self, decision: Decision, outcome: Outcome, result: SweepResult, note: str = ""
    ) -> None:
        entry = Entry.from_decision(decision, outcome, note)
        result.outcomes[decision.job.key] = outcome
        if outcome is Outcome.STOPPED:
            result.stopped += 1
        elif outcome is Outcome.NOTIFIED:
            result.notified += 1
        elif outcome is Outcome.FAILED:
            result.errors += 1
        self._publish(entry, result)

    def _error(
        self,
        result: SweepResult,
        *,
        subject: str,
        service: str,
        region: str,
        now: datetime,
        reason: str,
    ) -> None:
        result.errors += 1
        entry = Entry(
            subject=subject,
            service=service,
            region=region,
            at=now,
            verdict=Verdict.ERROR,
            outcome=Outcome.NONE,
            mode=self.configuration.settings.mode,
            reason=reason,
        )
        self._publish(entry, result)

    def _publish(self, entry: Entry, result: SweepResult) -> None:
        """Record first, then alert; a failing alert is logged, the record stands."""
        result.entries.append(entry)
        logger.info(entry.reason, extra={"decision": entry.to_json()})
        self.ledger.record(entry)
        try:
            self.alerts.publish(entry)
        except Exception:
            logger.exception("alert failed", extra={"subject": entry.subject})
            result.errors += 1

    def _report_problems(
        self, problems: Iterable[Problem], service: str, now: datetime, result: SweepResult
    ) -> None:
        """Each broken document once per version of it, however many sweeps see it."""
        for problem in problems:
            logger.error(problem.reason)
            subject = f"policy#{problem.name}"
            if self.ledger.claim(subject, f"invalid#{problem.fingerprint}", now):
                self._error(
                    result,
                    subject=subject,
                    service=service,
                    region="-",
                    now=now,
                    reason=problem.reason,
                )


def _pending(decision: Decision) -> PendingRetry:
    job = decision.job
    assert decision.retry is not None
    return PendingRetry(
        service=job.service,
        region=job.region,
        job_id=job.job_id,
        name=job.name,
        retry_subject=job.retry_subject,
        retry=decision.retry,
        policy=decision.policy or "",
        stopped_at=decision.at,
        details=job.details,
    )


def _action_key(decision: Decision) -> str:
    if decision.verdict is Verdict.STOP:
        return "stop" if decision.mode is Mode.ENFORCE else "dry-run-stop"
    return f"{decision.verdict}#{decision.policy}"

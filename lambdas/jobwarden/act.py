"""The act step: a decision is written ahead, carried out, and settled, one job at a time.

For each actionable decision:
  1. write it ahead, open, owned by this invocation and leased a little longer than it can
     run (`Ledger.open`): a second sweep or check finds it and keeps off; a retried write or a
     retried invocation finds its own record and goes on;
  2. for a stop: read the kill switch and mode fresh, spend one stop of the service's budget,
     re-read the job when the reading is old, call the service's stop;
  3. settle the record with the outcome. A stop whose answer is unknown (an error after which
     the job may have stopped anyway) is read back from the service, never guessed.
A crash at any line leaves an open record whose lease runs out; `recover` in the next sweep
takes it over, reads the job back, and finishes the work. Nothing is held by a dead process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from jobwarden.budget import StopBudget
from jobwarden.engine import KILL_SWITCH_ON, decide, hold, split_warnings
from jobwarden.ledger import Entry, Ledger, Opened, Record
from jobwarden.model import Decision, Job, Mode, Outcome, PendingRetry, Policy, Settings, Verdict
from jobwarden.report import Reporter
from jobwarden.result import SweepResult
from jobwarden.services.base import Resubmission, ServiceAdapter

logger = Logger(service="jobwarden", child=True)

# A reading older than this is taken again just before the stop: a slow sweep never stops a
# job (or a retried attempt of it) on what it saw minutes ago.
FRESH_FOR = timedelta(minutes=2)
# No new stop starts with less time left than this: it could not be settled before Lambda
# ends the invocation. What is not reached is decided again by the next sweep.
RESERVE_SECONDS = 20.0

PLANNED_OUTCOME = {
    Verdict.NOTIFY: Outcome.NOTIFIED,
    Verdict.HELD: Outcome.HELD,
    Verdict.STOP: Outcome.WOULD_STOP,  # a stop that calls no API: dry-run
    Verdict.WARN: Outcome.WARNED,
    Verdict.SUPERSEDED: Outcome.WOULD_STOP,
    Verdict.RESUBMIT: Outcome.WOULD_RESUBMIT,
}
# The actions that call the service (enforce mode); dry-run ones are prefixed "dry-run-".
CALLING_ACTIONS = ("stop", "superseded", "resubmit")


@dataclass(frozen=True)
class Lease:
    """Who acts, for how long a record stays theirs, and how much time they have left."""

    owner: str
    length: timedelta
    time_left: Callable[[], float] = lambda: float("inf")
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def action_key(decision: Decision) -> str:
    """What a record is the decision to do, on which attempt of the job."""
    verdict = decision.verdict
    if verdict is Verdict.STOP:
        action = "stop" if decision.mode is Mode.ENFORCE else "dry-run-stop"
    elif verdict is Verdict.WARN:  # one warning per job and limit (see split_warnings)
        action = f"warn#{decision.policy}#{'+'.join(w.key for w in decision.warnings)}"
    elif verdict in (Verdict.SUPERSEDED, Verdict.RESUBMIT):
        action = waste_action(decision)
    else:
        action = f"{verdict}#{decision.policy}"
    return f"{action}#{decision.job.attempt}" if decision.job.attempt else action


class Act:
    """Carries out the decisions of one sweep or check for one adapter."""

    def __init__(
        self,
        adapter: ServiceAdapter,
        ledger: Ledger,
        budget: StopBudget,
        reporter: Reporter,
        lease: Lease,
        *,
        policies: Sequence[Policy],
        settings: Settings,
        fresh_settings: Callable[[], Settings],
    ) -> None:
        self.adapter = adapter
        self.ledger = ledger
        self.budget = budget
        self.reporter = reporter
        self.lease = lease
        self.policies = policies
        self.settings = settings
        self._fresh_settings = fresh_settings
        self._checked: Settings | None = None

    def carry_out(self, decision: Decision, result: SweepResult) -> None:
        """Act on one decision; an error is this job's, recorded, and the sweep goes on."""
        if not decision.is_actionable or decision.verdict is Verdict.ERROR:
            return
        if len(warnings := split_warnings(decision)) > 1:
            for warning in warnings:
                self.carry_out(warning, result)
            return
        if decision.calls_stop and self.lease.time_left() < RESERVE_SECONDS:
            result.deferred += 1
            return
        try:
            if decision.calls_stop:
                decision = self._checked_again(decision)
            record = self._record(decision)
            opened = self.ledger.open(record, self.lease.clock())
            if opened is Opened.STALE:
                self._recover(record, result)
            elif opened is Opened.OURS:
                self._finish(decision, record, result)
            else:
                result.busy += opened is Opened.BUSY
                result.outcomes[decision.job.key] = Outcome.ALREADY_HANDLED
        except Exception as error:  # one job's failure never hides the others
            logger.exception("acting on a job failed", extra={"job": decision.job.key})
            self.reporter.error(
                result,
                subject=decision.job.key,
                service=decision.job.service,
                region=decision.job.region,
                now=decision.at,
                reason=f"{decision.job.name}: {error}",
            )

    def recover(self, result: SweepResult) -> None:
        """Finish the open records of this service and region whose lease ran out (their owner
        died or timed out), and read back the stops that take effect later."""
        now = self.lease.clock()
        for record in self.ledger.open_records(self.adapter.name, self.adapter.region):
            if record.lease_until > now or self.lease.time_left() < RESERVE_SECONDS:
                continue
            try:
                self._recover(record, result)
            except Exception as error:  # recorded; the next sweep tries again
                logger.exception(
                    "recovering a decision failed", extra={"job": record.entry.subject}
                )
                self.reporter.error(
                    result,
                    subject=record.entry.subject,
                    service=record.entry.service,
                    region=record.entry.region,
                    now=now,
                    reason=f"{record.entry.job_name}: recovering an open decision failed: {error}",
                )

    def _recover(self, record: Record, result: SweepResult) -> None:
        now = self.lease.clock()
        if not self.ledger.take_over(record, self.lease.owner, now + self.lease.length, now):
            result.busy += 1
            return
        record = replace(record, owner=self.lease.owner, lease_until=now + self.lease.length)
        requested = record.entry.outcome is Outcome.STOP_REQUESTED
        result.recovered += not requested
        if not record.action.startswith(CALLING_ACTIONS):  # nothing was to be called: settle
            planned = PLANNED_OUTCOME[record.entry.verdict]
            self._settle(record, planned, record.entry.reason, result)
            return
        if record.action.startswith("resubmit#") and not requested:
            # Finish what the dead owner started (a copy submitted, the original not yet
            # cancelled); nothing submitted yet falls through to be judged again.
            queue = record.action.split("#")[1]
            done = self.adapter.resubmit(record.job, queue, record.entry.reason, submit=False)
            if done is not None:
                self._settle_resubmission(record, done, result)
                return
        outcome = self.adapter.read_back(record.job, record.entry.reason)
        if outcome is not None:
            note = "" if requested else "found after an interrupted stop"
            self._settle(
                record, outcome, _with(record.entry.reason, note), result, alert=not requested
            )
            return
        if requested:  # accepted, not yet taken effect: read it again next sweep
            return
        job = self.adapter.describe(record.entry.job_id, now, record.entry.job_name)
        decision = None if job is None else self._judge(job, now)
        if decision is None or not decision.calls_stop or action_key(decision) != record.action:
            self.ledger.drop(record)  # ended unseen, or no longer over: nothing to finish
            return
        self._stop(decision, record, result)

    def _finish(self, decision: Decision, record: Record, result: SweepResult) -> None:
        if not decision.calls_stop:
            self._settle(record, PLANNED_OUTCOME[decision.verdict], record.entry.reason, result)
            return
        if self.lease.clock() - decision.at > FRESH_FOR:
            job = self.adapter.describe(decision.job.job_id, self.lease.clock(), decision.job.name)
            newer = decision.superseded_by  # a superseded run stays superseded while it runs
            fresh = None if job is None else self._judge(job, self.lease.clock(), newer)
            if fresh is None or action_key(fresh) != record.action or not fresh.calls_stop:
                self.ledger.drop(record)  # ended, retried or back within limits since
                return
            decision = fresh
        self._stop(decision, record, result)

    def _stop(self, decision: Decision, record: Record, result: SweepResult) -> None:
        job, service = decision.job, self.adapter.name
        subject = f"{job.key}#{record.action}"
        if not self.budget.take(service, subject, self.lease.clock()):
            self.ledger.drop(record)
            held = hold(decision, self._budget_spent())
            held_record = self._record(held)
            if self.ledger.open(held_record, self.lease.clock()) is Opened.OURS:
                self._settle(held_record, Outcome.HELD, held_record.entry.reason, result)
            else:  # held before (recorded and alerted once), and still held
                result.outcomes[job.key] = Outcome.HELD
            return
        if decision.verdict is Verdict.RESUBMIT:
            self._resubmit(decision, record, result)
            return
        outcome: Outcome | None
        try:
            outcome = self.adapter.stop(job, decision.reason)
        except Exception as error:  # noqa: BLE001 - the stop may have landed: read it back
            outcome = self.adapter.read_back(job, decision.reason)
            if outcome is None:
                self._failed(decision, record, error, result)
                return
        self._settle(record, outcome, record.entry.reason, result)

    def _resubmit(self, decision: Decision, record: Record, result: SweepResult) -> None:
        """Submit the job again to its fallback queue, then cancel it (the adapter finds a
        copy an earlier attempt submitted, so a retry never submits two)."""
        try:
            done = self.adapter.resubmit(decision.job, decision.fallback_queue, decision.reason)
        except Exception as error:  # noqa: BLE001 - recorded; the next sweep tries again
            self._failed(decision, record, error, result)
            return
        if done is None:  # cannot happen with submit=True; read it as a failure, not a guess
            self._failed(decision, record, RuntimeError("the resubmission did not run"), result)
            return
        self._settle_resubmission(record, done, result)

    def _settle_resubmission(self, record: Record, done: Resubmission, result: SweepResult) -> None:
        """Settle the original's decision with the copy named, and record the copy itself,
        linked to the original, in its own entry."""
        reason = _with(record.entry.reason, done.note)
        if done.copy_id and done.outcome in (Outcome.RESUBMITTED, Outcome.STOP_REQUESTED):
            entry = replace(
                record.entry,
                subject=f"{record.entry.service}#{record.entry.region}#{done.copy_id}",
                job_id=done.copy_id,
                outcome=Outcome.RESUBMITTED,
                reason=f"resubmission of {record.entry.job_id} to job queue {done.queue} under "
                f"policy {record.entry.policy}",
                linked=record.entry.job_id,
            )
            self.reporter.entry(entry, result, record.entry.subject, record.action, "copy")
        self._settle(record, done.outcome, reason, result)

    def _failed(
        self, decision: Decision, record: Record, error: Exception, result: SweepResult
    ) -> None:
        """The job is still running after a stop that failed: say so once, and let the next
        sweep try again (the record and the budget's slot are given back)."""
        result.stop_failures += 1
        what = "resubmission" if decision.verdict is Verdict.RESUBMIT else "stop call"
        entry = Entry.from_decision(decision, Outcome.FAILED, f"the {what} failed: {error}")
        self.reporter.entry(entry, result, record.entry.subject, record.action, "failed")
        self.budget.give_back(self.adapter.name, f"{decision.job.key}#{record.action}")
        self.ledger.drop(record)

    def _settle(
        self,
        record: Record,
        outcome: Outcome,
        reason: str,
        result: SweepResult,
        *,
        alert: bool = True,
    ) -> None:
        """Settle a record we own. A stop whose policy asks for a retry queues it first, so a
        crash between the two leaves the record open and recovery queues it again."""
        if outcome is Outcome.STOPPED and record.retry and self.adapter.supports_retry:
            self.ledger.add_pending_retry(_pending(record))
        if not self.ledger.settle(record, outcome, reason, alert=alert):
            logger.warning("lease lost before settling", extra={"job": record.entry.subject})
            result.busy += 1
            return
        entry = replace(record.entry, outcome=outcome, reason=reason)
        logger.info(reason, extra={"decision": entry.to_json()})
        if alert:
            result.count(entry)

    def _checked_again(self, decision: Decision) -> Decision:
        """The kill switch and mode as they are now, read once per sweep before its first stop."""
        if self._checked is None:
            self._checked = self._fresh_settings()
        if self._checked.kill_switch:
            return hold(decision, KILL_SWITCH_ON)
        if self._checked.mode is not Mode.ENFORCE:
            return replace(decision, mode=self._checked.mode)
        return decision

    def _judge(self, job: Job, now: datetime, newer: Job | None = None) -> Decision:
        return self._checked_again(decide(job, self.policies, self.settings, now, newer))

    def _budget_spent(self) -> str:
        settings = self.settings
        return (
            f"the stop budget of {settings.max_stops_per_window} per "
            f"{settings.stop_window_minutes} min for {self.adapter.name} is spent"
        )

    def _record(self, decision: Decision) -> Record:
        now = self.lease.clock()
        return Record(
            entry=Entry.from_decision(decision),
            action=action_key(decision),
            owner=self.lease.owner,
            lease_until=now + self.lease.length,
            state="open",
            details=dict(decision.job.details),
            retry=decision.retry if decision.calls_stop else None,
            retry_subject=decision.job.retry_subject,
        )


def waste_action(decision: Decision) -> str:
    """The action of a superseded run, "superseded", or of a resubmission,
    "resubmit#<fallback queue>" (recovery reads the queue back from it); prefixed "dry-run-"
    when nothing is to be called."""
    action = "superseded"
    if decision.verdict is Verdict.RESUBMIT:
        action = f"resubmit#{decision.fallback_queue}"
    return action if decision.mode is Mode.ENFORCE else f"dry-run-{action}"


def _with(reason: str, note: str) -> str:
    return f"{reason}; {note}" if note else reason


def _pending(record: Record) -> PendingRetry:
    entry = record.entry
    assert record.retry is not None
    return PendingRetry(
        service=entry.service,
        region=entry.region,
        job_id=entry.job_id,
        name=entry.job_name,
        retry_subject=record.retry_subject or entry.subject,
        retry=record.retry,
        policy=entry.policy,
        stopped_at=entry.at,
        details=record.details,
    )

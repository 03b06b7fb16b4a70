"""The retry queue: jobs stopped under a policy that asks for a retry are started again once
they have finished stopping, at most `max_attempts` times.

Each attempt is claimed (`retry#<n>` on the job's retry subject) before the service is asked,
so racing sweeps never retry twice and every attempt counts against the cap, failed ones
included; a sweep that dies after the claim has spent that attempt, never doubled it. A
refusal no sweep can overcome is recorded once and the job leaves the queue; so does a job
that ended on its own or was deleted (without spending an attempt). Pending retries expire
in hours (`ledger.PENDING_RETRY_TTL`).
"""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools import Logger

from jobwarden.ledger import Entry, Ledger
from jobwarden.model import Mode, Outcome, PendingRetry, RetryStarted, Settings, Verdict
from jobwarden.report import Reporter
from jobwarden.result import SweepResult
from jobwarden.services.base import RetryImpossible, ServiceAdapter

logger = Logger(service="jobwarden", child=True)


class RetryQueue:
    def __init__(self, ledger: Ledger, reporter: Reporter, settings: Settings) -> None:
        self.ledger = ledger
        self.reporter = reporter
        self.settings = settings

    def run(self, adapter: ServiceAdapter, now: datetime, result: SweepResult) -> None:
        if self.settings.mode is not Mode.ENFORCE or self.settings.kill_switch:
            return
        for pending in self.ledger.pending_retries(adapter.name, adapter.region):
            self._one(adapter, pending, now, result)

    def _one(
        self, adapter: ServiceAdapter, pending: PendingRetry, now: datetime, result: SweepResult
    ) -> None:
        attempts = self.ledger.count_claims(pending.retry_subject, "retry#")
        cap = pending.retry.max_attempts
        if attempts >= cap:
            self.ledger.remove_pending_retry(pending)
            self._entry(
                pending,
                now,
                Outcome.RETRIES_EXHAUSTED,
                attempts,
                result,
                reason=f"not retried: the {cap}-attempt cap is reached",
            )
            return
        attempt = attempts + 1
        action = f"retry#{attempt}"
        if not self.ledger.claim(pending.retry_subject, action, now, self.reporter.owner):
            return  # another sweep holds this attempt
        try:
            started = adapter.retry(pending, attempt)
        except RetryImpossible as error:
            self.ledger.remove_pending_retry(pending)
            self._entry(
                pending, now, Outcome.FAILED, attempt, result, reason=f"cannot be retried: {error}"
            )
            return
        except Exception as error:  # this attempt counts; the next sweep goes on
            logger.exception("retry failed", extra={"job": pending.key})
            self._entry(
                pending,
                now,
                Outcome.FAILED,
                attempt,
                result,
                reason=f"retry {attempt} of {cap} failed: {error}",
            )
            return
        if started is None:  # still stopping: no attempt was made
            self.ledger.release(pending.retry_subject, action)
            return
        self.ledger.remove_pending_retry(pending)
        if not isinstance(started, RetryStarted):  # it succeeded after all, or is gone
            self.ledger.release(pending.retry_subject, action)
            self._entry(
                pending,
                now,
                started,
                attempts,
                result,
                reason="not retried: the job ended on its own or no longer exists",
            )
            return
        how = f"; {started.note}" if started.note else ""
        runs_as = f", running as {started.job_id}" if started.job_id != pending.job_id else ""
        self._entry(
            pending,
            now,
            Outcome.RETRIED,
            attempt,
            result,
            reason=f"retry {attempt} of {cap} ({pending.retry.type}) after a stop under "
            f"policy {pending.policy}{runs_as}{how}",
        )

    def _entry(
        self,
        pending: PendingRetry,
        now: datetime,
        outcome: Outcome,
        attempt: int,
        result: SweepResult,
        *,
        reason: str,
    ) -> None:
        entry = Entry(
            subject=pending.key,
            service=pending.service,
            region=pending.region,
            at=now,
            verdict=Verdict.RETRY,
            outcome=outcome,
            mode=self.settings.mode,
            reason=reason,
            job_id=pending.job_id,
            job_name=pending.name,
            policy=pending.policy,
            attempt=attempt,
        )
        self.reporter.entry(entry, result, pending.key, f"retry#{attempt}", str(outcome))

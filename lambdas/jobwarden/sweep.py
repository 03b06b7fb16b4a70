"""One sweep of one service, or one deadline check: a short orchestration over the steps.

  recover   open decisions whose owner died are finished (act.py)
  retry     stopped jobs whose policy asks for it are started again (retries.py)
  list      the jobs to judge: the index, or a full listing (listing.py)
  judge     engine.decide: pure, one sentence of reason
  act       write ahead, stop, settle (act.py)
  alert     the outbox: every entry's alert until delivered (outbox.py)
One bad job or one failing region is recorded and alerted, and the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from uuid import uuid4

from aws_lambda_powertools import Logger

from jobwarden.act import Act, Lease
from jobwarden.alerts import AlertSink
from jobwarden.aws import Clients
from jobwarden.budget import MemoryBudget, StopBudget
from jobwarden.deadlines import DeadlineBook
from jobwarden.engine import decide, next_deadline, select_policy
from jobwarden.index import Index
from jobwarden.ledger import Ledger
from jobwarden.listing import Listing
from jobwarden.model import Decision, Job, Settings, Verdict
from jobwarden.outbox import Outbox
from jobwarden.policies import Configuration
from jobwarden.report import Reporter
from jobwarden.result import SweepResult
from jobwarden.retries import RetryQueue
from jobwarden.services import REGISTRY
from jobwarden.services.base import ServiceAdapter
from jobwarden.waste import newer_runs
from jobwarden.watermark import Watermarks

logger = Logger(service="jobwarden", child=True)

__all__ = ["SweepResult", "Sweeper"]


class Sweeper:
    """Wires the steps; `run` sweeps one service, `check` one job at its deadline."""

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
        budget: StopBudget | None = None,
        lease: Lease | None = None,
        fresh_settings: Callable[[], Settings] | None = None,
        watermarks: Watermarks | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        settings = configuration.settings
        self.clients = clients
        self.ledger = ledger
        self.configuration = configuration
        self.adapters = adapters
        self.deadlines = deadlines
        self.lease = lease or Lease(owner=f"run-{uuid4()}", length=timedelta(minutes=15))
        self.budget = budget or MemoryBudget(
            settings.max_stops_per_window, timedelta(minutes=settings.stop_window_minutes)
        )
        self.fresh_settings = fresh_settings or (lambda: settings)
        self.reporter = Reporter(ledger, self.lease.owner, settings.mode)
        self.listing = Listing(
            settings, self.reporter, clients.default_region, index, deadlines, watermarks=watermarks
        )
        self.retries = RetryQueue(ledger, self.reporter, settings)
        self.outbox = outbox or Outbox.for_settings(ledger, alerts, settings)

    def run(self, service: str, now: datetime) -> SweepResult:
        """Sweep every region: finish what dead owners left, retry, list, judge, act, alert."""
        result = SweepResult(service)
        self._report_problems(service, now, result)
        result.regions = list(self.configuration.settings.regions) or [self.clients.default_region]
        for region in result.regions:
            adapter = self.adapters[service](self.clients, region, self.configuration.settings)
            act = self._act(adapter)
            act.recover(result)
            if adapter.supports_retry:
                self.retries.run(adapter, now, result)
            jobs = self.listing.active_jobs(adapter, now, result) or []
            newer = newer_runs(jobs)  # runs a newer run of their branch supersedes
            for job in jobs:
                self._judge(job, now, act, result, newer.get(job.key))
        result.undelivered = self.outbox.drain(service, now)
        return result

    def check(
        self, service: str, region: str, job_id: str, name: str, now: datetime
    ) -> SweepResult:
        """A deadline fired: re-read that one job and act on it as a sweep would (same budget,
        kill switch and exemptions). Within its limits, the next deadline is scheduled; ended,
        nothing is done. After a warning, the check moves to the limit itself."""
        result = SweepResult(service, regions=[region])
        adapter = self.adapters[service](self.clients, region, self.configuration.settings)
        job = adapter.describe(job_id, now, name)
        if job is None:
            logger.info("deadline check: the job has already ended", extra={"job": job_id})
        else:
            decision = self._judge(job, now, self._act(adapter), result)
            if decision is not None and decision.verdict in (Verdict.OK, Verdict.WARN):
                self._reschedule(job, now)
        result.undelivered = self.outbox.drain(service, now)
        return result

    def _judge(
        self, job: Job, now: datetime, act: Act, result: SweepResult, newer: Job | None = None
    ) -> Decision | None:
        result.seen += 1
        try:
            configuration = self.configuration
            decision = decide(job, configuration.policies, configuration.settings, now, newer)
        except Exception as error:  # this job's problem; the sweep goes on
            logger.exception("judging a job failed", extra={"job": job.key})
            self.reporter.error(
                result,
                subject=job.key,
                service=job.service,
                region=job.region,
                now=now,
                reason=f"{job.name}: {error}",
            )
            return None
        result.decisions.append(decision)
        act.carry_out(decision, result)
        return decision

    def _act(self, adapter: ServiceAdapter) -> Act:
        return Act(
            adapter,
            self.ledger,
            self.budget,
            self.reporter,
            self.lease,
            policies=self.configuration.policies,
            settings=self.configuration.settings,
            fresh_settings=self.fresh_settings,
        )

    def _reschedule(self, job: Job, now: datetime) -> None:
        if self.deadlines is None:
            return
        policy = select_policy(job, self.configuration.policies)
        deadline = policy and next_deadline(
            job, policy, self.configuration.settings.prices, after=now
        )
        if deadline and deadline > now:
            self.deadlines.schedule(job.service, job.region, job.job_id, job.name, deadline)

    def _report_problems(self, service: str, now: datetime, result: SweepResult) -> None:
        """Each broken document once per version of it, however many sweeps see it."""
        for problem in self.configuration.problems:
            logger.error(problem.reason)
            self.reporter.error(
                result,
                subject=f"policy#{problem.name}",
                service=service,
                region="-",
                now=now,
                reason=problem.reason,
                shared_key=f"invalid#{problem.fingerprint}",
            )

"""The listing step: which jobs a sweep judges.

Without an index every sweep lists the service in full. With one, sweeps re-read the jobs the
events indexed and list in full every `reconcile_every_minutes`, catching (and counting) what
the events missed. A service or region whose starts no event announces is listed in full every
time: the service sends no events, or sends a start only when the job asks (Glue), or the
region is not the stack's own (EventBridge rules are regional; the stack's rules live in its
own region only).

A full listing of a service whose listing grows with history (`adapter.incremental`) reads
only what changed since the last listing's watermark (jobwarden.watermark) while the
watermark is fresh, and in full otherwise; either way it returns every active job.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from jobwarden.deadlines import DeadlineBook
from jobwarden.index import Change, Index, IndexedJob, JobEvent
from jobwarden.model import Job, Settings
from jobwarden.report import Reporter
from jobwarden.result import SweepResult
from jobwarden.services.base import ServiceAdapter, Unreadable
from jobwarden.watermark import MAX_ACTIVE, Watermark, Watermarks

logger = Logger(service="jobwarden", child=True)


class Listing:
    def __init__(
        self,
        settings: Settings,
        reporter: Reporter,
        home_region: str,
        index: Index | None = None,
        deadlines: DeadlineBook | None = None,
        *,
        watermarks: Watermarks | None = None,
    ) -> None:
        self.watermarks = watermarks
        self._previous: Watermark | None = None  # the watermark the current listing started at
        self.settings = settings
        self.reporter = reporter
        self.home_region = home_region
        self.index = index
        self.deadlines = deadlines

    def active_jobs(
        self, adapter: ServiceAdapter, now: datetime, result: SweepResult
    ) -> list[Job] | None:
        """The jobs to judge, or None when the listing failed (recorded as the region's error).
        A resource that could not be read is recorded on its own; the rest is listed."""
        try:
            if self.full_listing_due(adapter, now):
                jobs, complete = [], True
                for item in self._list(adapter, now):
                    if isinstance(item, Job):
                        jobs.append(item)
                    else:
                        complete = False
                        self._error(
                            adapter, now, result, f"could not read {item.subject}: {item.reason}"
                        )
                self._keep_watermark(adapter, now)
                self._reconcile(adapter, jobs, complete, now, result)
                return jobs
            assert self.index is not None
            indexed = self.index.active(adapter.name, adapter.region)
            names = {j.job_id: j.name for j in indexed}
            found = adapter.describe_many(list(names), now, names) if indexed else {}
            for gone in (j for j in indexed if j.job_id not in found):
                self._forget(adapter, gone.job_id, gone.name, now)
            return list(found.values())
        except Exception as error:  # the region's problem; other regions go on
            logger.exception("listing failed", extra={"region": adapter.region})
            result.failed_regions.append(adapter.region)
            self._error(adapter, now, result, f"could not list active {adapter.name} jobs: {error}")
            return None

    def _list(self, adapter: ServiceAdapter, now: datetime) -> Iterator[Job | Unreadable]:
        """Since the watermark when there is a fresh one, else in full."""
        self._previous = None
        if self.watermarks is not None and adapter.incremental:
            self._previous = self.watermarks.get(adapter.name, adapter.region)
            if self._previous is not None and self._previous.usable(now):
                logger.debug("incremental listing", extra={"since": self._previous.at})
                return adapter.list_since(self._previous.mark, now)
            self._previous = None
        return adapter.list_active(now)

    def _keep_watermark(self, adapter: ServiceAdapter, now: datetime) -> None:
        """Remember where this listing stopped; a listing that did not finish leaves none,
        and one too large to keep leaves the old one to go stale."""
        mark = adapter.listed
        if self.watermarks is None or mark is None or len(mark.active) > MAX_ACTIVE:
            return
        full_at = now if mark.full or self._previous is None else self._previous.full_at
        self.watermarks.put(adapter.name, adapter.region, Watermark(mark, now, full_at))

    def indexed(self, adapter: ServiceAdapter) -> bool:
        """Whether events keep this service's index in this region."""
        return (
            self.index is not None
            and bool(adapter.events)
            and adapter.events_announce_starts
            and adapter.region == self.home_region
        )

    def full_listing_due(self, adapter: ServiceAdapter, now: datetime) -> bool:
        if not self.indexed(adapter):
            return True
        assert self.index is not None
        last = self.index.last_reconciled(adapter.name, adapter.region)
        every = timedelta(minutes=self.settings.reconcile_every_minutes)
        return last is None or now - last >= every

    def _reconcile(
        self,
        adapter: ServiceAdapter,
        jobs: list[Job],
        complete: bool,
        now: datetime,
        result: SweepResult,
    ) -> None:
        """Bring the index in line with a full listing, and count what the events missed.
        Where events do not keep the index, nothing was missed and nothing is written. A
        listing that could not read every resource drops nothing: a job it did not see may
        be in the resource it could not read."""
        if not self.indexed(adapter):
            return
        assert self.index is not None
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
        for stale in self.index.active(adapter.name, adapter.region) if complete else ():
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

    def _error(
        self, adapter: ServiceAdapter, now: datetime, result: SweepResult, reason: str
    ) -> None:
        self.reporter.error(
            result,
            subject=f"sweep#{adapter.name}#{adapter.region}",
            service=adapter.name,
            region=adapter.region,
            now=now,
            reason=reason,
        )

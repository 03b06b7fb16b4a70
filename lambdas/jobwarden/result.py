"""What one sweep or deadline check did: counted for the summary, the metrics and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobwarden.ledger import Entry
from jobwarden.model import Decision, Outcome


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
    busy: int = 0  # decisions another owner's live lease holds (a racing sweep or check)
    recovered: int = 0  # open decisions whose owner's lease ran out, taken over and finished
    deferred: int = 0  # decisions not carried out for want of time; the next sweep decides again
    undelivered: int = 0  # alerts still in the outbox when the sweep ended
    avoided_usd: float = 0.0  # what this sweep's stops saved (savings.py)
    avoidable_usd: float = 0.0  # what its dry-run would-stops would have saved
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
            "busy": self.busy,
            "recovered": self.recovered,
            "deferred": self.deferred,
            "undelivered": self.undelivered,
        }

    @property
    def every_region_failed(self) -> bool:
        return bool(self.regions) and len(self.failed_regions) == len(self.regions)

    def count(self, entry: Entry) -> None:
        """Count a settled decision or a written entry by its outcome."""
        self.entries.append(entry)
        if entry.job_id:
            self.outcomes[entry.subject] = entry.outcome
        if entry.outcome is Outcome.STOPPED:
            self.stopped += 1
            self.avoided_usd += entry.cost_avoided_usd or 0.0
        elif entry.outcome is Outcome.WOULD_STOP:
            self.avoidable_usd += entry.cost_avoided_usd or 0.0
        elif entry.outcome is Outcome.NOTIFIED:
            self.notified += 1
        elif entry.outcome in (Outcome.FAILED, Outcome.NONE):
            self.errors += 1
        elif entry.outcome is Outcome.RETRIED:
            self.retried += 1

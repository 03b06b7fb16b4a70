"""Errors and other one-off entries: written once per failure, alerted through the outbox.

An entry's key is its owner (the invocation) and what it says, so Lambda's retry of the same
invocation, which keeps its request id, records and alerts nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools import Logger

from jobwarden.ledger import Entry, Ledger, entry_key
from jobwarden.model import Mode, Outcome, Verdict
from jobwarden.result import SweepResult

logger = Logger(service="jobwarden", child=True)


class Reporter:
    def __init__(self, ledger: Ledger, owner: str, mode: Mode) -> None:
        self.ledger = ledger
        self.owner = owner
        self.mode = mode

    def entry(self, entry: Entry, result: SweepResult, *key: str, shared: bool = False) -> None:
        """Record `entry` once for this owner and `key` (default: its subject and reason);
        `shared`: once for every owner (a broken document, reported once per version)."""
        parts = key or (entry.subject, str(entry.verdict), entry.reason)
        written = self.ledger.record(
            entry, entry_key(*parts) if shared else entry_key(self.owner, *parts)
        )
        if written or not shared:
            logger.info(entry.reason, extra={"decision": entry.to_json()})
            result.count(entry)

    def error(
        self,
        result: SweepResult,
        *,
        subject: str,
        service: str,
        region: str,
        now: datetime,
        reason: str,
        shared_key: str = "",
    ) -> None:
        entry = Entry(
            subject=subject,
            service=service,
            region=region,
            at=now,
            verdict=Verdict.ERROR,
            outcome=Outcome.NONE,
            mode=self.mode,
            reason=reason,
        )
        if shared_key:
            self.entry(entry, result, shared_key, shared=True)
        else:
            self.entry(entry, result)

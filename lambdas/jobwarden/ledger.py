"""The audit trail: one DynamoDB item per decision that acts or fails.

Item layout (also built by the stack, see infra/):
  pk         "<service>#<region>#<job id>", or "policy#<name>" / "sweep#<service>#<region>";
             "retry#<service>#<region>" holds the stopped jobs waiting for a retry
  sk         "<ISO time>#<verdict>" for an entry; "claim#<action>" for a claim; the job id
             for a pending retry
  day, at    the `by-day` index (YYYY-MM-DD, ISO time): lists entries by time
  expires_at TTL, epoch seconds
A claim is written with `attribute_not_exists(pk)` before an action, so one job is stopped,
notified or retried at most once, however many sweeps or events race for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from jobwarden.model import Decision, Mode, Outcome, PendingRetry, Retry, Verdict

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
BY_DAY_INDEX = "by-day"
BY_DAY_PARTITION = "day"
BY_DAY_SORT = "at"


@dataclass(frozen=True)
class Entry:
    """One line of the audit trail, also the body of an alert."""

    subject: str
    service: str
    region: str
    at: datetime
    verdict: Verdict
    outcome: Outcome
    mode: Mode
    reason: str
    job_id: str = ""
    job_name: str = ""
    policy: str = ""
    run_minutes: float | None = None
    queue_minutes: float | None = None
    cost_usd: float | None = None
    attempt: int | None = None

    @classmethod
    def from_decision(cls, decision: Decision, outcome: Outcome, note: str = "") -> Entry:
        job = decision.job
        reason = f"{decision.reason}; {note}" if note else decision.reason
        return cls(
            subject=job.key,
            service=job.service,
            region=job.region,
            at=decision.at,
            verdict=decision.verdict,
            outcome=outcome,
            mode=decision.mode,
            reason=reason,
            job_id=job.job_id,
            job_name=job.name,
            policy=decision.policy or "",
            run_minutes=round(decision.run_minutes, 1),
            queue_minutes=round(decision.queue_minutes, 1),
            cost_usd=None if decision.cost_usd is None else round(decision.cost_usd, 2),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return {key: value for key, value in data.items() if value not in (None, "")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        names = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in names}
        values["at"] = datetime.fromisoformat(values["at"])
        values["verdict"] = Verdict(values["verdict"])
        values["outcome"] = Outcome(values["outcome"])
        values["mode"] = Mode(values["mode"])
        for number in ("run_minutes", "queue_minutes", "cost_usd"):
            if number in values:
                values[number] = float(values[number])
        if "attempt" in values:
            values["attempt"] = int(values["attempt"])
        return cls(**values)


class Ledger(Protocol):
    def claim(self, subject: str, action: str, at: datetime) -> bool:
        """Take the right to perform `action` on `subject` once; False if already taken."""

    def release(self, subject: str, action: str) -> None:
        """Give a claim back after the action failed, so a later sweep may try again."""

    def count_claims(self, subject: str, prefix: str) -> int:
        """How many claims on `subject` start with `prefix` (retry attempts)."""

    def record(self, entry: Entry) -> None: ...

    def entries(self, since: datetime, service: str | None = None) -> list[Entry]: ...

    def add_pending_retry(self, pending: PendingRetry) -> None: ...

    def pending_retries(self, service: str, region: str) -> list[PendingRetry]: ...

    def remove_pending_retry(self, pending: PendingRetry) -> None: ...


def _retry_partition(service: str, region: str) -> str:
    return f"retry#{service}#{region}"


def pending_to_item(pending: PendingRetry) -> dict[str, Any]:
    return {
        PARTITION_KEY: _retry_partition(pending.service, pending.region),
        SORT_KEY: pending.job_id,
        "service": pending.service,
        "region": pending.region,
        "job_name": pending.name,
        "retry_subject": pending.retry_subject,
        "retry_type": pending.retry.type,
        "max_attempts": pending.retry.max_attempts,
        "policy": pending.policy,
        "stopped_at": pending.stopped_at.isoformat(),
        "details": json.dumps(dict(pending.details), sort_keys=True),
    }


def pending_from_item(item: dict[str, Any]) -> PendingRetry:
    return PendingRetry(
        service=item["service"],
        region=item["region"],
        job_id=item[SORT_KEY],
        name=item["job_name"],
        retry_subject=item["retry_subject"],
        retry=Retry(item["retry_type"], int(item["max_attempts"])),
        policy=item["policy"],
        stopped_at=datetime.fromisoformat(item["stopped_at"]),
        details=json.loads(item["details"]),
    )


class DynamoLedger:
    def __init__(self, table: Any, retention_days: int = 90) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)

    def _expiry(self, at: datetime) -> int:
        return int((at + self._retention).timestamp())

    def claim(self, subject: str, action: str, at: datetime) -> bool:
        client = self._table.meta.client
        try:
            self._table.put_item(
                Item={
                    PARTITION_KEY: subject,
                    SORT_KEY: f"claim#{action}",
                    "at": at.isoformat(),
                    TTL_ATTRIBUTE: self._expiry(at),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, subject: str, action: str) -> None:
        self._table.delete_item(Key={PARTITION_KEY: subject, SORT_KEY: f"claim#{action}"})

    def count_claims(self, subject: str, prefix: str) -> int:
        pages = query_pages(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": subject, ":prefix": f"claim#{prefix}"},
            Select="COUNT",
        )
        return sum(int(page["Count"]) for page in pages)

    def record(self, entry: Entry) -> None:
        item: dict[str, Any] = {
            key: Decimal(str(value)) if isinstance(value, float) else value
            for key, value in entry.to_json().items()
        }
        item[PARTITION_KEY] = entry.subject
        item[SORT_KEY] = f"{entry.at.isoformat()}#{entry.verdict}"
        item[BY_DAY_PARTITION] = entry.at.astimezone(UTC).date().isoformat()
        item[TTL_ATTRIBUTE] = self._expiry(entry.at)
        self._table.put_item(Item=item)

    def entries(self, since: datetime, service: str | None = None) -> list[Entry]:
        found = [
            entry
            for day in _days(since, datetime.now(UTC))
            for entry in self._query_day(day, since)
            if service is None or entry.service == service
        ]
        return sorted(found, key=lambda entry: entry.at)

    def add_pending_retry(self, pending: PendingRetry) -> None:
        item = pending_to_item(pending)
        item[TTL_ATTRIBUTE] = self._expiry(pending.stopped_at)
        self._table.put_item(Item=item)

    def pending_retries(self, service: str, region: str) -> list[PendingRetry]:
        pages = query_pages(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _retry_partition(service, region)},
        )
        return [pending_from_item(item) for page in pages for item in page["Items"]]

    def remove_pending_retry(self, pending: PendingRetry) -> None:
        self._table.delete_item(
            Key={
                PARTITION_KEY: _retry_partition(pending.service, pending.region),
                SORT_KEY: pending.job_id,
            }
        )

    def _query_day(self, day: str, since: datetime) -> Iterator[Entry]:
        pages = query_pages(
            self._table,
            IndexName=BY_DAY_INDEX,
            KeyConditionExpression="#day = :day AND #at >= :since",
            ExpressionAttributeNames={"#day": BY_DAY_PARTITION, "#at": BY_DAY_SORT},
            ExpressionAttributeValues={":day": day, ":since": since.isoformat()},
        )
        for page in pages:
            yield from (Entry.from_json(item) for item in page["Items"])


class MemoryLedger:
    """The same contract in memory, for unit tests of the sweep."""

    def __init__(self) -> None:
        self.claims: set[tuple[str, str]] = set()
        self.recorded: list[Entry] = []
        self.pending: dict[str, PendingRetry] = {}

    def claim(self, subject: str, action: str, at: datetime) -> bool:
        if (subject, action) in self.claims:
            return False
        self.claims.add((subject, action))
        return True

    def release(self, subject: str, action: str) -> None:
        self.claims.discard((subject, action))

    def count_claims(self, subject: str, prefix: str) -> int:
        return sum(1 for s, a in self.claims if s == subject and a.startswith(prefix))

    def record(self, entry: Entry) -> None:
        self.recorded.append(entry)

    def entries(self, since: datetime, service: str | None = None) -> list[Entry]:
        return [
            e for e in self.recorded if e.at >= since and (service is None or e.service == service)
        ]

    def add_pending_retry(self, pending: PendingRetry) -> None:
        self.pending[pending.key] = pending

    def pending_retries(self, service: str, region: str) -> list[PendingRetry]:
        return [p for p in self.pending.values() if (p.service, p.region) == (service, region)]

    def remove_pending_retry(self, pending: PendingRetry) -> None:
        self.pending.pop(pending.key, None)


def query_pages(table: Any, **query: Any) -> Iterator[dict[str, Any]]:
    """Every page of a DynamoDB query (boto3's Table has no paginator)."""
    while True:
        page: dict[str, Any] = table.query(**query)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _days(since: datetime, until: datetime) -> list[str]:
    first = since.astimezone(UTC).date()
    last = until.astimezone(UTC).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]

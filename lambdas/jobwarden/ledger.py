"""The audit trail: one DynamoDB item per decision, written before the action, settled after.

Item layout (also built by the stack, see infra/):
  pk           "<service>#<region>#<job id>" for a job; "policy#<name>",
               "sweep#<service>#<region>" for errors; "retry#<service>#<region>" holds the
               stopped jobs waiting for a retry; "budget#<service>" the stop budget's slots
  sk           "decision#<action>" for a decision (the action names the attempt judged);
               "entry#<key>" for an entry written once per key (errors, failures, retries);
               "claim#<action>" for a claim; the job id for a pending retry
  state        "open" from the write-ahead until settled; "settled"
  owner, lease_until  who holds an open decision, and until when (epoch seconds)
  day, at      the `by-day` index (YYYY-MM-DD, ISO time): lists entries by time
  open         "<service>#<region>" while a decision is open: the sparse `open` index, what
               recovery reads (stale leases, stops that take effect later)
  outbox       "<service>" while the entry's alert is undelivered: the sparse `outbox` index
  expires_at   TTL, epoch seconds
Every write is idempotent for its owner, so botocore's retry of a write that was applied but
answered with an error finds its own item and goes on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from jobwarden.model import Decision, Job, Mode, Outcome, PendingRetry, Retry, Verdict

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
BY_DAY_INDEX = "by-day"
BY_DAY_PARTITION = "day"
BY_DAY_SORT = "at"
OPEN_INDEX = "open"
OPEN_PARTITION = "open"
OUTBOX_INDEX = "outbox"
OUTBOX_PARTITION = "outbox"
OPEN, SETTLED = "open", "settled"
# A pending retry waits hours, not the ledger's retention: a job stopped yesterday is not
# started again today.
PENDING_RETRY_TTL = timedelta(hours=6)


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
    # Routing and rendering of the alert (see render.py): who owns the job, which topics
    # besides the platform's, the job's ARN, and for a warning the limit and the time left.
    owners: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    arn: str = ""
    limit: str = ""
    left_minutes: float | None = None
    # The other run of a superseded run (the newer one) or of a resubmission (the copy's
    # original), so the ledger links the two.
    linked: str = ""
    # For a stop (or a would-stop, or a held one): what stopping saves, and how it was
    # estimated (`savings`).
    cost_avoided_usd: float | None = None
    avoided_minutes: float | None = None
    avoided_method: str = ""
    team: str = ""  # the job's `team` tag, for `jobwarden report --by team`

    @classmethod
    def from_decision(
        cls, decision: Decision, outcome: Outcome = Outcome.PENDING, note: str = ""
    ) -> Entry:
        job = decision.job
        reason = f"{decision.reason}; {note}" if note else decision.reason
        warned = decision.warnings[0] if len(decision.warnings) == 1 else None
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
            owners=decision.owners,
            topics=decision.topics,
            arn=job.arn or "",
            limit=warned.key if warned else "",
            left_minutes=(
                None
                if warned is None or warned.left_minutes is None
                else round(warned.left_minutes, 1)
            ),
            linked=decision.superseded_by.job_id if decision.superseded_by else "",
            team=team_of(job),
            **_avoided_fields(decision),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in data.items()
            if value not in (None, "", ())
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        names = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in names}
        values["at"] = datetime.fromisoformat(values["at"])
        values["verdict"] = Verdict(values["verdict"])
        values["outcome"] = Outcome(values["outcome"])
        values["mode"] = Mode(values["mode"])
        for number in (
            "run_minutes",
            "queue_minutes",
            "cost_usd",
            "left_minutes",
            "cost_avoided_usd",
        ):
            if number in values:
                values[number] = float(values[number])
        for listed in ("owners", "topics"):
            if listed in values:
                values[listed] = tuple(str(value) for value in values[listed])
        if "attempt" in values:
            values["attempt"] = int(values["attempt"])
        if "avoided_minutes" in values:
            values["avoided_minutes"] = float(values["avoided_minutes"])
        return cls(**values)


TEAM_TAG = "team"
STOP_VERDICTS = frozenset({Verdict.STOP, Verdict.HELD})


def team_of(job: Job) -> str:
    """The job's `team` tag (any case of the key), the one grouping a report offers by tag."""
    return next((v for k, v in job.tags.items() if k.lower() == TEAM_TAG), "")


def _avoided_fields(decision: Decision) -> dict[str, Any]:
    """What a stop decision saves, rounded as the ledger keeps it; nothing for the others."""
    avoided = decision.avoided
    if decision.verdict not in STOP_VERDICTS or avoided is None:
        return {}
    return {
        "cost_avoided_usd": None if avoided.usd is None else round(avoided.usd, 2),
        "avoided_minutes": round(avoided.minutes, 1),
        "avoided_method": avoided.method,
    }


class Opened(StrEnum):
    """How a write-ahead went."""

    OURS = "ours"  # the record is ours now (new, or ours already: a retried write or invocation)
    BUSY = "busy"  # another owner holds it under a live lease
    STALE = "stale"  # another owner's lease ran out: recover it (see `take_over`)
    SETTLED = "settled"  # decided and done before: nothing to do


@dataclass(frozen=True)
class Record:
    """An open (or settled) decision as stored: its entry, and what recovery needs."""

    entry: Entry
    action: str
    owner: str
    lease_until: datetime
    state: str
    details: dict[str, Any] = field(default_factory=dict)
    retry: Retry | None = None
    retry_subject: str = ""  # what retry attempts count against (see Job.retry_subject)

    @property
    def job(self) -> Job:
        """The job as far as the record knows it: enough to read it back from the service."""
        entry = self.entry
        return Job(
            service=entry.service,
            job_id=entry.job_id,
            name=entry.job_name,
            region=entry.region,
            status="",
            submitted_at=entry.at,
            details=self.details,
        )


@dataclass(frozen=True)
class Undelivered:
    """An entry whose alert has not left yet, and where it is stored."""

    pk: str
    sk: str
    entry: Entry


class Ledger(Protocol):
    def open(self, record: Record, now: datetime) -> Opened:
        """Write a decision ahead of its action, as open, owned and leased."""

    def get(self, subject: str, action: str) -> Record | None: ...

    def take_over(self, record: Record, owner: str, lease_until: datetime, now: datetime) -> bool:
        """Own an open record whose lease has run out; False if someone else did first."""

    def settle(self, record: Record, outcome: Outcome, reason: str, *, alert: bool = True) -> bool:
        """Settle an open record we own; False when our lease was lost to another owner.
        A STOP_REQUESTED outcome keeps the record open until the job is seen ended."""

    def drop(self, record: Record) -> None:
        """Delete an open record we own whose action failed, so a later sweep tries again."""

    def open_records(self, service: str, region: str) -> list[Record]: ...

    def record(self, entry: Entry, key: str) -> bool:
        """Write an entry once per `key` (retries of the same write or invocation are no-ops),
        with its alert in the outbox. False if it was written before."""

    def undelivered(self, service: str) -> list[Undelivered]: ...

    def delivered(self, item: Undelivered) -> None: ...

    def claim(self, subject: str, action: str, at: datetime, owner: str = "") -> bool:
        """Take the right to perform `action` on `subject` once; True again for its owner."""

    def release(self, subject: str, action: str) -> None: ...

    def count_claims(self, subject: str, prefix: str) -> int: ...

    def entries(self, since: datetime, service: str | None = None) -> list[Entry]: ...

    def add_pending_retry(self, pending: PendingRetry) -> None: ...

    def pending_retries(self, service: str, region: str) -> list[PendingRetry]: ...

    def remove_pending_retry(self, pending: PendingRetry) -> None: ...


def entry_key(*parts: str) -> str:
    """A short stable key for an entry written once: the same parts give the same key."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


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


def _dynamo_values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in data.items()}


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _record_item(record: Record, retention: timedelta) -> dict[str, Any]:
    entry = record.entry
    item = _dynamo_values(entry.to_json())
    item.update(
        {
            PARTITION_KEY: entry.subject,
            SORT_KEY: f"decision#{record.action}",
            "state": record.state,
            "owner": record.owner,
            "lease_until": _epoch(record.lease_until),
            "details": json.dumps(record.details, sort_keys=True),
            BY_DAY_PARTITION: entry.at.astimezone(UTC).date().isoformat(),
            TTL_ATTRIBUTE: _epoch(entry.at + retention),
        }
    )
    if record.state == OPEN:
        item[OPEN_PARTITION] = f"{entry.service}#{entry.region}"
    if record.retry is not None:
        item["retry_type"] = record.retry.type
        item["retry_max"] = record.retry.max_attempts
        item["retry_subject"] = record.retry_subject
    return item


def _record_from_item(item: dict[str, Any]) -> Record:
    retry = None
    if "retry_type" in item:
        retry = Retry(str(item["retry_type"]), int(item["retry_max"]))
    return Record(
        entry=Entry.from_json(item),
        action=str(item[SORT_KEY]).removeprefix("decision#"),
        owner=str(item["owner"]),
        lease_until=datetime.fromtimestamp(int(item["lease_until"]), UTC),
        state=str(item["state"]),
        details=json.loads(item.get("details") or "{}"),
        retry=retry,
        retry_subject=str(item.get("retry_subject", "")),
    )


class DynamoLedger:
    def __init__(self, table: Any, retention_days: int = 90) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)
        self._conditional_failed = table.meta.client.exceptions.ConditionalCheckFailedException

    def _expiry(self, at: datetime) -> int:
        return _epoch(at + self._retention)

    def open(self, record: Record, now: datetime) -> Opened:
        try:
            self._table.put_item(
                Item=_record_item(replace(record, state=OPEN), self._retention),
                ConditionExpression="attribute_not_exists(pk) OR (#owner = :me AND #state = :open)",
                ExpressionAttributeNames={"#owner": "owner", "#state": "state"},
                ExpressionAttributeValues={":me": record.owner, ":open": OPEN},
            )
        except self._conditional_failed:
            held = self.get(record.entry.subject, record.action)
            if held is None:  # dropped between the write and the read: try once more
                return self.open(record, now)
            if held.state != OPEN:
                return Opened.SETTLED
            return Opened.STALE if held.lease_until <= now else Opened.BUSY
        return Opened.OURS

    def get(self, subject: str, action: str) -> Record | None:
        item = self._table.get_item(
            Key={PARTITION_KEY: subject, SORT_KEY: f"decision#{action}"}, ConsistentRead=True
        ).get("Item")
        return _record_from_item(item) if item else None

    def take_over(self, record: Record, owner: str, lease_until: datetime, now: datetime) -> bool:
        try:
            self._table.update_item(
                Key={PARTITION_KEY: record.entry.subject, SORT_KEY: f"decision#{record.action}"},
                UpdateExpression="SET #owner = :me, lease_until = :until",
                ConditionExpression="#state = :open AND (lease_until <= :now OR #owner = :me)",
                ExpressionAttributeNames={"#owner": "owner", "#state": "state"},
                ExpressionAttributeValues={
                    ":me": owner,
                    ":until": _epoch(lease_until),
                    ":now": _epoch(now),
                    ":open": OPEN,
                },
            )
        except self._conditional_failed:
            return False
        return True

    def settle(self, record: Record, outcome: Outcome, reason: str, *, alert: bool = True) -> bool:
        stays_open = outcome is Outcome.STOP_REQUESTED
        sets = ["outcome = :outcome", "reason = :reason", "#state = :state"]
        values: dict[str, Any] = {
            ":outcome": str(outcome),
            ":reason": reason,
            ":state": OPEN if stays_open else SETTLED,
            ":me": record.owner,
            ":open": OPEN,
        }
        if alert:
            sets.append("#outbox = :service")
            values[":service"] = record.entry.service
        if stays_open:  # any later sweep may read it back at once
            sets.append("lease_until = :now")
            values[":now"] = 0
        update = "SET " + ", ".join(sets) + ("" if stays_open else " REMOVE #open")
        names = {"#owner": "owner", "#state": "state"}
        if alert:
            names["#outbox"] = OUTBOX_PARTITION
        if not stays_open:
            names["#open"] = OPEN_PARTITION
        try:
            self._table.update_item(
                Key={PARTITION_KEY: record.entry.subject, SORT_KEY: f"decision#{record.action}"},
                UpdateExpression=update,
                ConditionExpression="#owner = :me AND #state = :open",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._conditional_failed:
            # Our own retried write settled it already, or another owner took it over.
            held = self.get(record.entry.subject, record.action)
            return held is not None and held.owner == record.owner and held.state != OPEN
        return True

    def drop(self, record: Record) -> None:
        try:
            self._table.delete_item(
                Key={PARTITION_KEY: record.entry.subject, SORT_KEY: f"decision#{record.action}"},
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": record.owner},
            )
        except self._conditional_failed:
            return  # gone already (our retried delete), or another owner's now

    def open_records(self, service: str, region: str) -> list[Record]:
        pages = query_pages(
            self._table,
            IndexName=OPEN_INDEX,
            KeyConditionExpression="#open = :partition",
            ExpressionAttributeNames={"#open": OPEN_PARTITION},
            ExpressionAttributeValues={":partition": f"{service}#{region}"},
        )
        return [_record_from_item(item) for page in pages for item in page["Items"]]

    def record(self, entry: Entry, key: str) -> bool:
        item = _dynamo_values(entry.to_json())
        item.update(
            {
                PARTITION_KEY: entry.subject,
                SORT_KEY: f"entry#{key}",
                BY_DAY_PARTITION: entry.at.astimezone(UTC).date().isoformat(),
                OUTBOX_PARTITION: entry.service,
                TTL_ATTRIBUTE: self._expiry(entry.at),
            }
        )
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except self._conditional_failed:
            return False
        return True

    def undelivered(self, service: str) -> list[Undelivered]:
        pages = query_pages(
            self._table,
            IndexName=OUTBOX_INDEX,
            KeyConditionExpression="#outbox = :service",
            ExpressionAttributeNames={"#outbox": OUTBOX_PARTITION},
            ExpressionAttributeValues={":service": service},
        )
        return [
            Undelivered(item[PARTITION_KEY], item[SORT_KEY], Entry.from_json(item))
            for page in pages
            for item in page["Items"]
        ]

    def delivered(self, item: Undelivered) -> None:
        self._table.update_item(
            Key={PARTITION_KEY: item.pk, SORT_KEY: item.sk},
            UpdateExpression="REMOVE #outbox",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#outbox": OUTBOX_PARTITION},
        )

    def claim(self, subject: str, action: str, at: datetime, owner: str = "") -> bool:
        try:
            self._table.put_item(
                Item={
                    PARTITION_KEY: subject,
                    SORT_KEY: f"claim#{action}",
                    "at": at.isoformat(),
                    "owner": owner,
                    TTL_ATTRIBUTE: self._expiry(at),
                },
                ConditionExpression="attribute_not_exists(pk) OR (#owner = :me AND :me <> :none)",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": owner, ":none": ""},
            )
        except self._conditional_failed:
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
        item[TTL_ATTRIBUTE] = _epoch(pending.stopped_at + PENDING_RETRY_TTL)
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
    """The same contract in memory, for unit tests of the flow."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Record] = {}
        self.written: dict[tuple[str, str], Entry] = {}
        self.outbox: dict[tuple[str, str], Entry] = {}
        self.claims: dict[tuple[str, str], str] = {}
        self.pending: dict[str, PendingRetry] = {}

    @property
    def recorded(self) -> list[Entry]:
        """Every settled decision and written entry, in time order."""
        settled = [r.entry for r in self.records.values() if r.entry.outcome is not Outcome.PENDING]
        return sorted([*settled, *self.written.values()], key=lambda e: e.at)

    def open(self, record: Record, now: datetime) -> Opened:
        key = (record.entry.subject, record.action)
        held = self.records.get(key)
        if held is None or (held.owner == record.owner and held.state == OPEN):
            self.records[key] = replace(record, state=OPEN)
            return Opened.OURS
        if held.state != OPEN:
            return Opened.SETTLED
        return Opened.STALE if held.lease_until <= now else Opened.BUSY

    def get(self, subject: str, action: str) -> Record | None:
        return self.records.get((subject, action))

    def take_over(self, record: Record, owner: str, lease_until: datetime, now: datetime) -> bool:
        key = (record.entry.subject, record.action)
        held = self.records.get(key)
        if held is None or held.state != OPEN:
            return False
        if held.lease_until > now and held.owner != owner:
            return False
        self.records[key] = replace(held, owner=owner, lease_until=lease_until)
        return True

    def settle(self, record: Record, outcome: Outcome, reason: str, *, alert: bool = True) -> bool:
        key = (record.entry.subject, record.action)
        held = self.records.get(key)
        if held is None or held.owner != record.owner or held.state != OPEN:
            return held is not None and held.owner == record.owner
        stays_open = outcome is Outcome.STOP_REQUESTED
        entry = replace(held.entry, outcome=outcome, reason=reason)
        self.records[key] = replace(
            held,
            entry=entry,
            state=OPEN if stays_open else SETTLED,
            lease_until=datetime.fromtimestamp(0, UTC) if stays_open else held.lease_until,
        )
        where = (entry.subject, f"decision#{record.action}")
        if alert or where in self.outbox:
            self.outbox[where] = entry
        return True

    def drop(self, record: Record) -> None:
        key = (record.entry.subject, record.action)
        held = self.records.get(key)
        if held is not None and held.owner == record.owner:
            del self.records[key]

    def open_records(self, service: str, region: str) -> list[Record]:
        return [
            r
            for r in self.records.values()
            if r.state == OPEN and (r.entry.service, r.entry.region) == (service, region)
        ]

    def record(self, entry: Entry, key: str) -> bool:
        where = (entry.subject, f"entry#{key}")
        if where in self.written:
            return False
        self.written[where] = entry
        self.outbox[where] = entry
        return True

    def undelivered(self, service: str) -> list[Undelivered]:
        return [
            Undelivered(pk, sk, entry)
            for (pk, sk), entry in sorted(self.outbox.items(), key=lambda kv: kv[1].at)
            if entry.service == service
        ]

    def delivered(self, item: Undelivered) -> None:
        self.outbox.pop((item.pk, item.sk), None)

    def claim(self, subject: str, action: str, at: datetime, owner: str = "") -> bool:
        held = self.claims.get((subject, action))
        if held is not None and not (owner and held == owner):
            return False
        self.claims[(subject, action)] = owner
        return True

    def release(self, subject: str, action: str) -> None:
        self.claims.pop((subject, action), None)

    def count_claims(self, subject: str, prefix: str) -> int:
        return sum(1 for s, a in self.claims if s == subject and a.startswith(prefix))

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

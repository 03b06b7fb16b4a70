"""The active-jobs index: which jobs are running now, kept from the services' own events.

It lives in the ledger table (one partition per service and region: "active#<service>#
<region>", sort key the job id), so it shares the table's encryption, TTL and permissions;
a second table would add a resource to secure for a few hundred small items.

Events are best effort: they may come twice or out of order. Each item remembers the time
of the newest event applied and whether the job has ended; an active event older than what
is known, or arriving after the end, changes nothing, so a late RUNNING after SUCCEEDED
never resurrects a finished job. An ended job's item stays (as a tombstone) until its TTL.

Sweeps read the active jobs from a sparse global secondary index (`ACTIVE_INDEX`): an item
carries the index's key (`ACTIVE_PARTITION`, its partition's name) only while the job is
active, and the event that ends it removes the key. So a sweep reads what is running, never
the tombstones of the last two days, while the tombstones stay where the conditional
writes see them. The index costs one extra write unit when a job enters and one when it
leaves (bench/cost.py weighs both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from jobwarden.ledger import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, query_pages

TOMBSTONE_DAYS = 2
# The sparse index of active jobs: partition `active#<service>#<region>`, sort key the job id.
ACTIVE_INDEX = "active"
ACTIVE_PARTITION = "active_pk"


class Change(StrEnum):
    ENTERED = "entered"  # first time seen active
    UPDATED = "updated"  # still active, newer state
    LEFT = "left"  # ended
    IGNORED = "ignored"  # stale, duplicate or after the end


@dataclass(frozen=True)
class JobEvent:
    """One state change, as an adapter reads it from the service's EventBridge event."""

    service: str
    region: str
    job_id: str
    name: str
    state: str
    active: bool
    at: datetime
    submitted_at: datetime | None = None  # when the event says the job entered the service
    running_since: datetime | None = None  # set when the job is past its queue
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexedJob:
    service: str
    region: str
    job_id: str
    name: str
    state: str
    first_seen: datetime
    last_event_at: datetime
    deadline_schedule: str = ""


RECONCILE_KEY = "reconciled"


class Index(Protocol):
    def observe(self, event: JobEvent) -> tuple[Change, IndexedJob | None]:
        """Apply one event; returns the change and the item as it was before (if any)."""

    def active(self, service: str, region: str) -> list[IndexedJob]: ...

    def set_deadline(self, service: str, region: str, job_id: str, schedule: str) -> bool:
        """Remember the job's deadline schedule; False if the job has ended meanwhile."""

    def add(self, job: IndexedJob) -> bool:
        """Index a job found by a listing but missed by the events; False if known."""

    def last_reconciled(self, service: str, region: str) -> datetime | None: ...

    def mark_reconciled(self, service: str, region: str, at: datetime) -> None: ...


def partition(service: str, region: str) -> str:
    return f"active#{service}#{region}"


def _from_item(item: Mapping[str, Any]) -> IndexedJob:
    return IndexedJob(
        service=item["service"],
        region=item["region"],
        job_id=item[SORT_KEY],
        name=item["job_name"],
        state=item["state"],
        first_seen=datetime.fromisoformat(item["first_seen"]),
        last_event_at=datetime.fromisoformat(item["last_event_at"]),
        deadline_schedule=item.get("deadline_schedule", ""),
    )


class DynamoIndex:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._errors = table.meta.client.exceptions

    def observe(self, event: JobEvent) -> tuple[Change, IndexedJob | None]:
        key = {PARTITION_KEY: partition(event.service, event.region), SORT_KEY: event.job_id}
        values: dict[str, Any] = {
            ":service": event.service,
            ":region": event.region,
            ":name": event.name,
            ":state": event.state,
            ":at": event.at.isoformat(),
            ":first": (event.submitted_at or event.at).isoformat(),
        }
        setters = (
            "service = :service, #region = :region, job_name = :name, #state = :state, "
            "last_event_at = :at, first_seen = if_not_exists(first_seen, :first)"
        )
        if event.active:
            values[":pk"] = key[PARTITION_KEY]
            update = f"SET {setters}, {ACTIVE_PARTITION} = :pk"
            condition = (
                "attribute_not_exists(ended_at) AND "
                "(attribute_not_exists(last_event_at) OR last_event_at <= :at)"
            )
        else:
            update = f"SET {setters}, ended_at = :at, #ttl = :ttl REMOVE {ACTIVE_PARTITION}"
            values[":ttl"] = int((event.at + timedelta(days=TOMBSTONE_DAYS)).timestamp())
            condition = "attribute_not_exists(ended_at)"
        names = {"#region": "region", "#state": "state"}
        if not event.active:
            names["#ttl"] = TTL_ATTRIBUTE
        try:
            old = self._table.update_item(
                Key=key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        except self._errors.ConditionalCheckFailedException:
            return Change.IGNORED, None
        before = _from_item(old) if old else None
        if not event.active:
            return Change.LEFT, before
        return (Change.UPDATED if before else Change.ENTERED), before

    def active(self, service: str, region: str) -> list[IndexedJob]:
        pages = query_pages(
            self._table,
            IndexName=ACTIVE_INDEX,
            KeyConditionExpression=f"{ACTIVE_PARTITION} = :pk",
            # The index follows the table within a moment; an end it has not caught up with
            # yet is still filtered out (a filter costs no read units).
            FilterExpression="attribute_not_exists(ended_at)",
            ExpressionAttributeValues={":pk": partition(service, region)},
        )
        return [_from_item(item) for page in pages for item in page["Items"]]

    def set_deadline(self, service: str, region: str, job_id: str, schedule: str) -> bool:
        try:
            self._table.update_item(
                Key={PARTITION_KEY: partition(service, region), SORT_KEY: job_id},
                UpdateExpression="SET deadline_schedule = :schedule",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(ended_at)",
                ExpressionAttributeValues={":schedule": schedule},
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def add(self, job: IndexedJob) -> bool:
        """Index a job a listing found, unless an event already did (False then).

        An active item without the index key (written before the sparse index existed) gets
        the key and keeps its own fields; that is a repair, not a missed event."""
        values = {
            ":pk": partition(job.service, job.region),
            ":service": job.service,
            ":region": job.region,
            ":name": job.name,
            ":state": job.state,
            ":first": job.first_seen.isoformat(),
            ":at": job.last_event_at.isoformat(),
        }
        try:
            old = self._table.update_item(
                Key={PARTITION_KEY: partition(job.service, job.region), SORT_KEY: job.job_id},
                UpdateExpression=(
                    "SET service = if_not_exists(service, :service), "
                    "#region = if_not_exists(#region, :region), "
                    "job_name = if_not_exists(job_name, :name), "
                    "#state = if_not_exists(#state, :state), "
                    "first_seen = if_not_exists(first_seen, :first), "
                    "last_event_at = if_not_exists(last_event_at, :at), "
                    f"{ACTIVE_PARTITION} = :pk"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR "
                    f"(attribute_not_exists(ended_at) AND attribute_not_exists({ACTIVE_PARTITION}))"
                ),
                ExpressionAttributeNames={"#region": "region", "#state": "state"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        except self._errors.ConditionalCheckFailedException:
            return False
        return not old

    def last_reconciled(self, service: str, region: str) -> datetime | None:
        item = self._table.get_item(
            Key={PARTITION_KEY: f"sweep-state#{service}#{region}", SORT_KEY: RECONCILE_KEY}
        ).get("Item")
        return datetime.fromisoformat(item["at"]) if item else None

    def mark_reconciled(self, service: str, region: str, at: datetime) -> None:
        self._table.put_item(
            Item={
                PARTITION_KEY: f"sweep-state#{service}#{region}",
                SORT_KEY: RECONCILE_KEY,
                "at": at.isoformat(),
            }
        )


class MemoryIndex:
    """The same contract in memory, for unit tests and the benchmark."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.reconciled: dict[tuple[str, str], datetime] = {}

    def observe(self, event: JobEvent) -> tuple[Change, IndexedJob | None]:
        key = (event.service, event.region, event.job_id)
        old = self.items.get(key)
        if old and (old.get("ended") or (event.active and old["last_event_at"] > event.at)):
            return Change.IGNORED, None
        before = self._job({**old, "key": key}) if old else None
        self.items[key] = {
            "name": event.name,
            "state": event.state,
            "last_event_at": event.at,
            "first_seen": old["first_seen"] if old else (event.submitted_at or event.at),
            "deadline_schedule": old.get("deadline_schedule", "") if old else "",
            "ended": not event.active,
        }
        if not event.active:
            return Change.LEFT, before
        return (Change.UPDATED if before else Change.ENTERED), before

    def active(self, service: str, region: str) -> list[IndexedJob]:
        return [
            self._job({**item, "key": key})
            for key, item in self.items.items()
            if key[:2] == (service, region) and not item["ended"]
        ]

    def set_deadline(self, service: str, region: str, job_id: str, schedule: str) -> bool:
        item = self.items.get((service, region, job_id))
        if item is None or item["ended"]:
            return False
        item["deadline_schedule"] = schedule
        return True

    def add(self, job: IndexedJob) -> bool:
        key = (job.service, job.region, job.job_id)
        if key in self.items:
            return False
        self.items[key] = {
            "name": job.name,
            "state": job.state,
            "last_event_at": job.last_event_at,
            "first_seen": job.first_seen,
            "deadline_schedule": "",
            "ended": False,
        }
        return True

    def last_reconciled(self, service: str, region: str) -> datetime | None:
        return self.reconciled.get((service, region))

    def mark_reconciled(self, service: str, region: str, at: datetime) -> None:
        self.reconciled[(service, region)] = at

    def _job(self, item: dict[str, Any]) -> IndexedJob:
        service, region, job_id = item.get("key", ("", "", ""))
        return IndexedJob(
            service=service,
            region=region,
            job_id=job_id,
            name=item["name"],
            state=item["state"],
            first_seen=item["first_seen"],
            last_event_at=item["last_event_at"],
            deadline_schedule=item["deadline_schedule"],
        )

"""The blast radius: at most N stops per service in any rolling window, across every sweep and
deadline check.

The budget is N slot items in the ledger table (`budget#<service>`, `slot#0` … `slot#N-1`).
A stop takes a free slot with a conditional write (free: never used, or its `until` has
passed) and keeps it for the window; so at most N stops start in any window, however many
sweeps and checks race. A slot is taken per job, so a retried write or a retried invocation
for the same job finds its own slot instead of spending another. A stop that fails gives its
slot back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from jobwarden.ledger import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, query_pages


class StopBudget(Protocol):
    def take(self, service: str, subject: str, now: datetime) -> bool:
        """Spend one stop of the window on `subject`; False when the window's stops are spent."""

    def give_back(self, service: str, subject: str) -> None:
        """Return the slot `subject` took (its stop failed)."""


def _partition(service: str) -> str:
    return f"budget#{service}"


class DynamoBudget:
    def __init__(self, table: Any, max_stops: int, window: timedelta) -> None:
        self._table = table
        self._max_stops = max_stops
        self._window = window
        self._conditional_failed = table.meta.client.exceptions.ConditionalCheckFailedException

    def _slots(self, service: str) -> dict[str, dict[str, Any]]:
        pages = query_pages(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _partition(service)},
            ConsistentRead=True,
        )
        return {item[SORT_KEY]: item for page in pages for item in page["Items"]}

    def take(self, service: str, subject: str, now: datetime) -> bool:
        held = self._slots(service)
        epoch = int(now.timestamp())
        for item in held.values():
            if item.get("subject") == subject and int(item["until"]) > epoch:
                return True  # this job's stop has its slot already
        free = [
            f"slot#{n}"
            for n in range(self._max_stops)
            if f"slot#{n}" not in held or int(held[f"slot#{n}"]["until"]) <= epoch
        ]
        until = int((now + self._window).timestamp())
        for slot in free:
            try:
                self._table.put_item(
                    Item={
                        PARTITION_KEY: _partition(service),
                        SORT_KEY: slot,
                        "subject": subject,
                        "until": until,
                        TTL_ATTRIBUTE: until,
                    },
                    ConditionExpression="attribute_not_exists(pk) OR #until <= :now "
                    "OR subject = :subject",
                    ExpressionAttributeNames={"#until": "until"},
                    ExpressionAttributeValues={":now": epoch, ":subject": subject},
                )
            except self._conditional_failed:
                continue  # taken by a racing sweep since the read: try the next
            return True
        return False

    def give_back(self, service: str, subject: str) -> None:
        for slot, item in self._slots(service).items():
            if item.get("subject") == subject:
                try:
                    self._table.delete_item(
                        Key={PARTITION_KEY: _partition(service), SORT_KEY: slot},
                        ConditionExpression="subject = :subject",
                        ExpressionAttributeValues={":subject": subject},
                    )
                except self._conditional_failed:
                    continue


class MemoryBudget:
    """The same contract in memory, for unit tests."""

    def __init__(self, max_stops: int, window: timedelta) -> None:
        self.max_stops = max_stops
        self.window = window
        self.slots: dict[str, list[tuple[str, datetime]]] = {}

    def take(self, service: str, subject: str, now: datetime) -> bool:
        live = [(s, until) for s, until in self.slots.get(service, []) if until > now]
        if any(s == subject for s, _ in live):
            return True
        if len(live) >= self.max_stops:
            return False
        self.slots[service] = [*live, (subject, now + self.window)]
        return True

    def give_back(self, service: str, subject: str) -> None:
        self.slots[service] = [(s, u) for s, u in self.slots.get(service, []) if s != subject]

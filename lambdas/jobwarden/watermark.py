"""Where the last listing of a service stopped, so the next one reads only what changed.

A listing that grows with the account's history (CodeBuild's ListBuilds: every build ever
run, newest first) is read in full only when it must. Every listing leaves a mark: the ids on
its newest page (`seen`) and the ids that were active then (`active`). The next sweep pages
newest first until a page holds one of the `seen` ids, reads the ids it had not seen, reads
again the ones that were active, and so knows every active job: a job is either new since the
mark, or was already there, and then it was active (and re-read) or had ended (and stays
ended). Whole pages are compared, not a single newest id, because ListBuilds orders by build
id, not strictly by start time: a build that became visible late sits among the seen ids, on
the same page, and is still read.

A full listing (the reconcile) runs when there is no mark, when it is stale (older than
`STALE_AFTER`: too much may have happened, or a boundary may have been deleted), when the last
full listing is older than `FULL_EVERY` (a bound on any disorder no page shows), or when the
boundary is not found within `MAX_PAGES`.

The mark lives in the ledger table, one item per service and region
(`watermark#<service>#<region>`), so it shares the table's encryption and permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from jobwarden.ledger import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

STALE_AFTER = timedelta(hours=6)
FULL_EVERY = timedelta(hours=24)
MAX_PAGES = 20  # a boundary further down than this costs about what a full listing does
# Past this many active jobs the mark would outgrow a DynamoDB item (400 KB); none is kept,
# and the next sweep lists in full.
MAX_ACTIVE = 3000
WATERMARK_KEY = "watermark"


@dataclass(frozen=True)
class Mark:
    """What a completed listing leaves behind: its newest page's ids, and what was active."""

    seen: tuple[str, ...]
    active: tuple[str, ...]
    full: bool = True  # left by a full listing (not stored: the watermark's full_at says it)


@dataclass(frozen=True)
class Watermark:
    mark: Mark
    at: datetime  # when the listing that left it ran
    full_at: datetime  # when the last full listing ran

    def usable(self, now: datetime) -> bool:
        """Fresh enough for an incremental listing; otherwise the sweep lists in full."""
        return (
            bool(self.mark.seen) and now - self.at < STALE_AFTER and now - self.full_at < FULL_EVERY
        )


class Watermarks(Protocol):
    def get(self, service: str, region: str) -> Watermark | None: ...

    def put(self, service: str, region: str, watermark: Watermark) -> None: ...


def partition(service: str, region: str) -> str:
    return f"watermark#{service}#{region}"


class DynamoWatermarks:
    """One item per service and region, expiring a day after its full listing went stale."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, service: str, region: str) -> Watermark | None:
        item = self._table.get_item(
            Key={PARTITION_KEY: partition(service, region), SORT_KEY: WATERMARK_KEY}
        ).get("Item")
        if not item:
            return None
        return Watermark(
            Mark(tuple(item.get("seen", [])), tuple(item.get("active", []))),
            datetime.fromisoformat(item["at"]),
            datetime.fromisoformat(item["full_at"]),
        )

    def put(self, service: str, region: str, watermark: Watermark) -> None:
        self._table.put_item(
            Item={
                PARTITION_KEY: partition(service, region),
                SORT_KEY: WATERMARK_KEY,
                # DynamoDB lists, not sets: an empty list is allowed, an empty set is not.
                "seen": list(watermark.mark.seen),
                "active": list(watermark.mark.active),
                "at": watermark.at.isoformat(),
                "full_at": watermark.full_at.isoformat(),
                TTL_ATTRIBUTE: int((watermark.full_at + FULL_EVERY * 2).timestamp()),
            }
        )


class MemoryWatermarks:
    """The same contract in memory, for unit tests and the benchmark."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Watermark] = {}

    def get(self, service: str, region: str) -> Watermark | None:
        return self.items.get((service, region))

    def put(self, service: str, region: str, watermark: Watermark) -> None:
        self.items[(service, region)] = watermark

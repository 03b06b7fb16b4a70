"""Typed reads of an EventBridge event's fields, for the adapters' `from_event`.

An event is input from outside: every field an adapter uses is checked for its type and
presence here, and every time must carry its zone, before anything is written to the index
or the scheduler. A field that fails raises `MalformedEvent`, naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobwarden.bounds import EARLIEST_EVENT_TIME, LATEST_SCHEDULABLE, is_known_region


class MalformedEvent(ValueError):
    """An event that is not the well-formed event its source and detail-type promise."""


@dataclass(frozen=True)
class Envelope:
    """The fields every EventBridge event carries, checked."""

    id: str
    region: str
    time: datetime
    detail: Mapping[str, Any]


def envelope(event: Mapping[str, Any]) -> Envelope:
    region = text(event, "region")
    if not is_known_region(region):
        raise MalformedEvent(f"region: {_show(region)} is not a region botocore knows")
    return Envelope(
        id=text(event, "id"),
        region=region,
        time=iso_time(event, "time"),
        detail=section(event, "detail", required=True),
    )


def text(fields: Mapping[str, Any], key: str) -> str:
    """A required, non-empty string."""
    value = fields.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent(f"{key}: expected a non-empty string, got {_show(value)}")
    return value


def optional_text(fields: Mapping[str, Any], key: str) -> str | None:
    return None if fields.get(key) in (None, "") else text(fields, key)


def section(fields: Mapping[str, Any], key: str, required: bool = False) -> Mapping[str, Any]:
    """A nested object; an absent optional one reads as empty."""
    value = fields.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedEvent(f"{key}: expected an object, got {_show(value)}")
    return value


def iso_time(fields: Mapping[str, Any], key: str) -> datetime:
    """An ISO 8601 time with its zone ("Z" or an offset), as UTC."""
    value = text(fields, key)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedEvent(f"{key}: {_show(value)} is not an ISO 8601 time") from None
    return aware(parsed, key)


def optional_iso_time(fields: Mapping[str, Any], key: str) -> datetime | None:
    return None if fields.get(key) in (None, "") else iso_time(fields, key)


def epoch_millis(fields: Mapping[str, Any], key: str) -> datetime:
    """Milliseconds since the epoch (how Batch writes its times), as UTC."""
    value = fields.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedEvent(f"{key}: expected milliseconds since the epoch, got {_show(value)}")
    if not 0 <= value <= LATEST_SCHEDULABLE.timestamp() * 1000:
        raise MalformedEvent(f"{key}: {value} is not a time a service sends")
    return datetime.fromtimestamp(value / 1000, UTC)


def aware(value: datetime, key: str) -> datetime:
    """`value` in UTC; a time without a zone is ambiguous, and one outside the years a
    service can mean is no time at all."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise MalformedEvent(f"{key}: {value.isoformat()} has no time zone")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise MalformedEvent(f"{key}: {value.isoformat()} is out of range") from None
    if not EARLIEST_EVENT_TIME <= utc <= LATEST_SCHEDULABLE:
        raise MalformedEvent(f"{key}: {value.isoformat()} is not a time a service sends")
    return utc


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

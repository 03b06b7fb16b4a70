"""SNS alerts: one message per stop, notify or error, filterable by its attributes.

They leave from the outbox (`outbox.py`), never straight from a decision."""

from __future__ import annotations

import json
from typing import Any, Protocol

from jobwarden.ledger import Entry
from jobwarden.model import Outcome, Verdict

SUBJECT_LIMIT = 100  # SNS rejects longer subjects

HEADLINES: dict[Outcome, str] = {
    Outcome.STOPPED: "stopped",
    Outcome.WOULD_STOP: "would stop (dry run)",
    Outcome.ALREADY_FINISHED: "finished before the stop",
    Outcome.STOP_REQUESTED: "stop requested",
    Outcome.NOTIFIED: "over a limit",
    Outcome.HELD: "over a limit, stop held",
    Outcome.FAILED: "FAILED",
    Outcome.RETRIED: "retried",
    Outcome.RETRIES_EXHAUSTED: "not retried, cap reached",
    Outcome.NONE: "error",
    Outcome.RESUBMITTED: "resubmitted to its fallback queue",
    Outcome.WOULD_RESUBMIT: "would resubmit (dry run)",
    Outcome.WITHDRAWN: "not stopped: no longer warranted",
}


class AlertSink(Protocol):
    def publish(self, entry: Entry, entry_id: str = "") -> None:
        """Send one alert; `entry_id` names the ledger entry, for subscribers that de-duplicate
        (delivery is at least once)."""


def subject_for(entry: Entry) -> str:
    what = entry.job_name or entry.subject
    headline = HEADLINES.get(entry.outcome, str(entry.outcome))
    if entry.verdict is Verdict.SUPERSEDED:
        headline += " (superseded by a newer run)"
    text = f"jobwarden: {entry.service} {what} {headline}"
    # SNS subjects must be ASCII without line breaks.
    text = text.encode("ascii", "replace").decode().replace("\n", " ")
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


class SnsAlerts:
    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self._sns = sns_client
        self._topic_arn = topic_arn

    def publish(self, entry: Entry, entry_id: str = "") -> None:
        attributes = {
            "service": {"DataType": "String", "StringValue": entry.service},
            "verdict": {"DataType": "String", "StringValue": str(entry.verdict)},
            "mode": {"DataType": "String", "StringValue": str(entry.mode)},
        }
        if entry_id:
            attributes["entry"] = {"DataType": "String", "StringValue": entry_id}
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=subject_for(entry),
            Message=json.dumps(entry.to_json(), sort_keys=True),
            MessageAttributes=attributes,
        )


class MemoryAlerts:
    """Collects alerts in memory, for unit tests of the sweep."""

    def __init__(self) -> None:
        self.sent: list[Entry] = []
        self.failing = False  # an SNS outage

    def publish(self, entry: Entry, entry_id: str = "") -> None:
        if self.failing:
            raise ConnectionError("SNS is unavailable")
        self.sent.append(entry)

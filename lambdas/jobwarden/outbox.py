"""The alert outbox: every entry is written with its alert pending; this sends them.

A sweep drains its service's outbox after it has acted, so alerts the last sweep could not
send (SNS down, the process killed) go out with this one. Delivery is at least once: an alert
sent just before a crash is sent again, carrying the same `entry` (or `digest`) attribute for
subscribers that de-duplicate. When the platform topic fails, the drain stops and leaves the
rest for the next sweep.

Routes: every entry goes to the platform topic, and to each extra topic its policy names.
Stops, failures, errors and enforcing warnings go at once, one message each. What is not
urgent (would-stop, notify, held, dry-run warnings) goes out as one digest per route (topic,
owners and mode) once the oldest of it has waited the settings' `digest_minutes`. An entry is
marked delivered only when every message that carries it has been sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from jobwarden.alerts import AlertSink
from jobwarden.ledger import Ledger, Undelivered, entry_key
from jobwarden.model import DEFAULT_EXEMPT_TAG, Settings
from jobwarden.render import (
    DIGEST_MAX_ENTRIES,
    MAX_MESSAGE_BYTES,
    Context,
    Message,
    is_digested,
    render,
    render_digest,
)

logger = Logger(service="jobwarden", child=True)

# Errors after which sending to an extra topic again cannot succeed (deleted, not ours to
# publish to, its key unusable): that route is given up and logged, so one team's broken topic
# never holds back everyone's alerts. Anything else (throttling, outage) is tried next sweep.
GIVE_UP = frozenset(
    {"NotFound", "AuthorizationError", "InvalidParameter", "KMSAccessDenied", "KMSNotFound"}
)


@dataclass
class _Send:
    topic: str
    message: Message
    keys: list[tuple[str, str]] = field(default_factory=list)


class Outbox:
    def __init__(
        self,
        ledger: Ledger,
        alerts: AlertSink,
        context: Context | None = None,
        *,
        digest_window: timedelta = timedelta(0),
        allowed_topics: Collection[str] | None = None,
    ) -> None:
        """`allowed_topics`: the extra topics this process may publish to (the stack grants
        exactly these); None allows any (the CLI, with the caller's own rights)."""
        self.ledger = ledger
        self.alerts = alerts
        self.context = context or Context(DEFAULT_EXEMPT_TAG, _account(alerts.platform_topic))
        self.digest_window = digest_window
        self.allowed_topics = None if allowed_topics is None else frozenset(allowed_topics)

    @classmethod
    def for_settings(
        cls,
        ledger: Ledger,
        alerts: AlertSink,
        settings: Settings,
        *,
        table: str = "",
        allowed_topics: Collection[str] | None = None,
    ) -> Outbox:
        context = Context(settings.exempt_tag, _account(alerts.platform_topic), table)
        window = timedelta(minutes=settings.digest_minutes)
        return cls(ledger, alerts, context, digest_window=window, allowed_topics=allowed_topics)

    def drain(self, service: str, now: datetime | None = None) -> int:
        """Send what is due of `service`'s outbox; returns how many entries are left
        undelivered because a send failed (not those waiting for their digest)."""
        now = now or datetime.now(UTC)
        waiting = sorted(self.ledger.undelivered(service), key=lambda item: item.entry.at)
        sends = self._plan(waiting, now)
        items = {(item.pk, item.sk): item for item in waiting}
        left: dict[tuple[str, str], int] = defaultdict(int)
        for send in sends:
            for key in send.keys:
                left[key] += 1
        for send in sends:
            try:
                self.alerts.send(send.message, send.topic)
            except Exception as error:
                if send.topic == self.alerts.platform_topic:
                    logger.exception(
                        "alert not delivered; the next sweep sends it",
                        extra={"subject": send.message.subject},
                    )
                    return sum(1 for count in left.values() if count > 0)
                if _error_code(error) not in GIVE_UP:
                    logger.exception(
                        "alert not delivered to a routed topic; the next sweep sends it",
                        extra={"topic": send.topic, "subject": send.message.subject},
                    )
                    continue
                logger.error(
                    "routed topic refused the alert; that route is skipped",
                    extra={"topic": send.topic, "error": str(error)},
                )
            for key in send.keys:
                left[key] -= 1
                if left[key] == 0:
                    self.ledger.delivered(items[key])
        return sum(1 for count in left.values() if count > 0)

    def _plan(self, waiting: list[Undelivered], now: datetime) -> list[_Send]:
        """The messages to send now: urgent ones first, each to every route of its entry."""
        urgent = [item for item in waiting if not is_digested(item.entry)]
        quiet = [item for item in waiting if is_digested(item.entry)]
        sends = []
        for item in urgent:
            message = render(item.entry, entry_key(item.pk, item.sk), self.context)
            sends += [_Send(topic, message, [(item.pk, item.sk)]) for topic in self._routes(item)]
        window = self.digest_window
        if quiet and (not window or min(item.entry.at for item in quiet) <= now - window):
            groups: dict[tuple[str, tuple[str, ...], str], list[Undelivered]] = defaultdict(list)
            for item in quiet:
                for topic in self._routes(item):
                    groups[(topic, item.entry.owners, str(item.entry.mode))].append(item)
            for (topic, _, _), members in groups.items():
                for start in range(0, len(members), DIGEST_MAX_ENTRIES):
                    chunk = members[start : start + DIGEST_MAX_ENTRIES]
                    sends += [_Send(topic, m, keys) for m, keys in self._digests(chunk, now)]
        platform = self.alerts.platform_topic
        return sorted(sends, key=lambda send: send.topic != platform)  # stable: platform first

    def _digests(
        self, chunk: list[Undelivered], now: datetime
    ) -> list[tuple[Message, list[tuple[str, str]]]]:
        """One digest of `chunk`, or more when one would pass SNS's size limit."""
        entries = [(entry_key(i.pk, i.sk), i.entry) for i in chunk]
        message = render_digest(entries, self.context, now)
        if message.size <= MAX_MESSAGE_BYTES or len(chunk) == 1:
            return [(message, [(i.pk, i.sk) for i in chunk])]
        half = len(chunk) // 2
        return self._digests(chunk[:half], now) + self._digests(chunk[half:], now)

    def _routes(self, item: Undelivered) -> list[str]:
        routes = [self.alerts.platform_topic]
        for topic in item.entry.topics:
            if topic in routes:
                continue
            if self.allowed_topics is not None and topic not in self.allowed_topics:
                logger.warning(
                    "a policy routes to a topic this deployment may not publish to; add it "
                    "to the stack's notify_topics context",
                    extra={"topic": topic, "policy": item.entry.policy},
                )
                continue
            routes.append(topic)
        return routes


def _account(topic_arn: str) -> str:
    parts = topic_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""

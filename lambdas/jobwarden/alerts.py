"""SNS alerts: each message published once per topic, with a body per subscription protocol.

They leave from the outbox (`outbox.py`), never straight from a decision; what they say is
`render.py`'s.
"""

from __future__ import annotations

from typing import Any, Protocol

from jobwarden.ledger import Entry
from jobwarden.render import HEADLINES, SUBJECT_LIMIT, Message, subject_for

__all__ = ["HEADLINES", "SUBJECT_LIMIT", "AlertSink", "MemoryAlerts", "SnsAlerts", "subject_for"]


class AlertSink(Protocol):
    platform_topic: str

    def send(self, message: Message, topic: str = "") -> None:
        """Publish one message to `topic` (default: the platform topic). Delivery is at least
        once: subscribers de-duplicate on the `entry` or `digest` attribute."""


class SnsAlerts:
    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self._sns = sns_client
        self.platform_topic = topic_arn

    def send(self, message: Message, topic: str = "") -> None:
        self._sns.publish(
            TopicArn=topic or self.platform_topic,
            Subject=message.subject,
            Message=message.sns_message(),
            MessageStructure="json",
            MessageAttributes=message.sns_attributes(),
        )


class MemoryAlerts:
    """Collects messages in memory, for unit tests of the sweep."""

    def __init__(
        self, platform_topic: str = "arn:aws:sns:us-east-1:123456789012:jobwarden"
    ) -> None:
        self.platform_topic = platform_topic
        self.messages: list[tuple[str, Message]] = []
        self.failing: set[str] | bool = False  # an SNS outage: everywhere, or these topics

    def send(self, message: Message, topic: str = "") -> None:
        topic = topic or self.platform_topic
        if self.failing is True or (isinstance(self.failing, set) and topic in self.failing):
            raise ConnectionError("SNS is unavailable")
        self.messages.append((topic, message))

    @property
    def sent(self) -> list[Entry]:
        """Every entry that reached the platform topic, alone or in a digest, in order."""
        return [
            entry
            for topic, message in self.messages
            if topic == self.platform_topic
            for entry in message.entries
        ]

    def to(self, topic: str) -> list[Message]:
        return [message for where, message in self.messages if where == topic]

"""The alert outbox: every entry is written with its alert pending; this sends them.

A sweep drains its service's outbox after it has acted, so alerts the last sweep could not
send (SNS down, the process killed) go out with this one. Delivery is at least once: an alert
sent just before a crash is sent again, carrying the same `entry` attribute for subscribers
that de-duplicate. When SNS fails, the drain stops and leaves the rest for the next sweep.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from jobwarden.alerts import AlertSink
from jobwarden.ledger import Ledger, entry_key

logger = Logger(service="jobwarden", child=True)


class Outbox:
    def __init__(self, ledger: Ledger, alerts: AlertSink) -> None:
        self.ledger = ledger
        self.alerts = alerts

    def drain(self, service: str) -> int:
        """Send every undelivered alert of `service`; returns how many are left undelivered."""
        waiting = self.ledger.undelivered(service)
        for sent, item in enumerate(waiting):
            try:
                self.alerts.publish(item.entry, entry_key(item.pk, item.sk))
                self.ledger.delivered(item)
            except Exception:
                logger.exception(
                    "alert not delivered; the next sweep sends it", extra={"pk": item.pk}
                )
                return len(waiting) - sent
        return 0

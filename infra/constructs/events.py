"""The events function and the EventBridge rules that feed it state changes.

One rule per event source of the deployed services (`SUBSCRIPTIONS` in the handler module
names them). For now the function only logs and counts, so its role holds nothing but its
logs, X-Ray and its dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from jobwarden.handlers.events import SUBSCRIPTIONS

from infra.constructs.function import JobWardenFunction, LambdaAssets
from infra.constructs.sweeps import construct_name

EVENTS_HANDLER = "jobwarden.handlers.events.handler"
# 128 MB: it parses one small JSON event and writes a log line and a metric; no AWS calls.
EVENTS_MEMORY_MB = 128
# 30 s: the work is milliseconds; the margin covers a cold start loading Powertools.
EVENTS_TIMEOUT = Duration.seconds(30)


def subscriptions(services: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """EventBridge source -> detail types, for the deployed services, in a stable order."""
    by_source: dict[str, list[str]] = {}
    for service in services:
        if service not in SUBSCRIPTIONS:
            raise ValueError(f"no state-change events are known for service {service!r}")
        source, detail_types = SUBSCRIPTIONS[service]
        known = by_source.setdefault(source, [])
        known.extend(d for d in detail_types if d not in known)
    return {source: tuple(by_source[source]) for source in sorted(by_source)}


class EventsFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        services: Sequence[str],
        assets: LambdaAssets,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = JobWardenFunction(
            self,
            "Handler",
            assets=assets,
            handler=EVENTS_HANDLER,
            description="receives job state-change events",
            memory_size=EVENTS_MEMORY_MB,
            timeout=EVENTS_TIMEOUT,
            dead_letter_queue=dead_letter_queue,
        )
        self.handler.acknowledge_findings()
        self.rules: dict[str, eventbridge.Rule] = {}
        for source, detail_types in subscriptions(services).items():
            self.rules[source] = eventbridge.Rule(
                self,
                construct_name(source),
                description=f"jobwarden: {source} job state changes to the events function",
                event_pattern=eventbridge.EventPattern(
                    source=[source], detail_type=list(detail_types)
                ),
                targets=[
                    targets.LambdaFunction(
                        self.handler.function,
                        dead_letter_queue=dead_letter_queue,
                        retry_attempts=3,
                        max_event_age=Duration.hours(1),
                    )
                ],
            )

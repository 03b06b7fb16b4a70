"""The events function and the EventBridge rules that feed it state changes.

Each adapter in `jobwarden.services.REGISTRY` declares the (source, detail-type) pairs its
`from_event` reads; the deployed services' pairs become one rule per source, detail types
merged, in a stable order. A service that declares none gets no rule (its sweeps list it).

The function keeps the active-jobs index in the ledger table and sets each job's deadline
check in EventBridge Scheduler (`jobwarden.watch`). It holds no service's rights: it reads
the policies and settings, updates index items, manages the group's schedules and passes
the Scheduler role; stopping stays with the service's own sweep function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from jobwarden.services import REGISTRY
from jobwarden.services.base import ServiceAdapter

from infra.constructs.alerts import AlertsTopic
from infra.constructs.deadlines import Deadlines
from infra.constructs.function import JobWardenFunction, LambdaAssets
from infra.constructs.ledger import LedgerTable
from infra.constructs.parameters import POLICY_PATH, SETTINGS_PARAMETER, JobWardenParameters
from infra.constructs.sweeps import construct_name

EVENTS_HANDLER = "jobwarden.handlers.events.handler"
# 256 MB: one small event, but the function loads Powertools and boto3 with its SSM,
# DynamoDB (resource) and Scheduler models; 128 MB leaves little headroom for that and
# starts cold on a fraction of a vCPU.
EVENTS_MEMORY_MB = 256
# 30 s: a warm event is an UpdateItem and a CreateSchedule; the margin covers a cold start
# and the adaptive retries of a throttled Scheduler during a burst of job starts.
EVENTS_TIMEOUT = Duration.seconds(30)


class SubscriptionError(ValueError):
    """A deployed service declares an event the stack cannot subscribe to."""


def subscriptions(
    services: Iterable[str], adapters: Mapping[str, type[ServiceAdapter]] = REGISTRY
) -> dict[str, tuple[str, ...]]:
    """EventBridge source -> detail types of the deployed services' adapters.

    Sources are sorted; detail types keep the order the adapters (taken by name) declare
    them, each once. The order of `services` does not change the result.
    """
    by_source: dict[str, list[str]] = {}
    for service in sorted(set(services)):
        if service not in adapters:
            raise SubscriptionError(f"no adapter is registered for service {service!r}")
        for pair in adapters[service].events:
            source, detail_type = pair
            if not source or not detail_type:
                raise SubscriptionError(f"{service}: malformed event declaration {pair!r}")
            known = by_source.setdefault(source, [])
            if detail_type not in known:
                known.append(detail_type)
    return {source: tuple(by_source[source]) for source in sorted(by_source)}


def detail_patterns(
    services: Iterable[str], adapters: Mapping[str, type[ServiceAdapter]] = REGISTRY
) -> dict[str, dict[str, Any]]:
    """EventBridge source -> the `detail` pattern its rule matches, where an adapter declares
    one (`event_detail`). Two adapters of one source must agree, or the rule would drop
    events one of them reads."""
    patterns: dict[str, dict[str, Any]] = {}
    for service in sorted(set(services)):
        adapter = adapters[service]
        for source, _detail_type in adapter.events:
            pattern = dict(adapter.event_detail)
            if source in patterns and patterns[source] != pattern:
                raise SubscriptionError(f"{service}: another adapter filters {source} otherwise")
            patterns[source] = pattern
    return {source: pattern for source, pattern in patterns.items() if pattern}


class EventsFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        services: Iterable[str],
        assets: LambdaAssets,
        ledger: LedgerTable,
        alerts: AlertsTopic,
        parameters: JobWardenParameters,
        deadlines: Deadlines,
        sweep_functions: Mapping[str, lambda_.IFunction],
        dead_letter_queue: sqs.IQueue,
        adapters: Mapping[str, type[ServiceAdapter]] = REGISTRY,
    ) -> None:
        super().__init__(scope, construct_id)
        services = list(services)
        self.subscriptions = subscriptions(services, adapters)
        # The services whose events this function reads (and counts, per service).
        self.services = tuple(s for s in sorted(set(services)) if adapters[s].events)
        self.handler = JobWardenFunction(
            self,
            "Handler",
            assets=assets,
            handler=EVENTS_HANDLER,
            description="indexes job state-change events and sets deadline checks",
            memory_size=EVENTS_MEMORY_MB,
            timeout=EVENTS_TIMEOUT,
            dead_letter_queue=dead_letter_queue,
            environment={
                "JOBWARDEN_TABLE": ledger.table.table_name,
                # Environment.from_env requires it; this function publishes nothing.
                "JOBWARDEN_TOPIC_ARN": alerts.topic.topic_arn,
                "JOBWARDEN_POLICY_PATH": POLICY_PATH,
                "JOBWARDEN_SETTINGS_PARAMETER": SETTINGS_PARAMETER,
                **deadlines.environment,
                # service -> its sweep function, the target of that service's checks.
                "JOBWARDEN_SWEEP_FUNCTIONS": Stack.of(self).to_json_string(
                    {name: sweep_functions[name].function_arn for name in sorted(sweep_functions)}
                ),
            },
        )
        role = self.handler.role
        for statement in parameters.read_statements():
            role.add_to_policy(statement)
        self.handler.nag_reasons[parameters.policy_tree_finding].append(
            parameters.policy_tree_reason
        )
        # The index lives in the ledger table (`jobwarden.index`): conditional UpdateItem
        # only; the events function reads and writes nothing else there.
        role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:UpdateItem"], resources=[ledger.table.table_arn])
        )
        for statement in deadlines.scheduling_statements():
            role.add_to_policy(statement)
        self.handler.nag_reasons[deadlines.nag_finding].append(deadlines.nag_reason)
        self.handler.acknowledge_findings()

        self.rules: dict[str, eventbridge.Rule] = {}
        details = detail_patterns(services, adapters)
        for source, detail_types in self.subscriptions.items():
            self.rules[source] = eventbridge.Rule(
                self,
                construct_name(source),
                description=f"jobwarden: {source} job state changes to the events function",
                event_pattern=eventbridge.EventPattern(
                    source=[source],
                    detail_type=list(detail_types),
                    detail=details.get(source),
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

"""One sweep function per service, each allowed exactly what its adapter declares.

Cloud Custodian style: every adapter in `jobwarden.services.REGISTRY` lists its IAM actions and
resource ARN templates (`Grant`); the function of that service gets those statements, plus
the few the flow itself needs (read the policy documents, write the ledger and the
active-jobs index in it, publish alerts, move the job's deadline check in EventBridge
Scheduler). A sweep function never gets another service's permissions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from jobwarden.index import ACTIVE_INDEX
from jobwarden.ledger import OPEN_INDEX, OUTBOX_INDEX
from jobwarden.services import REGISTRY
from jobwarden.services.base import ServiceAdapter

from infra.constructs.alerts import AlertsTopic
from infra.constructs.deadlines import Deadlines
from infra.constructs.function import JobWardenFunction, LambdaAssets, nag_form
from infra.constructs.ledger import LedgerTable
from infra.constructs.parameters import POLICY_PATH, SETTINGS_PARAMETER, JobWardenParameters

SWEEP_HANDLER = "jobwarden.handlers.sweep.handler"
# 256 MB: a sweep holds a few pages of job descriptions (100 per call) and the boto3 clients;
# it waits on the network, and arm64 at 256 MB starts Powertools and boto3 in well under a
# second. More memory buys CPU it would not use.
SWEEP_MEMORY_MB = 256
# 5 minutes: one sweep pages every active job of one service in every configured region, with
# adaptive retries backing off under throttling; thousands of jobs fit with room to spare.
# Reserved concurrency 1 keeps a slow sweep from overlapping the next scheduled one.
SWEEP_TIMEOUT = Duration.minutes(5)
SWEEP_CONCURRENCY = 1
MAX_EVENT_AGE_MINUTES = 360  # Lambda's ceiling for asynchronous events

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


class GrantError(ValueError):
    """An adapter declares a permission the stack refuses to grant."""


def construct_name(service: str) -> str:
    """`codebuild-batch` -> `CodebuildBatch`: a stable construct id (and logical id part)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", service) if part)


def arn_region(regions: Sequence[str]) -> str:
    """The region in service ARNs: the stack's, the one listed, or any when several are."""
    if not regions:
        return "${AWS::Region}"
    if len(regions) == 1:
        return regions[0]
    return "*"


@dataclass(frozen=True)
class RenderedGrant:
    """An adapter's Grant with its templates filled: `*` or Fn::Sub template strings."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    reason: str
    conditions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=list(self.actions),
            resources=[r if r == "*" else Fn.sub(r) for r in self.resources],
            conditions={k: dict(v) for k, v in self.conditions.items()} or None,
        )


def render_grants(adapter: type[ServiceAdapter], regions: Sequence[str]) -> list[RenderedGrant]:
    """Fill each Grant of `adapter` for this deployment, refusing wildcard actions."""
    region = arn_region(regions)
    rendered = []
    for grant in adapter.grants:
        if not grant.actions:
            raise GrantError(f"{adapter.name}: a grant lists no actions")
        wild = [action for action in grant.actions if "*" in action]
        if wild:
            raise GrantError(f"{adapter.name}: list the actions it calls instead of {wild}")
        resources = []
        for template in grant.resources:
            if template == "*":
                if not grant.why_any_resource:
                    raise GrantError(
                        f"{adapter.name}: {list(grant.actions)} on '*' needs why_any_resource"
                    )
                resources.append("*")
                continue
            filled = (
                template.replace("${", "${!")
                .replace("{partition}", "${AWS::Partition}")
                .replace("{region}", region)
                .replace("{account}", "${AWS::AccountId}")
            )
            leftover = PLACEHOLDER.findall(filled.replace("${", "$("))
            if leftover:
                raise GrantError(f"{adapter.name}: unknown placeholders {leftover} in {template}")
            resources.append(filled)
        reason = grant.why_any_resource or (
            f"jobwarden acts on whichever {adapter.name} resources the policies match in this "
            "account, so the adapter declares the ARN pattern rather than names."
        )
        rendered.append(
            RenderedGrant(tuple(grant.actions), tuple(resources), reason, grant.conditions)
        )
    return rendered


class SweepFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        services: Sequence[str],
        regions: Sequence[str],
        rate_minutes: int,
        assets: LambdaAssets,
        ledger: LedgerTable,
        alerts: AlertsTopic,
        parameters: JobWardenParameters,
        deadlines: Deadlines,
        dead_letter_queue: sqs.IQueue,
        notify_topics: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, JobWardenFunction] = {}
        for service in services:
            adapter = REGISTRY[service]
            sweep = JobWardenFunction(
                self,
                construct_name(service),
                assets=assets,
                handler=SWEEP_HANDLER,
                description=f"sweeps {service} for stuck or over-budget jobs",
                memory_size=SWEEP_MEMORY_MB,
                timeout=SWEEP_TIMEOUT,
                dead_letter_queue=dead_letter_queue,
                reserved_concurrent_executions=SWEEP_CONCURRENCY,
                # The next scheduled sweep is the retry; a failed one goes to the DLQ and
                # raises the Errors alarm. A sweep older than one period is stale.
                retry_attempts=0,
                max_event_age=Duration.minutes(min(max(rate_minutes, 1), MAX_EVENT_AGE_MINUTES)),
                environment={
                    "JOBWARDEN_SERVICE": service,
                    "JOBWARDEN_TABLE": ledger.table.table_name,
                    "JOBWARDEN_TOPIC_ARN": alerts.topic.topic_arn,
                    "JOBWARDEN_POLICY_PATH": POLICY_PATH,
                    "JOBWARDEN_SETTINGS_PARAMETER": SETTINGS_PARAMETER,
                    "JOBWARDEN_NOTIFY_TOPICS": json.dumps(list(notify_topics)),
                    **deadlines.environment,
                },
            )
            for statement in flow_statements(ledger, alerts, parameters, deadlines):
                sweep.role.add_to_policy(statement)
            if notify_topics:  # routed alerts: exactly the topics the deployer listed
                sweep.role.add_to_policy(
                    iam.PolicyStatement(actions=["sns:Publish"], resources=list(notify_topics))
                )
            sweep.nag_reasons[parameters.policy_tree_finding].append(parameters.policy_tree_reason)
            sweep.nag_reasons[deadlines.nag_finding].append(deadlines.nag_reason)
            for grant in render_grants(adapter, regions):
                sweep.role.add_to_policy(grant.statement())
                for resource in grant.resources:
                    if "*" in resource:
                        finding = f"AwsSolutions-IAM5[Resource::{nag_form(resource)}]"
                        sweep.nag_reasons[finding].append(
                            f"{', '.join(grant.actions)}: {grant.reason}"
                        )
            sweep.acknowledge_findings()
            self.functions[service] = sweep


# What a sweep does in the ledger table (`jobwarden.ledger`, `jobwarden.index`): claims and
# decisions (PutItem, DeleteItem, Query), the active-jobs index (Query, UpdateItem, PutItem)
# and the last full listing (GetItem, PutItem). All on the table's own keys: the by-day
# index is for `jobwarden report` (the CLI), which no function runs.
LEDGER_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
)


def flow_statements(
    ledger: LedgerTable,
    alerts: AlertsTopic,
    parameters: JobWardenParameters,
    deadlines: Deadlines,
) -> list[iam.PolicyStatement]:
    """What every sweep needs besides its service: policies, ledger, alerts, deadlines."""
    return [
        *parameters.read_statements(),
        iam.PolicyStatement(actions=list(LEDGER_ACTIONS), resources=[ledger.table.table_arn]),
        # Recovery, the outbox and the active-jobs index read their sparse indexes, and no
        # other index of the table's.
        iam.PolicyStatement(
            actions=["dynamodb:Query"],
            resources=[
                f"{ledger.table.table_arn}/index/{name}"
                for name in (OPEN_INDEX, OUTBOX_INDEX, ACTIVE_INDEX)
            ],
        ),
        # The topic's key is SNS's AWS managed one: its key policy admits the account's
        # principals through SNS, so no KMS statement is needed (or possible to scope).
        iam.PolicyStatement(actions=["sns:Publish"], resources=[alerts.topic.topic_arn]),
        *deadlines.scheduling_statements(),
    ]

"""The JobWarden stack, its configuration from CDK context, and the app that holds it.

Context (defaults in cdk.json; `cdk -c key=value` or CDK_CONTEXT_JSON override them):

  mode                dry_run | enforce                       (default dry_run)
  sweep_rate_minutes  minutes between sweeps, 1..1440          (default 5)
  services            "all" (every registered adapter) or names, a list or "a,b"
  alert_email         an address to subscribe to the alerts topic (default none)
  regions             regions to sweep, a list or "a,b"; empty = the stack's own region
  retention_days      days a ledger item is kept (TTL)         (default 90)
  reconcile_every_minutes
                      minutes between full listings, 1..1440   (default 30); in between, a
                      sweep evaluates the jobs the state-change events indexed
  tracing             false | true | calls: what X-Ray records of every function (default
                      false). true: Lambda's active tracing, a trace per invocation with its
                      initialization, duration and errors, nothing added to the functions.
                      calls: that and a subsegment per AWS call, by Powertools' Tracer and
                      the X-Ray SDK it loads (0.11-0.14x of `import boto3` more cold import)
  dashboard           true | false: the CloudWatch dashboard ($3 a month) and the per-service
                      metrics it graphs (default false)
  lambda_error_alarm  true | false: one more alarm, on Lambda's own Errors metric of every
                      function, so a timeout alarms at its first attempt (default false)
  notify_topics       SNS topic ARNs policies may route alerts to (`notify`), a list or
                      "a,b"; the sweeps may publish to exactly these (default none)

The stack is environment-agnostic and synthesis makes no AWS calls: no lookups, no
credentials, no Docker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, CfnOutput, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct
from jobwarden.bounds import SNS_TOPIC_ARN
from jobwarden.model import Mode
from jobwarden.services import REGISTRY

from infra.constructs.alerts import AlertsTopic
from infra.constructs.dead_letters import DeadLetterQueue
from infra.constructs.deadlines import Deadlines
from infra.constructs.events import EventsFunction
from infra.constructs.function import LambdaAssets, TraceLevel
from infra.constructs.ledger import LedgerTable
from infra.constructs.monitoring import Monitoring
from infra.constructs.parameters import JobWardenParameters
from infra.constructs.schedules import SweepSchedules
from infra.constructs.sweeps import SweepFunctions

STACK_NAME = "JobWarden"
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"
ALL_SERVICES = "all"
MAX_RATE_MINUTES = 1440
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NOTIFY_TOPICS = 20


class ContextError(ValueError):
    """A context value the stack cannot be built from; the message says which and why."""


@dataclass(frozen=True)
class JobWardenConfig:
    mode: Mode = Mode.DRY_RUN
    sweep_rate_minutes: int = 5
    services: tuple[str, ...] = ()
    alert_email: str | None = None
    regions: tuple[str, ...] = ()
    retention_days: int = 90
    reconcile_every_minutes: int = 30
    tracing: TraceLevel = TraceLevel.OFF
    notify_topics: tuple[str, ...] = ()
    dashboard: bool = False
    lambda_error_alarm: bool = False

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> JobWardenConfig:
        defaults = cls()
        return cls(
            mode=_mode(context.get("mode", defaults.mode)),
            sweep_rate_minutes=_whole(
                "sweep_rate_minutes",
                context.get("sweep_rate_minutes", defaults.sweep_rate_minutes),
                1,
                MAX_RATE_MINUTES,
            ),
            services=_services(context.get("services", ALL_SERVICES)),
            alert_email=_email(context.get("alert_email")),
            regions=_regions(context.get("regions")),
            retention_days=_whole(
                "retention_days", context.get("retention_days", defaults.retention_days), 1, None
            ),
            reconcile_every_minutes=_whole(
                "reconcile_every_minutes",
                context.get("reconcile_every_minutes", defaults.reconcile_every_minutes),
                1,
                MAX_RATE_MINUTES,
            ),
            tracing=_trace_level(context.get("tracing", defaults.tracing.value)),
            notify_topics=_topics(context.get("notify_topics")),
            dashboard=_flag("dashboard", context.get("dashboard", defaults.dashboard)),
            lambda_error_alarm=_flag(
                "lambda_error_alarm", context.get("lambda_error_alarm", defaults.lambda_error_alarm)
            ),
        )


def _flag(key: str, value: Any) -> bool:
    """true/false, as JSON or as `-c key=true` passes it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ContextError(f"context {key!r} must be true or false, got {value!r}")


def _trace_level(value: Any) -> TraceLevel:
    """false, true or calls; true/false as JSON booleans too."""
    text = str(value).lower() if isinstance(value, bool) else value
    if isinstance(text, str):
        for level in TraceLevel:
            if text.strip().lower() == level.value:
                return level
    choices = " | ".join(level.value for level in TraceLevel)
    raise ContextError(f"context 'tracing' must be {choices}, got {value!r}")


def _topics(value: Any) -> tuple[str, ...]:
    """Extra topics are granted literally: the stack cannot know at synth time which topics
    policies in SSM will name, so the deployer lists them, and nothing else is publishable."""
    topics = list(dict.fromkeys(_names("notify_topics", value)))
    bad = [t for t in topics if not SNS_TOPIC_ARN.fullmatch(t) or t.endswith(".fifo")]
    if bad:
        raise ContextError(
            f"context 'notify_topics' must be SNS standard topic ARNs "
            f"(arn:aws:sns:<region>:<account>:<name>); got {bad}"
        )
    if len(topics) > MAX_NOTIFY_TOPICS:
        raise ContextError(f"context 'notify_topics' lists more than {MAX_NOTIFY_TOPICS} topics")
    return tuple(topics)


def _mode(value: Any) -> Mode:
    choices = [m.value for m in Mode]
    if value not in choices:
        raise ContextError(f"context 'mode' must be one of {choices}, got {value!r}")
    return Mode(value)


def _whole(key: str, value: Any, minimum: int, maximum: int | None) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if number is None or number < minimum or (maximum is not None and number > maximum):
        bounds = f"{minimum}..{maximum}" if maximum is not None else f"at least {minimum}"
        raise ContextError(f"context {key!r} must be a whole number, {bounds}; got {value!r}")
    return number


def _names(key: str, value: Any) -> list[str]:
    """A list of names from a JSON list or a comma-separated string (as `-c` passes it)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise ContextError(f"context {key!r} must be a list of names or 'a,b'; got {value!r}")


def _services(value: Any) -> tuple[str, ...]:
    known = sorted(REGISTRY)
    if value == ALL_SERVICES:
        return tuple(known)
    names = list(dict.fromkeys(_names("services", value)))
    if not names:
        raise ContextError(f"context 'services' names no service; known: {', '.join(known)}")
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        raise ContextError(
            f"context 'services' names unknown services {unknown}; known: {', '.join(known)}"
        )
    return tuple(names)


def _regions(value: Any) -> tuple[str, ...]:
    regions = list(dict.fromkeys(_names("regions", value)))
    bad = [region for region in regions if not REGION.match(region)]
    if bad:
        raise ContextError(f"context 'regions' has malformed region names {bad}")
    return tuple(regions)


def _email(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not EMAIL.match(value.strip()):
        raise ContextError(f"context 'alert_email' must be an email address, got {value!r}")
    return value.strip()


class JobWardenStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: JobWardenConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="jobwarden: stops stuck CodeBuild, Glue, Batch and Amplify jobs",
            **kwargs,
        )
        self.config = config
        Tags.of(self).add("project", "jobwarden")

        ledger = LedgerTable(self, "Ledger")
        alerts = AlertsTopic(self, "Alerts", alert_email=config.alert_email)
        dead_letters = DeadLetterQueue(self, "DeadLetters")
        parameters = JobWardenParameters(
            self,
            "Parameters",
            services=config.services,
            mode=config.mode,
            regions=config.regions,
            retention_days=config.retention_days,
            reconcile_every_minutes=config.reconcile_every_minutes,
        )
        deadlines = Deadlines(self, "Deadlines")
        assets = LambdaAssets(
            self, "LambdaAssets", tracing=config.tracing, dashboard=config.dashboard
        )
        self.sweeps = SweepFunctions(
            self,
            "Sweeps",
            services=config.services,
            regions=config.regions,
            rate_minutes=config.sweep_rate_minutes,
            assets=assets,
            ledger=ledger,
            alerts=alerts,
            parameters=parameters,
            deadlines=deadlines,
            dead_letter_queue=dead_letters.queue,
            notify_topics=config.notify_topics,
        )
        sweep_functions = {name: sweep.function for name, sweep in self.sweeps.functions.items()}
        deadlines.allow_invoking(sweep_functions)
        SweepSchedules(
            self,
            "Schedules",
            functions=sweep_functions,
            rate_minutes=config.sweep_rate_minutes,
            dead_letter_queue=dead_letters.queue,
        )
        self.events = EventsFunction(
            self,
            "Events",
            services=config.services,
            assets=assets,
            ledger=ledger,
            alerts=alerts,
            parameters=parameters,
            deadlines=deadlines,
            sweep_functions=sweep_functions,
            dead_letter_queue=dead_letters.queue,
        )
        Monitoring(
            self,
            "Monitoring",
            sweeps=sweep_functions,
            events_function=self.events.handler.function,
            event_services=self.events.services,
            topic=alerts.alarms_topic,
            dead_letter_queue=dead_letters.queue,
            dashboard=config.dashboard,
            lambda_error_alarm=config.lambda_error_alarm,
        )

        CfnOutput(self, "LedgerTableName", value=ledger.table.table_name)
        CfnOutput(self, "AlertsTopicArn", value=alerts.topic.topic_arn)
        CfnOutput(self, "AlarmsTopicArn", value=alerts.alarms_topic.topic_arn)
        CfnOutput(self, "DeadLetterQueueUrl", value=dead_letters.queue.queue_url)
        CfnOutput(self, "DeadlineScheduleGroup", value=deadlines.group.schedule_group_name)


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The context defaults in cdk.json, so `python app.py` sees what `cdk synth` sees."""
    context: dict[str, Any] = json.loads(path.read_text()).get("context", {})
    return context


def build_app(
    context: Mapping[str, Any] | None = None, outdir: str | None = None, nag: bool = True
) -> App:
    """The app with the JobWarden stack; cdk-nag's AwsSolutions checks run at synth.

    `context` is the default context (cdk.json's); the CDK CLI's context, passed in
    CDK_CONTEXT_JSON, overrides it. An unacknowledged finding fails synthesis.
    """
    app = App(context=dict(context or {}), outdir=outdir)
    config = JobWardenConfig.from_context(_context_of(app, context))
    JobWardenStack(app, STACK_NAME, config=config)
    if nag:
        Validations.of(app).add_plugins(
            AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True)
        )
    return app


def _context_of(app: App, defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    keys = {
        "mode",
        "sweep_rate_minutes",
        "services",
        "alert_email",
        "regions",
        "retention_days",
        "reconcile_every_minutes",
        "tracing",
        "notify_topics",
        "dashboard",
        "lambda_error_alarm",
    }
    keys.update(defaults or {})
    values = {key: app.node.try_get_context(key) for key in keys}
    return {key: value for key, value in values.items() if value is not None}

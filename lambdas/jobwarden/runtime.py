"""Builds the collaborators from the environment: shared by the handlers and the CLI.

What only sweeps use (acting, the outbox, rendering) is imported by `sweeper()` and what only
the events function uses by `watcher()`: each function loads the code it runs at a cold
start and no more (bench/import_cost.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from jobwarden.aws import Clients
from jobwarden.deadlines import GROUP, SchedulerDeadlines, Targets
from jobwarden.index import DynamoIndex
from jobwarden.model import Mode, Settings
from jobwarden.policies import DEFAULT_POLICY_PATH, DEFAULT_SETTINGS_PARAMETER, ParameterStore
from jobwarden.services import REGISTRY

if TYPE_CHECKING:
    from jobwarden.act import Lease
    from jobwarden.sweep import Sweeper
    from jobwarden.watch import Watcher


class ConfigurationError(ValueError):
    """The environment or a command line names something unusable."""


@dataclass(frozen=True)
class Environment:
    table: str
    topic_arn: str
    policy_path: str = DEFAULT_POLICY_PATH
    settings_parameter: str = DEFAULT_SETTINGS_PARAMETER
    service: str | None = None
    # Deadlines (EventBridge Scheduler): the role it assumes, its group, and, for the events
    # function, each service's sweep function (JSON object service -> ARN).
    deadline_role_arn: str = ""
    deadline_group: str = GROUP
    sweep_functions: Mapping[str, str] = field(default_factory=dict)
    # The extra topics policies may route alerts to (JSON list), as the stack granted them;
    # unset (the CLI) allows any topic the caller's credentials may publish to.
    notify_topics: tuple[str, ...] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Environment:
        missing = [
            name for name in ("JOBWARDEN_TABLE", "JOBWARDEN_TOPIC_ARN") if not environ.get(name)
        ]
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            table=environ["JOBWARDEN_TABLE"],
            topic_arn=environ["JOBWARDEN_TOPIC_ARN"],
            policy_path=environ.get("JOBWARDEN_POLICY_PATH", DEFAULT_POLICY_PATH),
            settings_parameter=environ.get(
                "JOBWARDEN_SETTINGS_PARAMETER", DEFAULT_SETTINGS_PARAMETER
            ),
            service=environ.get("JOBWARDEN_SERVICE") or None,
            deadline_role_arn=environ.get("JOBWARDEN_DEADLINE_ROLE_ARN", ""),
            deadline_group=environ.get("JOBWARDEN_DEADLINE_GROUP", GROUP),
            sweep_functions=_json_object("JOBWARDEN_SWEEP_FUNCTIONS", environ),
            notify_topics=_json_list("JOBWARDEN_NOTIFY_TOPICS", environ),
        )


class Runtime:
    """Everything one process needs; the parameter cache lives as long as it does."""

    def __init__(self, env: Environment, clients: Clients | None = None) -> None:
        self.env = env
        self.clients = clients or Clients()
        self.store = ParameterStore(
            self.clients.client("ssm"), env.policy_path, env.settings_parameter
        )

    def sweeper(
        self,
        mode: Mode | None = None,
        function_arn: str | None = None,
        service: str = "",
        lease: Lease | None = None,
    ) -> Sweeper:
        """`mode` overrides the settings' mode (the CLI's --dry-run/--enforce; the kill switch
        still wins). `lease` names who acts and for how long (default: this run, 15 minutes).

        Inside Lambda (`function_arn` given) with deadlines configured, the sweep uses the
        events' index and may move a job's deadline check, which targets this same function.
        Otherwise (the CLI, a stack without the events function) every sweep lists in full.
        Inside Lambda a full listing reads only what changed since the last one (a watermark
        in the ledger table) while that is fresh; the CLI always reads everything.
        """
        from jobwarden.alerts import SnsAlerts
        from jobwarden.budget import DynamoBudget
        from jobwarden.ledger import DynamoLedger
        from jobwarden.outbox import Outbox
        from jobwarden.sweep import Sweeper
        from jobwarden.watermark import DynamoWatermarks

        configuration = self.store.load(REGISTRY)
        if mode is not None:
            settings = replace(configuration.settings, mode=mode)
            configuration = replace(configuration, settings=settings)
        settings = configuration.settings
        table = self.clients.dynamodb_table(self.env.table)
        ledger = DynamoLedger(table, settings.ledger_retention_days)
        alerts = SnsAlerts(self.clients.client("sns"), self.env.topic_arn)
        window = timedelta(minutes=settings.stop_window_minutes)

        def fresh_settings() -> Settings:
            now = self.store.read_settings()
            return now if mode is None else replace(now, mode=mode)

        in_lambda = function_arn is not None and bool(self.env.deadline_role_arn)
        return Sweeper(
            self.clients,
            ledger,
            alerts,
            configuration,
            index=self.index() if in_lambda else None,
            deadlines=self.deadlines({service: function_arn or ""}) if in_lambda else None,
            budget=DynamoBudget(table, settings.max_stops_per_window, window),
            lease=lease,
            fresh_settings=fresh_settings,
            watermarks=DynamoWatermarks(table) if function_arn is not None else None,
            outbox=Outbox.for_settings(
                ledger,
                alerts,
                settings,
                table=self.env.table,
                allowed_topics=self.env.notify_topics,
            ),
        )

    def index(self) -> DynamoIndex:
        return DynamoIndex(self.clients.dynamodb_table(self.env.table))

    def deadlines(self, function_arns: Mapping[str, str]) -> SchedulerDeadlines:
        targets = Targets(dict(function_arns), self.env.deadline_role_arn, self.env.deadline_group)
        return SchedulerDeadlines(self.clients.client("scheduler"), targets)

    def watcher(self) -> Watcher:
        from jobwarden.watch import Watcher

        configuration = self.store.load(REGISTRY)
        return Watcher(self.index(), self.deadlines(self.env.sweep_functions), configuration)


def _json_list(name: str, environ: Mapping[str, str]) -> tuple[str, ...] | None:
    if name not in environ:
        return None
    try:
        value = json.loads(environ[name] or "[]")
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{name} is not JSON: {error}") from None
    if not isinstance(value, list):
        raise ConfigurationError(f"{name} must be a JSON list")
    return tuple(str(v) for v in value)


def _json_object(name: str, environ: Mapping[str, str]) -> dict[str, str]:
    text = environ.get(name, "")
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{name} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name} must be a JSON object")
    return {str(k): str(v) for k, v in value.items()}

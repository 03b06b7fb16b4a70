"""Builds the collaborators from the environment: shared by the handlers and the CLI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from jobwarden.alerts import SnsAlerts
from jobwarden.aws import Clients
from jobwarden.ledger import DynamoLedger
from jobwarden.model import Mode
from jobwarden.policies import DEFAULT_POLICY_PATH, DEFAULT_SETTINGS_PARAMETER, ParameterStore
from jobwarden.services import REGISTRY
from jobwarden.sweep import Sweeper


class ConfigurationError(ValueError):
    """The environment or a command line names something unusable."""


@dataclass(frozen=True)
class Environment:
    table: str
    topic_arn: str
    policy_path: str = DEFAULT_POLICY_PATH
    settings_parameter: str = DEFAULT_SETTINGS_PARAMETER
    service: str | None = None

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
        )


class Runtime:
    """Everything one process needs; the parameter cache lives as long as it does."""

    def __init__(self, env: Environment, clients: Clients | None = None) -> None:
        self.env = env
        self.clients = clients or Clients()
        self.store = ParameterStore(
            self.clients.client("ssm"), env.policy_path, env.settings_parameter
        )

    def sweeper(self, mode: Mode | None = None) -> Sweeper:
        """`mode` overrides the settings' mode (the CLI's --dry-run/--enforce)."""
        configuration = self.store.load(REGISTRY)
        if mode is not None:
            settings = replace(configuration.settings, mode=mode)
            configuration = replace(configuration, settings=settings)
        ledger = DynamoLedger(
            self.clients.dynamodb_table(self.env.table),
            configuration.settings.ledger_retention_days,
        )
        alerts = SnsAlerts(self.clients.client("sns"), self.env.topic_arn)
        return Sweeper(self.clients, ledger, alerts, configuration)

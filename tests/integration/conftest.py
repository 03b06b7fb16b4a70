"""An emulated account per test: moto, our fills, and jobwarden's own table and topic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from jobwarden.aws import Clients
from jobwarden.local.account import Resources, create_codebuild_project, create_resources
from jobwarden.local.emulator import Emulator, emulated_account


@dataclass
class Account:
    emulator: Emulator
    clients: Clients
    resources: Resources

    def start_build(
        self, project: str, ago: timedelta, running_after: timedelta | None = None, now=None
    ) -> str:
        """Start a build `ago` in the past; move it to BUILD `running_after` its start."""
        now = now or datetime.now().astimezone()
        fill = self.emulator.fill("codebuild")
        with time_machine.travel(now - ago, tick=False):
            build_id: str = self.clients.client("codebuild").start_build(projectName=project)[
                "build"
            ]["id"]
        if running_after is not None:
            with time_machine.travel(now - ago + running_after, tick=False):
                fill.advance(build_id, "BUILD")
        return build_id

    def project(self, name: str, tags: dict[str, str] | None = None, **kwargs: Any) -> str:
        create_codebuild_project(self.clients, name, tags, **kwargs)
        return name

    def build(self, build_id: str) -> dict[str, Any]:
        builds = self.clients.client("codebuild").batch_get_builds(ids=[build_id])["builds"]
        return builds[0]  # type: ignore[no-any-return]

    def alerts(self) -> list[dict[str, Any]]:
        from jobwarden.local.account import received_alerts

        return received_alerts(self.clients, self.resources.queue_url)

    def ledger_items(self, claims: bool = False) -> list[dict[str, Any]]:
        """The decision entries (or, with `claims`, only the claims) in the ledger table."""
        table = self.clients.dynamodb_table(self.resources.table)
        items = table.scan()["Items"]
        return [i for i in items if i["sk"].startswith("claim#") == claims]


@pytest.fixture
def account() -> Iterator[Account]:
    with emulated_account() as emulator:
        clients = Clients(default_region="us-east-1")
        yield Account(emulator, clients, create_resources(clients))


def alert_bodies(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(alert["Message"]) for alert in alerts]

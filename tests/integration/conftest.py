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
from jobwarden.local.emulator import Emulator, RawBody, emulated_account


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

    def scan(self, capsys: Any, *extra: str) -> tuple[int, list[dict[str, Any]]]:
        """`jobwarden scan --json` against this account: exit code and the printed objects."""
        from jobwarden.cli import main

        code = main(
            [
                "scan",
                "--json",
                "--region",
                "us-east-1",
                "--table",
                self.resources.table,
                "--topic-arn",
                self.resources.topic_arn,
                *extra,
            ]
        )
        return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    def ledger_items(self, claims: bool = False) -> list[dict[str, Any]]:
        """The ledger's items but the stop budget's slots: with `claims`, only the claims;
        without, everything else (decisions, entries, pending retries)."""
        table = self.clients.dynamodb_table(self.resources.table)
        items = [i for i in table.scan()["Items"] if not i["pk"].startswith("budget#")]
        return [i for i in items if i["sk"].startswith("claim#") == claims]


@pytest.fixture
def account() -> Iterator[Account]:
    with emulated_account() as emulator:
        clients = Clients(default_region="us-east-1")
        yield Account(emulator, clients, create_resources(clients))


def throttle(
    client: Any,
    operation: str,
    *,
    times: int = 2,
    code: str = "ThrottlingException",
    status: int = 400,
    then: bytes | None = None,
) -> list[str]:
    """Answer `operation` with a throttling error `times` times on the wire, before botocore's
    retry handler sees it; then let the call through (or answer `then`). Returns the URLs of
    the throttled attempts, so a test can count them."""
    from botocore.awsrequest import AWSResponse

    throttled: list[str] = []

    def answer(request: Any, **_: Any) -> Any:
        if len(throttled) < times:
            throttled.append(request.url)
            body = json.dumps({"__type": code, "message": "Rate exceeded"}).encode()
            return AWSResponse(request.url, status, {"x-amzn-errortype": code}, RawBody(body))
        return None if then is None else AWSResponse(request.url, 200, {}, RawBody(then))

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"before-send.{service}.{operation}", answer)
    return throttled


@dataclass
class LambdaContext:
    function_name: str = "jobwarden-events"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:jobwarden-events"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


@pytest.fixture
def events_function(account, monkeypatch):
    """The events function's environment in the emulated account, with one policy (60 min)
    and deadlines to the CodeBuild sweep function; its runtime rebuilt for each test."""
    from jobwarden.handlers import events
    from jobwarden.local.account import put_policy

    monkeypatch.setenv("JOBWARDEN_TABLE", account.resources.table)
    monkeypatch.setenv("JOBWARDEN_TOPIC_ARN", account.resources.topic_arn)
    monkeypatch.setenv("JOBWARDEN_DEADLINE_ROLE_ARN", "arn:aws:iam::123456789012:role/deadlines")
    monkeypatch.setenv(
        "JOBWARDEN_SWEEP_FUNCTIONS",
        json.dumps(
            {
                s: f"arn:aws:lambda:us-east-1:123456789012:function:sweep-{s}"
                for s in ("codebuild", "glue", "batch", "amplify")
            }
        ),
    )
    account.clients.client("scheduler").create_schedule_group(Name="jobwarden-deadlines")
    put_policy(account.clients, "one-hour", {"limits": {"max_run_minutes": 60}})
    events.runtime.cache_clear()
    yield account
    events.runtime.cache_clear()

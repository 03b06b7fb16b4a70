"""Run as `python -m tests.integration.first_invocation sweep|events`: import a handler as
Lambda's cold start does, then invoke it once against the emulated account (a sweep that stops
a build and alerts; an event that indexes a running build and schedules its deadline
check), and print
which of the package's modules the invocation loaded that the cold import had not."""

from __future__ import annotations

import importlib
import json
import os
import sys

HANDLER = sys.argv[1]
handler = importlib.import_module(f"jobwarden.handlers.{HANDLER}")
COLD = set(sys.modules)

from datetime import UTC, datetime, timedelta  # noqa: E402

from jobwarden.aws import Clients  # noqa: E402
from jobwarden.local.account import create_resources, put_policy, put_settings  # noqa: E402
from jobwarden.local.emulator import emulated_account  # noqa: E402

from tests.conftest import LambdaContext, build_event  # noqa: E402
from tests.integration.conftest import Account  # noqa: E402

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:jobwarden-{}"


def main() -> None:
    with emulated_account() as emulator:
        clients = Clients(default_region="us-east-1")
        account = Account(emulator, clients, create_resources(clients))
        os.environ.update(
            JOBWARDEN_TABLE=account.resources.table,
            JOBWARDEN_TOPIC_ARN=account.resources.topic_arn,
            JOBWARDEN_SERVICE="codebuild",
            JOBWARDEN_DEADLINE_ROLE_ARN="arn:aws:iam::123456789012:role/deadlines",
            JOBWARDEN_SWEEP_FUNCTIONS=json.dumps({"codebuild": FUNCTION.format("sweep")}),
        )
        clients.client("scheduler").create_schedule_group(Name="jobwarden-deadlines")
        put_settings(clients, {"mode": "enforce"})
        put_policy(clients, "one-hour", {"limits": {"max_run_minutes": 60}})
        now = datetime.now(UTC)
        if HANDLER == "sweep":
            account.project("nightly-etl")
            account.start_build("nightly-etl", timedelta(hours=2), timedelta(minutes=1), now)
            event = {"source": "aws.events"}
        else:
            started = now - timedelta(minutes=10)
            event = build_event("IN_PROGRESS", "nightly-etl:1", now, started)
        context = LambdaContext(invoked_function_arn=FUNCTION.format(HANDLER))
        summary = handler.handler(event, context)
        alerts = len(account.alerts())
    late = sorted(
        m
        for m in set(sys.modules) - COLD
        if m.startswith("jobwarden") and not m.startswith("jobwarden.local")
    )
    print(json.dumps({"summary": summary, "alerts": alerts, "late": late}))


if __name__ == "__main__":
    main()

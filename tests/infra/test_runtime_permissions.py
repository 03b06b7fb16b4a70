"""The runtime's calls against the stack's grants: every AWS operation the handlers make is
an action the synthesized role of that function holds, and every variable the runtime reads
is one the stack sets.

The handlers run, through their Lambda entry points, against the emulated account (moto and
jobwarden's fills): jobs start and end through their events, deadline checks stop one job
and move another's deadline, sweeps reconcile and use the index. Every botocore call made
meanwhile (its before-parameter-build event) is recorded as `<signing name>:<operation>`,
which is the IAM action for all the services jobwarden calls. What this cannot see, it checks
by the request: PassRole is implied by the RoleArn given to Scheduler, and the group and
target of each schedule.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from botocore.handlers import BUILTIN_HANDLERS
from jobwarden import runtime
from jobwarden.aws import Clients
from jobwarden.handlers import events, sweep
from jobwarden.local.account import (
    create_codebuild_project,
    create_resources,
    put_policy,
    put_settings,
)
from jobwarden.local.emulator import emulated_account

from tests.conftest import LambdaContext, build_event
from tests.infra.conftest import Synth

REGION = "us-east-1"
SWEEP_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:jobwarden-sweep-codebuild"
ROLE_ARN = "arn:aws:iam::123456789012:role/jobwarden-deadlines"
GROUP = "jobwarden-deadlines"


class Recorder:
    """A botocore hook on every request's parameters, on while `recording` is active."""

    def __init__(self) -> None:
        self.active: set[str] | None = None
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if self.active is None:
            return
        action = f"{model.service_model.signing_name}:{model.name}"
        self.active.add(action)
        self.requests.append((action, copy.deepcopy(params)))

    @contextmanager
    def recording(self, into: set[str]) -> Iterator[None]:
        self.active = into
        try:
            yield
        finally:
            self.active = None


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    hook = Recorder()
    entry = ("before-parameter-build", hook)
    BUILTIN_HANDLERS.append(entry)  # sessions made from now on (the handlers' own) call it
    yield hook
    BUILTIN_HANDLERS.remove(entry)


def granted(synth: Synth, function_id: str) -> set[str]:
    actions = set()
    for statement in synth.statements_of(function_id):
        value = statement["Action"]
        actions.update(value if isinstance(value, list) else [value])
    return actions


def test_the_runtime_reads_only_variables_the_stack_sets(default_synth: Synth) -> None:
    read = set(re.findall(r'"(JOBWARDEN_[A-Z_]+)"', inspect.getsource(runtime)))
    assert {"JOBWARDEN_TABLE", "JOBWARDEN_DEADLINE_ROLE_ARN", "JOBWARDEN_SWEEP_FUNCTIONS"} <= read
    _, function = default_synth.events_function()
    # The events function sends no alerts, so it is given no routed topics.
    events_only = read - {"JOBWARDEN_SERVICE", "JOBWARDEN_NOTIFY_TOPICS"}
    assert events_only <= set(function["Properties"]["Environment"]["Variables"])
    for _, function in default_synth.sweep_functions().values():
        variables = set(function["Properties"]["Environment"]["Variables"])
        assert read - {"JOBWARDEN_SWEEP_FUNCTIONS"} <= variables


@dataclass
class Calls:
    by_events: set[str]
    by_sweeps: set[str]


def run_scenario(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls(set(), set())
    now = datetime.now(UTC).replace(microsecond=0)
    with emulated_account() as emulator:
        clients = Clients(default_region=REGION)
        resources = create_resources(clients)
        clients.client("scheduler").create_schedule_group(Name=GROUP)
        put_policy(clients, "one-hour", {"limits": {"max_run_minutes": 60}})
        put_settings(clients, {"mode": "enforce"})
        create_codebuild_project(clients, "web-app")
        for name, value in {
            "JOBWARDEN_TABLE": resources.table,
            "JOBWARDEN_TOPIC_ARN": resources.topic_arn,
            "JOBWARDEN_DEADLINE_ROLE_ARN": ROLE_ARN,
            "JOBWARDEN_DEADLINE_GROUP": GROUP,
            "JOBWARDEN_SWEEP_FUNCTIONS": json.dumps({"codebuild": SWEEP_ARN}),
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            monkeypatch.setenv(name, value)
        fill = emulator.fill("codebuild")

        def start(ago: timedelta, running_after: timedelta) -> str:
            with time_machine.travel(now - ago, tick=False):
                build = clients.client("codebuild").start_build(projectName="web-app")["build"]
            with time_machine.travel(now - ago + running_after, tick=False):
                fill.advance(build["id"], "BUILD")
            return str(build["id"])

        # Queued 20 minutes, then running 40: a check at the event's guess is early.
        early = start(timedelta(minutes=60), timedelta(minutes=20))
        over = start(timedelta(minutes=90), timedelta(minutes=1))
        invoke_events = LambdaContext(
            f"arn:aws:lambda:{REGION}:123456789012:function:jobwarden-events"
        )
        invoke_sweep = LambdaContext(SWEEP_ARN)
        events.runtime.cache_clear()
        sweep.runtime.cache_clear()
        try:
            with recorder.recording(calls.by_events):
                for build_id, ago in ((early, 60), (over, 90)):
                    started = now - timedelta(minutes=ago)
                    event = build_event("IN_PROGRESS", build_id, now, started)
                    assert events.handler(event, invoke_events)["kind"] == "entered"
            with recorder.recording(calls.by_sweeps):
                for check in (early, over):  # the deadlines fire: move one, stop the other
                    job = {"service": "codebuild", "region": REGION, "job_id": check}
                    sweep.handler({"check": job}, invoke_sweep)
                sweep.handler({"service": "codebuild"}, invoke_sweep)  # a full listing
                fill.finish(early)  # its end event is lost; the next sweep finds it ended
                sweep.handler({"service": "codebuild"}, invoke_sweep)
            with recorder.recording(calls.by_events):
                late = build_event("SUCCEEDED", over, now + timedelta(minutes=1), now)
                assert events.handler(late, invoke_events)["kind"] in {"left", "ignored"}
                # A job that ends before its deadline: the events function deletes it.
                for status in ("IN_PROGRESS", "SUCCEEDED"):
                    event = build_event(status, "web-app:quick", now, now)
                    events.handler(event, invoke_events)
        finally:
            events.runtime.cache_clear()
            sweep.runtime.cache_clear()
    return calls


def test_every_call_the_handlers_make_is_granted(
    default_synth: Synth, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "codebuild" not in default_synth.sweep_functions():
        pytest.skip("drives the codebuild adapter")
    events_id, _ = default_synth.events_function()
    sweep_id, _ = default_synth.sweep_functions()["codebuild"]
    calls = run_scenario(recorder, monkeypatch)

    # The scenario reached the calls this test is about.
    assert {
        "ssm:GetParametersByPath",
        "dynamodb:UpdateItem",
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
    } <= calls.by_events, calls.by_events
    assert {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "scheduler:UpdateSchedule",
        "scheduler:DeleteSchedule",
        "codebuild:StopBuild",
        "sns:Publish",
    } <= calls.by_sweeps, calls.by_sweeps
    assert calls.by_events - granted(default_synth, events_id) == set()
    assert calls.by_sweeps - granted(default_synth, sweep_id) == set()
    for action, request in recorder.requests:
        if action.startswith("scheduler:"):
            assert request["GroupName"] == GROUP
        if action in {"scheduler:CreateSchedule", "scheduler:UpdateSchedule"}:
            assert request["Target"]["RoleArn"] == ROLE_ARN  # the one role PassRole allows
            assert request["Target"]["Arn"] == SWEEP_ARN  # what the Scheduler role invokes

"""How far past its limit does a stuck build run, and what does watching cost?

Seeds the same CodeBuild workload twice in the emulated account and drives it through the
real Lambda handlers with a simulated clock (time-machine), in 10-second steps:

  sweeps only      the sweep function every 5 minutes, each listing the builds in full
  with deadlines   the events function fed each build's state changes; one-time deadline
                   checks fired at their scheduled instant; sweeps every 5 minutes reading the
                   indexed builds, with a full listing every 30 minutes

and reports, for the builds stopped over their limit, how long after the limit the stop
landed, and the AWS API calls each way (per simulated hour, by operation). Run: `make bench`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import mean
from typing import Any

import time_machine
from botocore.handlers import BUILTIN_HANDLERS

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")  # before the handlers make their loggers

from jobwarden.aws import Clients
from jobwarden.handlers import events, sweep
from jobwarden.local.account import (
    create_codebuild_project,
    create_resources,
    put_policy,
    put_settings,
)
from jobwarden.local.emulator import emulated_account

REGION = "us-east-1"
SWEEP_ARN = "arn:aws:lambda:us-east-1:123456789012:function:jobwarden-sweep-codebuild"
ROLE_ARN = "arn:aws:iam::123456789012:role/jobwarden-deadlines"
GROUP = "jobwarden-deadlines"
LIMIT_MINUTES = 60
STEP = timedelta(seconds=10)
SWEEP_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Build:
    project: str
    submit: datetime
    queued: timedelta
    runs_for: timedelta  # how long it would run if nobody stopped it

    @property
    def limit_passed_at(self) -> datetime:
        return self.submit + self.queued + timedelta(minutes=LIMIT_MINUTES)


def workload(start: datetime, hours: int, builds: int, seed: int) -> list[Build]:
    """Builds submitted over the window; one in four hangs and would run five hours."""
    rng = random.Random(seed)
    plan = []
    for n in range(builds):
        submit = start + timedelta(seconds=rng.uniform(0, hours * 3600 * 0.75))
        hangs = rng.random() < 0.25
        minutes = 300 if hangs else rng.uniform(5, 50)
        queued = timedelta(seconds=rng.uniform(10, 120))
        plan.append(Build(f"app-{n % 8}", submit, queued, timedelta(minutes=minutes)))
    return sorted(plan, key=lambda b: b.submit)


class CallCounter:
    """Counts every AWS API call a client makes while `on`, by (service, operation)."""

    def __init__(self) -> None:
        self.on = False
        self.calls: Counter[str] = Counter()
        # before-parameter-build runs for every call, whoever answers it (moto or a fill).
        BUILTIN_HANDLERS.append(("before-parameter-build", self))

    def __call__(self, model: Any, **_: Any) -> None:
        if self.on:
            self.calls[f"{model.service_model.service_name}:{model.name}"] += 1


@dataclass
class Context:
    """What the handlers read of Lambda's context: each invocation its own request id."""

    invoked_function_arn: str
    function_name: str = "jobwarden"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 300_000  # the sweep function's timeout: no simulated invocation runs out


def state_event(status: str, build_id: str, at: datetime, submitted: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"{build_id}-{status}",
        "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild",
        "account": "123456789012",
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:codebuild:{REGION}:123456789012:build/{build_id}"],
        "detail": {
            "build-status": status,
            "project-name": build_id.split(":", 1)[0],
            "build-id": f"arn:aws:codebuild:{REGION}:123456789012:build/{build_id}",
            "additional-information": {
                "build-start-time": submitted.strftime("%b %-d, %Y %-I:%M:%S %p"),
                "build-complete": status != "IN_PROGRESS",
            },
            "current-phase": "COMPLETED" if status != "IN_PROGRESS" else "SUBMITTED",
            "version": "1",
        },
    }


class Simulation:
    """One simulated window in a fresh emulated account, driven through the handlers."""

    def __init__(self, plan: list[Build], deadlines: bool, counter: CallCounter) -> None:
        self.plan = plan
        self.deadlines = deadlines
        self.counter = counter
        self.ids: dict[int, str] = {}
        self.started: set[int] = set()
        self.finished: set[int] = set()

    def run(self, start: datetime, hours: int) -> tuple[list[float], Counter[str]]:
        """Returns the overruns (seconds) of the stopped builds and the calls made."""
        self.counter.calls.clear()
        with emulated_account() as emulator:
            self.clients = Clients(default_region=REGION)
            self._set_up()
            self.fill = emulator.fill("codebuild")
            now, next_sweep = start, start
            while now <= start + timedelta(hours=hours):
                with time_machine.travel(now, tick=False):
                    self._step(now)
                    if now >= next_sweep:
                        self._invoke(sweep, {}, SWEEP_ARN)
                        next_sweep += SWEEP_EVERY
                now += STEP
            overruns = []
            for n, build_id in self.ids.items():
                found = self.fill._find(build_id)
                if found["buildStatus"] == "STOPPED":
                    late = found["endTime"] - self.plan[n].limit_passed_at
                    overruns.append(late.total_seconds())
        return overruns, Counter(self.counter.calls)

    def _set_up(self) -> None:
        clients = self.clients
        resources = create_resources(clients)
        put_settings(clients, {"mode": "enforce", "max_stops_per_window": 100})
        put_policy(clients, "one-hour", {"limits": {"max_run_minutes": LIMIT_MINUTES}})
        self.scheduler = clients.client("scheduler")
        self.scheduler.create_schedule_group(Name=GROUP)
        for project in sorted({b.project for b in self.plan}):
            create_codebuild_project(clients, project)
        os.environ.update(
            {
                "JOBWARDEN_TABLE": resources.table,
                "JOBWARDEN_TOPIC_ARN": resources.topic_arn,
                "JOBWARDEN_SERVICE": "codebuild",
                # Without deadlines configured, sweeps keep no index and list in full.
                "JOBWARDEN_DEADLINE_ROLE_ARN": ROLE_ARN if self.deadlines else "",
                "JOBWARDEN_SWEEP_FUNCTIONS": json.dumps({"codebuild": SWEEP_ARN}),
            }
        )
        sweep.runtime.cache_clear()
        events.runtime.cache_clear()
        self.codebuild = clients.client("codebuild")

    def _step(self, now: datetime) -> None:
        """Submit, start and finish builds due by `now`, then fire the deadlines due."""
        for n, build in enumerate(self.plan):
            if n not in self.ids and build.submit <= now:
                self.ids[n] = self.codebuild.start_build(projectName=build.project)["build"]["id"]
                self._event("IN_PROGRESS", self.ids[n], now, now)
            if n in self.ids and n not in self.started and build.submit + build.queued <= now:
                self.started.add(n)
                self.fill.advance(self.ids[n], "BUILD")
            done_at = build.submit + build.queued + build.runs_for
            if n in self.started and n not in self.finished and done_at <= now:
                self.finished.add(n)
                if self.fill._find(self.ids[n])["buildStatus"] == "IN_PROGRESS":
                    self.fill.finish(self.ids[n])
                    self._event("SUCCEEDED", self.ids[n], now, build.submit)
        if self.deadlines:
            self._fire_due_schedules(now)

    def _event(self, status: str, build_id: str, now: datetime, submitted: datetime) -> None:
        if self.deadlines:
            self._invoke(events, state_event(status, build_id, now, submitted), "events")

    def _fire_due_schedules(self, now: datetime) -> None:
        """What EventBridge Scheduler does: invoke the target, then delete the schedule."""
        for schedule in self.scheduler.list_schedules(GroupName=GROUP)["Schedules"]:
            detail = self.scheduler.get_schedule(Name=schedule["Name"], GroupName=GROUP)
            at = datetime.strptime(detail["ScheduleExpression"], "at(%Y-%m-%dT%H:%M:%S)")
            if at.replace(tzinfo=UTC) <= now:
                self.scheduler.delete_schedule(Name=schedule["Name"], GroupName=GROUP)
                self._invoke(sweep, json.loads(detail["Target"]["Input"]), SWEEP_ARN)

    def _invoke(self, function: Any, event: Any, arn: str) -> None:
        self.counter.on = True
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the metrics' EMF lines
                function.handler(event, Context(arn))
        finally:
            self.counter.on = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=4)
    parser.add_argument("--builds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    plan = workload(start, args.hours, args.builds, args.seed)
    hung = sum(1 for b in plan if b.runs_for > timedelta(minutes=LIMIT_MINUTES))
    counter = CallCounter()
    print(
        f"workload: {len(plan)} builds over {args.hours} h, {hung} would pass the "
        f"{LIMIT_MINUTES} min limit (seed {args.seed}); clock steps of {STEP.seconds} s\n"
    )
    rows = []
    for label, deadlines in (("sweeps only", False), ("with deadlines", True)):
        began = time.perf_counter()
        overruns, calls = Simulation(plan, deadlines, counter).run(start, args.hours)
        seconds = time.perf_counter() - began
        per_hour = sum(calls.values()) / args.hours
        rows.append((label, overruns, calls, per_hour, seconds))
    print(
        f"{'mode':16} {'stopped':>7} {'overrun mean':>13} {'overrun max':>12} "
        f"{'API calls/h':>12} {'wall s':>7}"
    )
    for label, overruns, _, per_hour, seconds in rows:
        average = mean(overruns) / 60 if overruns else 0.0
        worst = max(overruns, default=0.0) / 60
        print(
            f"{label:16} {len(overruns):>7} {average:>10.1f} min "
            f"{worst:>8.1f} min {per_hour:>12.1f} {seconds:>7.1f}"
        )
    print("\nAPI calls per simulated hour, by operation:")
    operations = sorted(set().union(*(calls for _, _, calls, _, _ in rows)))
    print(f"  {'operation':40} " + " ".join(f"{label:>15}" for label, *_ in rows))
    for operation in operations:
        counts = " ".join(f"{calls[operation] / args.hours:>15.1f}" for _, _, calls, _, _ in rows)
        print(f"  {operation:40} {counts}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of the whole run: {peak:.0f} MiB")


if __name__ == "__main__":
    main()

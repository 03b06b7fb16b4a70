"""The fault lab: the real Lambda handlers against the emulated account, with faults injected
on the wire (`before-send`), where botocore's own retry handler sees them as it would a real
service's answers.

Each test seeds CodeBuild with 3 stuck builds (running 2 h against a 60-minute limit), 3
healthy ones (10 min) and 1 exempt stuck one, breaks something during one or more sweeps,
then lets clean sweeps run after every lease has passed, and asserts:
  decisions lost: 0  every stuck build stopped, each with one settled `stopped` decision and
                     at least one alert; no decision left open, no alert left in the outbox
  wrong stops: 0     no healthy or exempt build stopped, no build stopped twice
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.endpoint
import pytest
import time_machine
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.retries.bucket import TokenBucket
from jobwarden.aws import Clients
from jobwarden.handlers import sweep
from jobwarden.local.account import (
    create_codebuild_project,
    create_resources,
    put_policy,
    put_settings,
    received_alerts,
)
from jobwarden.local.emulator import WIRE, RawBody, emulated_account, query_error

from tests.conftest import LambdaContext, alert_bodies

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LIMIT_MINUTES = 60
SWEEP_ARN = "arn:aws:lambda:us-east-1:123456789012:function:jobwarden-sweep-codebuild"


class Killed(BaseException):
    """The process ended here (Lambda's timeout, an out-of-memory kill): nothing after runs,
    no `except Exception` sees it."""


def error_response(request: Any, event_name: str, status: int, code: str) -> AWSResponse:
    """An error as the service's protocol sends it: XML for SNS (query), JSON for the rest."""
    if ".sns." in event_name:
        return query_error(request.url, status, code)
    body = json.dumps({"__type": code, "message": "injected"}).encode()
    headers = {"x-amzn-errortype": code, "content-type": "application/x-amz-json-1.1"}
    return AWSResponse(request.url, status, headers, RawBody(body))


def body_of(request: Any) -> str:
    data = request.body
    if data is None:
        return ""
    return data.decode() if isinstance(data, bytes) else str(data)


@dataclass
class Fault:
    """One injected fault: on calls whose event names `operation` (e.g. "codebuild.StopBuild",
    "dynamodb.PutItem", "dynamodb." for all of a service's) and whose body contains `when`,
    after the first `after` such calls, at most `times` times (None: forever). `hook` runs
    once in place of the fault (a racing sweep, another fault switched on)."""

    operation: str
    kind: str  # throttle | error500 | applied_then_500 | lost | down | kill_before | kill_after
    times: int | None = None
    after: int = 0
    when: str = ""
    seen: int = 0
    fired: int = 0
    hook: Callable[[], None] | None = None  # run (once) when it fires, e.g. a racing sweep

    def __call__(self, request: Any, event_name: str, deliver: Any) -> Any:
        if self.operation not in event_name or self.when not in body_of(request):
            return None
        self.seen += 1
        if self.seen <= self.after or (self.times is not None and self.fired >= self.times):
            return None
        self.fired += 1
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
            return None
        if self.kind == "throttle":
            return error_response(request, event_name, 400, "ThrottlingException")
        if self.kind == "error500":
            return error_response(request, event_name, 500, "InternalServerError")
        if self.kind == "down":
            raise EndpointConnectionError(endpoint_url=request.url)
        if self.kind == "kill_before":
            raise Killed(f"killed before {self.operation}")
        answer = deliver(request, event_name)  # applied: only its answer is lost or replaced
        if self.kind == "applied_then_500":
            return error_response(request, event_name, 500, "InternalServerError")
        if self.kind == "lost":
            raise ReadTimeoutError(endpoint_url=request.url)
        if self.kind == "kill_after":
            raise Killed(f"killed after {self.operation}")
        return answer


@dataclass
class Lab:
    clients: Clients
    emulator: Any
    resources: Any
    traveller: Any
    stuck: list[str] = field(default_factory=list)
    healthy: list[str] = field(default_factory=list)
    exempt: list[str] = field(default_factory=list)
    now: datetime = T0
    backoff: list[float] = field(default_factory=list)  # the sleeps botocore's retries asked for
    alerts: list[dict[str, Any]] = field(default_factory=list)

    # --- faults and time ---------------------------------------------------------------------

    def inject(self, operation: str, kind: str, **options: Any) -> Fault:
        fault = Fault(operation, kind, **options)
        WIRE.faults.append(fault)
        return fault

    def heal(self) -> None:
        WIRE.faults.clear()

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)
        self.traveller.move_to(self.now)

    # --- the Lambda functions ----------------------------------------------------------------

    def invoke(
        self,
        request_id: str,
        event: dict[str, Any] | None = None,
        *,
        cold: bool = True,
        seconds: float = 300.0,
    ) -> dict[str, Any] | BaseException:
        """One invocation of the sweep function; its result, or what ended it. A cold start
        builds a new runtime (a new process); a warm one keeps the parameter cache. Its time
        left shrinks by botocore's retry sleeps, and at zero Lambda ends it (Killed)."""
        if cold:
            sweep.runtime.cache_clear()
        start = len(self.backoff)

        def remaining_ms() -> int:
            return int((seconds - sum(self.backoff[start:])) * 1000)

        def lambda_timeout(request: Any, event_name: str, deliver: Any) -> Any:
            if remaining_ms() <= 0:
                raise Killed("Lambda ended the invocation: Task timed out")
            return None

        WIRE.faults.insert(0, lambda_timeout)
        context = LambdaContext(
            invoked_function_arn=SWEEP_ARN, aws_request_id=request_id, remaining_ms=remaining_ms
        )
        try:
            return sweep.handler(event or {"source": "aws.events"}, context)
        except BaseException as ended:  # noqa: BLE001 - a failed or killed invocation is data here
            return ended
        finally:
            WIRE.faults.remove(lambda_timeout)

    def check(self, build_id: str, request_id: str, **options: Any) -> Any:
        event = {"check": {"service": "codebuild", "region": "us-east-1", "job_id": build_id}}
        return self.invoke(request_id, event, **options)

    def recover(self, sweeps: int = 2) -> None:
        """Faults gone; clean sweeps once every lease has run out."""
        self.heal()
        for n in range(sweeps):
            self.advance(7)
            self.invoke(f"recovery-{n}")

    # --- what the account shows ----------------------------------------------------------------

    def status(self, build_id: str) -> str:
        builds = self.emulator.fill("codebuild").builds["us-east-1"]
        return str(builds[build_id]["buildStatus"])

    def items(self) -> list[dict[str, Any]]:
        table = self.clients.dynamodb_table(self.resources.table)
        found: list[dict[str, Any]] = []
        scan: dict[str, Any] = {}
        while True:
            page = table.scan(**scan)
            found.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return found
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def decisions(self, build_id: str, action: str = "stop") -> list[dict[str, Any]]:
        return [
            i
            for i in self.items()
            if i["pk"] == f"codebuild#us-east-1#{build_id}" and i["sk"] == f"decision#{action}"
        ]

    def received(self) -> list[dict[str, Any]]:
        queued = received_alerts(self.clients, self.resources.queue_url)
        self.alerts.extend(alert_bodies(queued))  # each entry, alone or in a digest
        return self.alerts

    def assert_nothing_lost_and_nothing_wrong(self) -> None:
        items = self.items()
        alerts = self.received()
        for build_id in self.stuck:
            assert self.status(build_id) == "STOPPED", build_id
            (decision,) = self.decisions(build_id)  # one decision: never stopped twice
            assert (decision["state"], decision["outcome"]) == ("settled", "stopped"), decision
            assert any(a.get("job_id") == build_id and a["outcome"] == "stopped" for a in alerts), (
                f"no alert for {build_id}"
            )
        for build_id in self.healthy + self.exempt:
            assert self.status(build_id) == "IN_PROGRESS", build_id
            assert not [a for a in alerts if a.get("job_id") == build_id], build_id
        assert [i for i in items if "open" in i] == [], "a decision is still open"
        assert [i for i in items if "outbox" in i] == [], "an alert was never delivered"


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """The emulated account on a simulated clock, the sweep function's environment, and
    botocore's retry sleeps recorded instead of slept (its client-side pacing, which sleeps on
    a real clock, is switched off: we test its retries, not its rate)."""
    backoff: list[float] = []

    class RecordedTime:
        def __getattr__(self, name: str) -> Any:
            import time

            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            backoff.append(seconds)

    monkeypatch.setattr(botocore.endpoint, "time", RecordedTime())
    monkeypatch.setattr(TokenBucket, "acquire", lambda self, amount=1, block=True: True)
    with time_machine.travel(T0, tick=False) as traveller, emulated_account() as emulator:
        clients = Clients(default_region="us-east-1")
        resources = create_resources(clients)
        monkeypatch.setenv("JOBWARDEN_TABLE", resources.table)
        monkeypatch.setenv("JOBWARDEN_TOPIC_ARN", resources.topic_arn)
        monkeypatch.setenv("JOBWARDEN_SERVICE", "codebuild")
        put_settings(clients, {"mode": "enforce"})
        put_policy(clients, "one-hour", {"limits": {"max_run_minutes": LIMIT_MINUTES}})
        lab = Lab(clients, emulator, resources, traveller, backoff=backoff)
        seed(lab)
        yield lab
        WIRE.faults.clear()
        sweep.runtime.cache_clear()


def seed(lab: Lab) -> None:
    fill = lab.emulator.fill("codebuild")
    codebuild = lab.clients.client("codebuild")
    create_codebuild_project(lab.clients, "nightly-etl")
    create_codebuild_project(lab.clients, "backfill", {"jobwarden:exempt": "true"})

    def start(project: str, ago: timedelta) -> str:
        lab.traveller.move_to(T0 - ago)
        build_id: str = codebuild.start_build(projectName=project)["build"]["id"]
        lab.traveller.move_to(T0 - ago + timedelta(minutes=1))
        fill.advance(build_id, "BUILD")
        return build_id

    lab.stuck = [start("nightly-etl", timedelta(hours=2, minutes=n)) for n in range(3)]
    lab.healthy = [start("nightly-etl", timedelta(minutes=10 + n)) for n in range(3)]
    lab.exempt = [start("backfill", timedelta(hours=2))]
    lab.traveller.move_to(T0)

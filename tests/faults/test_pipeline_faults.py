"""The operator's worst day, row by row: each fault, then recovery, then decisions lost: 0 and
wrong stops: 0 (see conftest.py). The README's "What survives what" is this file's table."""

from __future__ import annotations

import pytest
from jobwarden.handlers import sweep as sweep_module
from jobwarden.local.account import put_settings

from tests.faults.conftest import Killed, Lab

# Every call class the pipeline makes, by the operation's event name and a body fragment that
# picks the call out (the write-ahead PutItem, the settling UpdateItem).
CALL_CLASSES = {
    "listing": ("codebuild.ListBuilds", ""),
    "reading": ("codebuild.BatchGetBuilds", ""),
    "stopping": ("codebuild.StopBuild", ""),
    "write-ahead": ("dynamodb.PutItem", "decision#stop"),
    "settling": ("dynamodb.UpdateItem", ":outcome"),
    "alerting": ("sns.Publish", ""),
    "settings": ("ssm.GetParameter", ""),
}


@pytest.mark.parametrize("call", sorted(CALL_CLASSES))
def test_throttling_past_the_retry_budget_on_each_call_class(lab: Lab, call: str) -> None:
    operation, when = CALL_CLASSES[call]
    fault = lab.inject(operation, "throttle", when=when)
    lab.invoke("throttled")
    assert fault.fired >= 2, "botocore retried on the wire"
    assert lab.backoff, "and backed off between the attempts"
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


@pytest.mark.parametrize(
    ("operation", "when"),
    [
        ("dynamodb.PutItem", "decision#stop"),  # the write-ahead record
        ("dynamodb.UpdateItem", ":outcome"),  # the settle
        ("codebuild.StopBuild", ""),  # the stop itself
        ("dynamodb.PutItem", "entry#"),  # an entry written once per key
    ],
)
def test_a_500_after_the_write_was_applied_is_retried_harmlessly(
    lab: Lab, operation: str, when: str
) -> None:
    fault = lab.inject(operation, "applied_then_500", when=when, times=1)
    if when == "entry#":  # make an entry to write: one build the service refuses to stop
        lab.inject("codebuild.StopBuild", "error500", times=None, after=2)
    lab.invoke("first")
    assert fault.fired == 1
    lab.recover()
    if when == "entry#":
        failures = [i for i in lab.items() if i["sk"].startswith("entry#")]
        assert len(failures) == len({i["reason"] for i in failures})  # each failure once
    lab.assert_nothing_lost_and_nothing_wrong()


def test_a_lost_stop_response_is_our_stop_not_already_finished(lab: Lab) -> None:
    lab.inject("codebuild.StopBuild", "lost", times=3)
    summary = lab.invoke("lossy")
    assert isinstance(summary, dict)
    assert summary["stopped"] == 3
    for build_id in lab.stuck:
        assert lab.decisions(build_id)[0]["outcome"] == "stopped"
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


def test_dynamodb_down_after_the_stop(lab: Lab) -> None:
    """DynamoDB goes down as the first stop is sent: that stop lands, nothing can be settled,
    and nothing else is stopped without its record."""
    first_stop = lab.inject("codebuild.StopBuild", "pass", times=1)
    first_stop.hook = lambda: lab.inject("dynamodb.", "down")
    ended = lab.invoke("dynamo-down")
    assert not isinstance(ended, dict) or ended["errors"] > 0
    assert sum(lab.status(b) == "STOPPED" for b in lab.stuck) == 1
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


def test_sns_down_for_a_whole_sweep_delays_alerts_and_loses_none(lab: Lab) -> None:
    lab.inject("sns.Publish", "down")
    summary = lab.invoke("sns-down")
    assert isinstance(summary, dict)
    assert summary["stopped"] == 3
    assert summary["undelivered"] == 3  # the AlertsUndelivered alarm's metric
    assert lab.received() == []
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


@pytest.mark.parametrize(
    ("operation", "when"),
    [
        ("dynamodb.PutItem", "decision#stop"),  # died after the write-ahead, before the stop
        ("codebuild.StopBuild", ""),  # died after the stop, before it was settled
        ("dynamodb.UpdateItem", ":outcome"),  # died after the settle, before the alert
    ],
)
def test_the_process_dying_at_each_step(lab: Lab, operation: str, when: str) -> None:
    lab.inject(operation, "kill_after", when=when, times=1)
    assert isinstance(lab.invoke("doomed"), Killed)
    open_now = [i for i in lab.items() if "open" in i]
    assert len(open_now) <= 1  # at most the one decision it held, under its lease
    lab.advance(1)
    busy = lab.invoke("too-soon")  # a sweep inside the dead owner's lease keeps off it
    assert isinstance(busy, dict)
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


def test_a_lambda_timeout_in_the_middle_of_the_stops(lab: Lab) -> None:
    """Every StopBuild throttled: botocore backs off until Lambda's 300 s run out."""
    lab.inject("codebuild.StopBuild", "throttle")
    ended = lab.invoke("slow", seconds=60)
    assert isinstance(ended, Killed) or (isinstance(ended, dict) and ended["deferred"] >= 1)
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


def test_two_sweeps_and_a_deadline_check_racing(lab: Lab) -> None:
    """While the first sweep is about to stop its first build, a second sweep and a deadline
    check for that build run to the end (reserved concurrency aside: a CLI scan, a retry)."""
    racing: list[object] = []

    def race() -> None:
        racing.append(lab.invoke("second-sweep", cold=True))
        racing.append(lab.check(lab.stuck[0], "deadline-check", cold=True))

    lab.inject("codebuild.StopBuild", "pass", times=1).hook = race
    first = lab.invoke("first-sweep")
    assert isinstance(first, dict)
    assert all(isinstance(r, dict) for r in racing)
    assert first["busy"] + sum(r["busy"] for r in racing if isinstance(r, dict)) >= 1
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


def test_the_kill_switch_set_between_two_invocations_of_a_warm_function(lab: Lab) -> None:
    assert isinstance(lab.invoke("warm-0", cold=True), dict)  # stops the three: warm now
    late = seed_more_stuck(lab)
    put_settings(lab.clients, {"mode": "enforce", "kill_switch": True})
    lab.advance(1)
    summary = lab.invoke("warm-1", cold=False)  # same process: policies from its cache
    assert isinstance(summary, dict)
    assert summary["stopped"] == 0
    assert lab.status(late) == "IN_PROGRESS"
    (held,) = [i for i in lab.items() if i.get("verdict") == "held"]
    assert (held["job_id"], held["reason"].endswith("the kill switch is on")) == (late, True)
    put_settings(lab.clients, {"mode": "enforce"})
    lab.stuck.append(late)
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


def test_five_deadline_checks_with_a_budget_of_two(lab: Lab) -> None:
    put_settings(lab.clients, {"mode": "enforce", "max_stops_per_window": 2})
    more = [seed_more_stuck(lab), seed_more_stuck(lab)]
    everyone = lab.stuck + more
    for n, build_id in enumerate(everyone):
        assert isinstance(lab.check(build_id, f"check-{n}"), dict)
    stopped = [b for b in everyone if lab.status(b) == "STOPPED"]
    assert len(stopped) == 2
    held = {i["job_id"] for i in lab.items() if i.get("verdict") == "held"}
    assert held == set(everyone) - set(stopped)
    for build_id in lab.healthy:  # they would be over the limit too an hour from now
        lab.emulator.fill("codebuild").finish(build_id)
    lab.healthy = []
    lab.advance(61)  # the window has passed: the next sweeps may stop the rest
    lab.stuck = everyone
    put_settings(lab.clients, {"mode": "enforce", "max_stops_per_window": 10})
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


def test_lambdas_async_retries_of_a_failed_sweep(lab: Lab) -> None:
    """The invocation dies after its first stop; Lambda retries it (the same request id) at
    once: the retry finishes its own open decision without waiting for the lease, and records
    nothing twice."""
    lab.inject("codebuild.StopBuild", "kill_after", times=1)
    assert isinstance(lab.invoke("async-1"), Killed)
    lab.heal()
    retried = lab.invoke("async-1")
    assert isinstance(retried, dict)
    assert retried["busy"] == 0
    assert sum(lab.status(b) == "STOPPED" for b in lab.stuck) == 3
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()


def seed_more_stuck(lab: Lab) -> str:
    from datetime import timedelta

    codebuild = lab.clients.client("codebuild")
    now = lab.now
    lab.traveller.move_to(now - timedelta(hours=3))
    build_id: str = codebuild.start_build(projectName="nightly-etl")["build"]["id"]
    lab.traveller.move_to(now - timedelta(hours=3) + timedelta(minutes=1))
    lab.emulator.fill("codebuild").advance(build_id, "BUILD")
    lab.traveller.move_to(now)
    return build_id


def test_an_error_is_recorded_and_alerted_once_however_often_lambda_retries_it(lab: Lab) -> None:
    """The listing fails in every region, so the invocation fails and Lambda retries it twice
    (the same request id): one error entry, one error alert."""
    lab.inject("codebuild.ListBuilds", "error500")
    for _ in range(3):  # the invocation and Lambda's two asynchronous retries
        ended = lab.invoke("failing-sweep")
        assert isinstance(ended, sweep_module.SweepFailed)
    errors = [i for i in lab.items() if i.get("verdict") == "error"]
    assert len(errors) == 1
    assert [a["verdict"] for a in lab.received()] == ["error"]
    lab.recover()
    lab.assert_nothing_lost_and_nothing_wrong()

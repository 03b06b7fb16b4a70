"""The events function: AWS's sample events, the index, and deadline schedules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jobwarden.handlers import events, sweep
from jobwarden.local.account import put_policy, put_settings

from tests.conftest import EVENTS_DIR, LambdaContext, build_event
from tests.conftest import sample_event as sample

SAMPLES = sorted(path.name for path in EVENTS_DIR.glob("*.json"))
SWEEP_ARN = "arn:aws:lambda:us-east-1:123456789012:function:jobwarden-sweep-codebuild"
ROLE_ARN = "arn:aws:iam::123456789012:role/jobwarden-deadlines"


EVENTS_ARN = "arn:aws:lambda:us-east-1:123456789012:function:jobwarden-events"


def lambda_context(invoked_function_arn: str = EVENTS_ARN) -> LambdaContext:
    return LambdaContext(
        invoked_function_arn=invoked_function_arn, function_name="jobwarden-events"
    )


@pytest.fixture
def lambda_env(account, monkeypatch):
    monkeypatch.setenv("JOBWARDEN_TABLE", account.resources.table)
    monkeypatch.setenv("JOBWARDEN_TOPIC_ARN", account.resources.topic_arn)
    monkeypatch.setenv("JOBWARDEN_DEADLINE_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("JOBWARDEN_SWEEP_FUNCTIONS", json.dumps({"codebuild": SWEEP_ARN}))
    account.clients.client("scheduler").create_schedule_group(Name="jobwarden-deadlines")
    put_policy(account.clients, "one-hour", {"limits": {"max_run_minutes": 60}})
    events.runtime.cache_clear()
    sweep.runtime.cache_clear()
    yield account
    events.runtime.cache_clear()
    sweep.runtime.cache_clear()


def schedules(account) -> list[dict[str, Any]]:
    scheduler = account.clients.client("scheduler")
    names = [
        s["Name"] for s in scheduler.list_schedules(GroupName="jobwarden-deadlines")["Schedules"]
    ]
    return [scheduler.get_schedule(Name=n, GroupName="jobwarden-deadlines") for n in names]


def index_items(account) -> list[dict[str, Any]]:
    table = account.clients.dynamodb_table(account.resources.table)
    return [i for i in table.scan()["Items"] if i["pk"].startswith("active#")]


@pytest.mark.parametrize("name", SAMPLES)
def test_every_documented_sample_is_handled_without_raising(lambda_env, name):
    reaction = events.handler(sample(name), lambda_context())
    assert reaction["kind"] in {"entered", "updated", "left", "ignored", "malformed"}


def test_codebuild_sample_ends_a_job_and_its_quirky_start_time_is_read(lambda_env):
    reaction = events.handler(
        sample("codebuild_build_state_change_succeeded.json"), lambda_context()
    )
    assert reaction == {
        "kind": "left",
        "service": "codebuild",
        "job_id": "my-sample-project:8745a7a9-c340-456a-9166-edf953571bEX",
    }
    (item,) = index_items(lambda_env)
    assert item["first_seen"] == "2017-09-01T16:12:29+00:00"  # "Sep 1, 2017 4:12:29 PM"
    assert item["state"] == "SUCCEEDED"


def test_phase_change_events_are_not_subscribed(lambda_env):
    reaction = events.handler(sample("codebuild_build_phase_change.json"), lambda_context())
    assert reaction["kind"] == "ignored"


@pytest.mark.parametrize(
    "event",
    [
        {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"},
        {},
        "not even an object",
        {"source": "aws.codebuild", "detail-type": "CodeBuild Build State Change", "detail": {}},
    ],
)
def test_unknown_or_malformed_events_are_counted_not_raised(lambda_env, capsys, monkeypatch, event):
    monkeypatch.setenv("JOBWARDEN_DASHBOARD", "true")  # EventsIgnored is a dashboard metric
    reaction = events.handler(event, lambda_context())
    assert reaction["kind"] in {"ignored", "malformed"}
    metrics = [json.loads(row) for row in capsys.readouterr().out.splitlines() if '"_aws"' in row]
    names = {m["Name"] for line in metrics for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names & {"EventsIgnored", "EventsMalformed"}


def test_a_started_job_gets_a_deadline_and_loses_it_when_it_ends(lambda_env):
    now = datetime.now(UTC).replace(microsecond=0)
    started = now - timedelta(minutes=10)
    reaction = events.handler(
        build_event("IN_PROGRESS", "web-app:1", now, started), lambda_context()
    )
    assert reaction["kind"] == "entered"
    deadline = started + timedelta(minutes=60)
    assert reaction["deadline"] == deadline.isoformat()
    (schedule,) = schedules(lambda_env)
    fires = deadline + timedelta(seconds=1)  # the first whole second past the limit
    assert schedule["ScheduleExpression"] == f"at({fires:%Y-%m-%dT%H:%M:%S})"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"] == SWEEP_ARN
    assert schedule["Target"]["RoleArn"] == ROLE_ARN
    assert json.loads(schedule["Target"]["Input"]) == {
        "check": {
            "service": "codebuild",
            "region": "us-east-1",
            "job_id": "web-app:1",
            "name": "web-app",
        }
    }

    ended = events.handler(
        build_event("SUCCEEDED", "web-app:1", now + timedelta(minutes=5), started), lambda_context()
    )
    assert ended["kind"] == "left"
    assert schedules(lambda_env) == []


def test_out_of_order_and_duplicate_events_leave_the_index_right(lambda_env):
    now = datetime.now(UTC).replace(microsecond=0)
    started = now - timedelta(minutes=10)
    running = build_event("IN_PROGRESS", "web-app:2", now, started)
    finished = build_event("FAILED", "web-app:2", now + timedelta(minutes=2), started)

    assert events.handler(finished, lambda_context())["kind"] == "left"  # the end arrives first
    assert events.handler(running, lambda_context())["kind"] == "ignored"  # the late start
    assert events.handler(running, lambda_context())["kind"] == "ignored"  # and again
    assert events.handler(finished, lambda_context())["kind"] == "ignored"  # a duplicate end
    (item,) = index_items(lambda_env)
    assert item["state"] == "FAILED"
    assert "ended_at" in item
    assert schedules(lambda_env) == []


def test_an_older_active_event_does_not_overwrite_a_newer_one(lambda_env):
    now = datetime.now(UTC).replace(microsecond=0)
    started = now - timedelta(minutes=10)
    newer = build_event("IN_PROGRESS", "web-app:3", now, started)
    older = build_event("IN_PROGRESS", "web-app:3", now - timedelta(minutes=1), started)
    older["detail"]["current-phase"] = "QUEUED"
    assert events.handler(newer, lambda_context())["kind"] == "entered"
    assert events.handler(older, lambda_context())["kind"] == "ignored"
    assert events.handler(newer, lambda_context())["kind"] == "updated"  # duplicates are harmless


def test_a_deadline_check_after_the_job_ended_does_nothing(lambda_env):
    lambda_env.project("web-app")
    now = datetime.now(UTC)
    build_id = lambda_env.start_build("web-app", timedelta(hours=2), timedelta(minutes=1), now)
    lambda_env.emulator.fill("codebuild").finish(build_id)
    check = {"check": {"service": "codebuild", "region": "us-east-1", "job_id": build_id}}
    summary = sweep.handler(check, lambda_context(invoked_function_arn=SWEEP_ARN))
    assert (summary["seen"], summary["stopped"], summary["errors"]) == (0, 0, 0)
    assert lambda_env.build(build_id)["buildStatus"] == "SUCCEEDED"
    assert lambda_env.ledger_items() == []


def test_a_deadline_check_stops_a_job_over_its_limit(lambda_env):
    put_settings(lambda_env.clients, {"mode": "enforce"})
    lambda_env.project("web-app")
    now = datetime.now(UTC)
    build_id = lambda_env.start_build("web-app", timedelta(minutes=61), timedelta(seconds=30), now)
    check = {"check": {"service": "codebuild", "region": "us-east-1", "job_id": build_id}}
    summary = sweep.handler(check, lambda_context(invoked_function_arn=SWEEP_ARN))
    assert summary["stopped"] == 1
    assert lambda_env.build(build_id)["buildStatus"] == "STOPPED"


def test_a_deadline_check_too_early_moves_the_deadline(lambda_env):
    put_settings(lambda_env.clients, {"mode": "enforce"})
    lambda_env.project("web-app")
    now = datetime.now(UTC)
    # queued 20 minutes, running 40: the event's guess (start at submission) was early
    build_id = lambda_env.start_build("web-app", timedelta(minutes=60), timedelta(minutes=20), now)
    check = {"check": {"service": "codebuild", "region": "us-east-1", "job_id": build_id}}
    summary = sweep.handler(check, lambda_context(invoked_function_arn=SWEEP_ARN))
    assert summary["stopped"] == 0
    (schedule,) = schedules(lambda_env)
    assert schedule["Target"]["Arn"] == SWEEP_ARN
    deadline = (now - timedelta(minutes=40) + timedelta(minutes=60)).replace(microsecond=0)
    fires = deadline + timedelta(seconds=1)
    assert schedule["ScheduleExpression"] == f"at({fires:%Y-%m-%dT%H:%M:%S})"

"""The Lambda handler, invoked as Lambda would, against the emulated account."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from jobwarden.handlers import sweep
from jobwarden.local.account import put_policy, put_settings

from tests.conftest import LambdaContext


@pytest.fixture
def lambda_env(account, monkeypatch):
    monkeypatch.setenv("JOBWARDEN_TABLE", account.resources.table)
    monkeypatch.setenv("JOBWARDEN_TOPIC_ARN", account.resources.topic_arn)
    monkeypatch.setenv("JOBWARDEN_SERVICE", "codebuild")
    sweep.runtime.cache_clear()
    yield account
    sweep.runtime.cache_clear()


def test_scheduled_sweep_stops_and_emits_metrics(lambda_env, capsys):
    account = lambda_env
    put_settings(account.clients, {"mode": "enforce"})
    put_policy(account.clients, "one-hour", {"limits": {"max_run_minutes": 60}})
    account.project("nightly-etl")
    stuck = account.start_build(
        "nightly-etl", timedelta(hours=2), timedelta(minutes=1), datetime.now(UTC)
    )
    account.start_build(
        "nightly-etl", timedelta(minutes=10), timedelta(minutes=1), datetime.now(UTC)
    )

    summary = sweep.handler({"source": "aws.events"}, LambdaContext())

    assert summary == {
        "service": "codebuild",
        "seen": 2,
        "stopped": 1,
        "notified": 0,
        "errors": 0,
        "busy": 0,
        "recovered": 0,
        "deferred": 0,
        "undelivered": 0,
    }
    assert account.build(stuck)["buildStatus"] == "STOPPED"
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (metrics,) = emf
    assert metrics["service"] == "codebuild"
    assert (metrics["JobsSeen"], metrics["JobsStopped"]) == ([2.0], [1.0])
    # Zeros are not sent: a series costs for every hour it gets a value, zero or not.
    names = {m["Name"] for m in metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {"JobsSeen", "JobsStopped"}
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "JobWarden"


def test_a_sweep_with_nothing_to_say_sends_no_metrics(lambda_env, capsys):
    put_settings(lambda_env.clients, {"mode": "enforce"})

    sweep.handler({"source": "aws.events"}, LambdaContext())

    assert '"_aws"' not in capsys.readouterr().out


def test_the_event_may_name_the_service(lambda_env):
    assert sweep.handler({"service": "codebuild"}, LambdaContext())["seen"] == 0


def test_an_unknown_service_fails_the_invocation(lambda_env):
    with pytest.raises(ValueError, match="unknown service 'ec2'"):
        sweep.handler({"service": "ec2"}, LambdaContext())


def test_listing_failing_everywhere_fails_the_invocation(lambda_env, monkeypatch):
    def broken(self, now):
        raise RuntimeError("AccessDeniedException")

    monkeypatch.setattr("jobwarden.services.codebuild.CodeBuildBuilds.list_active", broken)
    with pytest.raises(sweep.SweepFailed, match="listing failed in every region"):
        sweep.handler({}, LambdaContext())
    (item,) = lambda_env.ledger_items()
    assert item["pk"] == "sweep#codebuild#us-east-1"
    assert "AccessDeniedException" in item["reason"]

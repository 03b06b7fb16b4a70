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


def test_scheduled_sweep_stops_and_emits_metrics(lambda_env, capsys, monkeypatch):
    account = lambda_env
    monkeypatch.setenv("JOBWARDEN_DASHBOARD", "true")
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
    # Zeros are not sent: a series costs for every hour it gets a value, zero or not. With the
    # dashboard, its metrics go per service.
    sent = {
        m["Name"]: (row["service"], row[m["Name"]], row["_aws"]["CloudWatchMetrics"][0])
        for row in emf
        for m in row["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert sorted(sent) == ["JobsSeen", "JobsStopped"]
    for name, value in (("JobsSeen", [2.0]), ("JobsStopped", [1.0])):
        service, sent_value, metadata = sent[name]
        assert (service, sent_value) == ("codebuild", value)
        assert metadata["Namespace"] == "JobWarden"
        assert metadata["Dimensions"] == [["service"]]


def test_without_the_dashboard_a_sweep_sends_only_alarmed_metrics(lambda_env, capsys):
    account = lambda_env
    put_settings(account.clients, {"mode": "enforce"})
    put_policy(account.clients, "one-hour", {"limits": {"max_run_minutes": 60}})
    account.project("nightly-etl")
    account.start_build("nightly-etl", timedelta(hours=2), timedelta(minutes=1), datetime.now(UTC))

    assert sweep.handler({"source": "aws.events"}, LambdaContext())["stopped"] == 1

    assert '"_aws"' not in capsys.readouterr().out  # seen and stopped: dashboard metrics


def test_a_failed_sweep_counts_itself_without_a_dimension(lambda_env, capsys, monkeypatch):
    def broken(*_: object) -> None:
        raise RuntimeError("the ledger is gone")

    monkeypatch.setattr(sweep, "sweep", broken)
    with pytest.raises(RuntimeError, match="the ledger is gone"):
        sweep.handler({"source": "aws.events"}, LambdaContext())

    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert row["FunctionErrors"] == [1.0]
    assert row["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]


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

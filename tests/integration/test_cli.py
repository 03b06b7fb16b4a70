"""`jobwarden` end to end against the emulated account."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from jobwarden.cli import main
from jobwarden.local.account import put_policy, put_settings

from tests.conftest import alert_bodies

HOUR = timedelta(hours=1)


@pytest.fixture
def stuck_build(account):
    put_settings(account.clients, {"mode": "dry_run"})
    put_policy(
        account.clients,
        "nightly-builds",
        {"match": {"names": ["nightly-*"]}, "limits": {"max_run_minutes": 60}},
    )
    account.project("nightly-etl")
    return account.start_build("nightly-etl", 2 * HOUR, timedelta(minutes=2), datetime.now(UTC))


def scan(account, capsys, *extra: str) -> tuple[int, list[dict]]:
    return account.scan(capsys, *extra)  # type: ignore[no-any-return]


def test_enforce_stops_the_stuck_build_and_records_it(account, capsys, stuck_build):
    code, decisions = scan(account, capsys, "--enforce", "--service", "codebuild")
    assert code == 0
    (decision,) = decisions
    assert decision["job_id"] == stuck_build
    assert (decision["verdict"], decision["outcome"], decision["mode"]) == (
        "stop",
        "stopped",
        "enforce",
    )
    assert decision["reason"] == "running 118 min, over the 60 min limit of policy nightly-builds"
    assert account.build(stuck_build)["buildStatus"] == "STOPPED"
    (item,) = account.ledger_items()
    assert (item["job_id"], item["outcome"]) == (stuck_build, "stopped")
    (alert,) = alert_bodies(account.alerts())
    assert (alert["job_id"], alert["outcome"]) == (stuck_build, "stopped")


def test_dry_run_leaves_it_running_and_still_records_it(account, capsys, stuck_build):
    code, decisions = scan(account, capsys, "--service", "codebuild")  # settings say dry_run
    assert code == 0
    assert (decisions[0]["verdict"], decisions[0]["outcome"]) == ("stop", "would_stop")
    assert account.build(stuck_build)["buildStatus"] == "IN_PROGRESS"
    (item,) = account.ledger_items()
    assert (item["outcome"], item["mode"]) == ("would_stop", "dry_run")
    (alert,) = alert_bodies(account.alerts())
    assert alert["outcome"] == "would_stop"


def test_an_error_during_the_sweep_exits_1(account, capsys):
    put_policy(account.clients, "broken", "{not json")
    code, lines = scan(account, capsys, "--service", "codebuild")
    assert code == 1
    assert lines[-1]["verdict"] == "error"
    assert "document broken is invalid" in lines[-1]["reason"]


def test_missing_table_is_bad_usage(capsys, monkeypatch):
    monkeypatch.delenv("JOBWARDEN_TABLE", raising=False)
    assert main(["scan", "--topic-arn", "arn:aws:sns:us-east-1:123456789012:t"]) == 2
    assert "missing --table" in capsys.readouterr().err


def test_unknown_option_is_bad_usage(capsys):
    assert main(["scan", "--service", "ec2"]) == 2


def test_decisions_lists_the_ledger(account, capsys, stuck_build):
    scan(account, capsys, "--enforce")
    common = ["--region", "us-east-1", "--table", account.resources.table]
    assert main(["decisions", *common, "--since", "1h", "--json"]) == 0
    (entry,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (entry["job_id"], entry["outcome"]) == (stuck_build, "stopped")
    assert main(["decisions", *common, "--service", "codebuild", "--since", "1m"]) == 0
    assert "nightly-etl" in capsys.readouterr().out
    assert main(["decisions", *common]) == 0
    assert "nightly-etl" in capsys.readouterr().out


def test_decisions_rejects_a_bad_duration(capsys):
    assert main(["decisions", "--table", "t", "--since", "yesterday"]) == 2
    assert "not a duration" in capsys.readouterr().err


def test_policy_validate_and_push(account, capsys, tmp_path):
    good = tmp_path / "nightly-builds.json"
    good.write_text(json.dumps({"limits": {"max_run_minutes": 60}}))
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps({"limits": {"max_run_minutes": -1}, "action": "kill"}))

    assert main(["policy", "validate", str(good)]) == 0
    assert main(["policy", "validate", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "broken.json: limits.max_run_minutes: must be greater than 0, got -1" in err
    assert "broken.json: action: must be one of stop, notify, got 'kill'" in err

    assert main(["policy", "push", "--region", "us-east-1", str(good), str(bad)]) == 1
    assert "nothing was pushed" in capsys.readouterr().err
    ssm = account.clients.client("ssm")
    assert ssm.get_parameters_by_path(Path="/jobwarden/policies/")["Parameters"] == []

    assert main(["policy", "push", "--region", "us-east-1", str(good)]) == 0
    stored = ssm.get_parameter(Name="/jobwarden/policies/nightly-builds")["Parameter"]["Value"]
    assert json.loads(stored) == {"limits": {"max_run_minutes": 60}}


def test_policy_validate_reports_an_unreadable_file(capsys, tmp_path):
    assert main(["policy", "validate", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err

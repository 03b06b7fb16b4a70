"""A whole Glue sweep through `jobwarden scan`: list, decide, record, stop, alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jobwarden.services.glue  # noqa: F401 - registers the adapter
import pytest
import time_machine
from jobwarden.local.account import put_policy, put_settings
from jobwarden.local.glue import (
    DEMO_POLICIES,
    GlueRunsFill,
    create_glue_job,
    describe_for_demo,
    seed_demo,
)

from tests.conftest import alert_bodies

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def fill(account):
    return account.emulator.add(GlueRunsFill)


@pytest.fixture
def runs(account, fill) -> dict[str, str]:
    """An expensive run (G.2X x 10 for 2 h: $17.60), a cheap one, an exempt expensive one."""
    now = datetime.now(UTC)
    put_settings(account.clients, {"mode": "dry_run"})
    put_policy(
        account.clients,
        "glue-cost",
        {"match": {"services": ["glue"]}, "limits": {"max_cost_usd": 5}},
    )
    create_glue_job(account.clients, "aggregate", {"team": "data"}, worker_type="G.2X", workers=10)
    create_glue_job(account.clients, "ingest", {"team": "data"}, worker_type="G.1X", workers=2)
    create_glue_job(
        account.clients,
        "backfill",
        {"jobwarden:exempt": "true"},
        worker_type="G.2X",
        workers=10,
    )
    glue = account.clients.client("glue")
    started = {}
    for job in ("aggregate", "ingest", "backfill"):
        ago = 2 * HOUR if job != "ingest" else HOUR / 3
        with time_machine.travel(now - ago, tick=False):
            started[job] = glue.start_job_run(JobName=job)["JobRunId"]
        with time_machine.travel(now - ago + timedelta(minutes=1), tick=False):
            fill.advance(started[job], "RUNNING")
    return started


def scan(account, capsys, *extra: str) -> tuple[int, dict[str, dict]]:
    code, lines = account.scan(capsys, "--service", "glue", *extra)
    return code, {line["name"]: line for line in lines}


def state(account, job: str, run_id: str) -> str:
    glue = account.clients.client("glue")
    return glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"]


def test_dry_run_records_and_alerts_but_leaves_the_run_running(account, capsys, runs):
    code, decisions = scan(account, capsys)  # the settings say dry_run
    assert code == 0
    aggregate = decisions["aggregate"]
    assert (aggregate["job_id"], aggregate["verdict"], aggregate["outcome"]) == (
        runs["aggregate"],
        "stop",
        "would_stop",
    )
    # 20 DPU at $0.44 for the 2 h since StartedOn (the start-up minute included).
    assert aggregate["cost_usd"] == pytest.approx(17.6, abs=0.05)
    assert aggregate["reason"].endswith(", over the $5.00 limit of policy glue-cost")
    assert (decisions["ingest"]["verdict"], decisions["backfill"]["verdict"]) == ("ok", "exempt")
    assert all(state(account, job, run) == "RUNNING" for job, run in runs.items())
    (item,) = account.ledger_items()
    assert (item["job_id"], item["outcome"], item["mode"]) == (
        runs["aggregate"],
        "would_stop",
        "dry_run",
    )
    (alert,) = account.alerts()
    assert alert_bodies([alert])[0]["outcome"] == "would_stop"
    assert alert["MessageAttributes"]["service"]["Value"] == "glue"


def test_enforce_stops_the_expensive_run_only(account, capsys, runs):
    code, decisions = scan(account, capsys, "--enforce")
    assert code == 0
    assert (decisions["aggregate"]["verdict"], decisions["aggregate"]["outcome"]) == (
        "stop",
        "stopped",
    )
    assert state(account, "aggregate", runs["aggregate"]) == "STOPPING"
    assert state(account, "ingest", runs["ingest"]) == "RUNNING"
    assert state(account, "backfill", runs["backfill"]) == "RUNNING"
    (item,) = account.ledger_items()
    assert (item["job_id"], item["job_name"], item["outcome"], item["policy"]) == (
        runs["aggregate"],
        "aggregate",
        "stopped",
        "glue-cost",
    )
    (alert,) = alert_bodies(account.alerts())
    assert (alert["job_id"], alert["outcome"], alert["mode"]) == (
        runs["aggregate"],
        "stopped",
        "enforce",
    )

    code, decisions = scan(account, capsys, "--enforce")  # the stopping run is no longer active
    assert code == 0
    assert "aggregate" not in decisions
    assert len(account.ledger_items()) == 1


def test_a_run_that_ends_before_the_stop_is_recorded_as_already_finished(
    account, capsys, runs, fill
):
    """The run ends between the listing and BatchStopJobRun: Glue refuses, the run is re-read."""
    original = fill.batch_stop_job_run

    def finish_first(params, region):
        for run_id in params["JobRunIds"]:
            fill.finish(run_id, "SUCCEEDED")
        return original(params, region)

    fill.batch_stop_job_run = finish_first
    code, decisions = scan(account, capsys, "--enforce")
    assert code == 0
    assert decisions["aggregate"]["outcome"] == "already_finished"
    assert state(account, "aggregate", runs["aggregate"]) == "SUCCEEDED"
    (item,) = account.ledger_items()
    assert item["outcome"] == "already_finished"


def test_the_demo_scenario(account, capsys, fill):
    now = datetime.now(UTC)
    put_settings(account.clients, {"mode": "dry_run"})
    for name, document in DEMO_POLICIES.items():
        put_policy(account.clients, name, document)
    ids = seed_demo(account.emulator, account.clients, now)
    over, healthy = ids.values()

    code, decisions = scan(account, capsys, "--enforce")

    assert code == 0
    assert decisions["nightly-aggregate"]["outcome"] == "stopped"
    assert decisions["hourly-ingest"]["verdict"] == "ok"
    assert describe_for_demo(account.clients, ids) == {over: "STOPPING", healthy: "RUNNING"}

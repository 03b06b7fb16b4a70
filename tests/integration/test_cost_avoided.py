"""Every stop records what it avoided and how: one running job per service, stopped by an
enforce sweep, its ledger entry read back. Each figure is worked out here by hand from the
job's own timeout and the published rate (pricing.py), not from the code under test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from jobwarden.local.account import put_policy, put_settings
from jobwarden.local.amplify import create_app, start_job
from jobwarden.local.batch import create_job_queue, register_job_definition
from jobwarden.local.glue import create_glue_job

MINUTE = timedelta(minutes=1)
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def stop_after_an_hour(account, service: str) -> None:
    put_settings(account.clients, {"mode": "enforce"})
    put_policy(
        account.clients,
        f"{service}-hour",
        {"match": {"services": [service]}, "limits": {"max_run_minutes": 60}},
    )


def stopped_entry(account, capsys, service: str) -> dict:
    with time_machine.travel(NOW, tick=False):
        code, _ = account.scan(capsys, "--service", service)
    assert code == 0
    items = [
        i
        for i in account.ledger_items()
        if i["sk"].startswith("decision#stop") and i["service"] == service
    ]
    assert len(items) == 1, items
    assert items[0]["outcome"] == "stopped"
    return items[0]


def avoided(item: dict) -> tuple[float, float, str]:
    return float(item["cost_avoided_usd"]), float(item["avoided_minutes"]), item["avoided_method"]


def test_codebuild_build_until_its_build_timeout(account, capsys):
    account.project("nightly-etl", timeout_minutes=180)
    account.start_build("nightly-etl", 2 * 60 * MINUTE, 2 * MINUTE, now=NOW)
    stop_after_an_hour(account, "codebuild")

    # running 118 min of its 180: 62 min left at $0.005 a minute (LINUX_CONTAINER SMALL)
    assert avoided(stopped_entry(account, capsys, "codebuild")) == (0.31, 62.0, "timeout")


def test_codebuild_batch_until_its_build_timeout(account, capsys):
    account.project("release-train")
    fill = account.emulator.fill("codebuild-batch")
    with time_machine.travel(NOW - 180 * MINUTE, tick=False):
        batch_id = account.clients.client("codebuild").start_build_batch(
            projectName="release-train", buildTimeoutInMinutesOverride=240
        )["buildBatch"]["id"]
    with time_machine.travel(NOW - 176 * MINUTE, tick=False):
        fill.advance(batch_id, "IN_PROGRESS", builds=2)
    stop_after_an_hour(account, "codebuild-batch")

    # running 176 min of 240: 64 min left, two builds at $0.005 a minute each
    assert avoided(stopped_entry(account, capsys, "codebuild-batch")) == (0.64, 64.0, "timeout")


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        # 120 min run of its 180: 60 min of 20 DPU at $0.44 a DPU-hour
        (180, (8.8, 60.0, "timeout")),
        # Glue's default 2880 min is further off than the day's horizon: 1440 min of 20 DPU
        (None, (211.2, 1440.0, "horizon")),
    ],
)
def test_glue_run_until_its_timeout_or_the_horizon(account, capsys, timeout, expected):
    create_glue_job(
        account.clients,
        "nightly-aggregate",
        worker_type="G.2X",
        workers=10,
        **({"Timeout": timeout} if timeout else {}),
    )
    glue, fill = account.clients.client("glue"), account.emulator.fill("glue")
    with time_machine.travel(NOW - 120 * MINUTE, tick=False):
        run_id = glue.start_job_run(JobName="nightly-aggregate")["JobRunId"]
        fill.advance(run_id, "RUNNING")
    stop_after_an_hour(account, "glue")

    assert avoided(stopped_entry(account, capsys, "glue")) == expected


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        # running 120 min of a 180 min attempt: 60 min of 2 vCPU and 4 GB on Fargate x86
        # (2 x $0.04048 + 4 x $0.004445 = $0.09874 an hour)
        (3 * 3600, (0.1, 60.0, "timeout")),
        # no attemptDurationSeconds: the day's horizon, 24 x $0.09874
        (None, (2.37, 1440.0, "horizon")),
    ],
)
def test_batch_job_until_its_attempt_timeout_or_the_horizon(account, capsys, timeout, expected):
    create_job_queue(account.clients, "analytics")
    register_job_definition(account.clients, "report", vcpus=2, memory_mib=4096, fargate=True)
    batch, fill = account.clients.client("batch"), account.emulator.fill("batch")
    with time_machine.travel(NOW - 121 * MINUTE, tick=False):
        job_id = batch.submit_job(
            jobName="report",
            jobQueue="analytics",
            jobDefinition="report",
            **({"timeout": {"attemptDurationSeconds": timeout}} if timeout else {}),
        )["jobId"]
        for status in ("PENDING", "RUNNABLE", "STARTING"):
            fill.set_status(job_id, status)
    with time_machine.travel(NOW - 120 * MINUTE, tick=False):
        fill.set_status(job_id, "RUNNING")
    stop_after_an_hour(account, "batch")

    assert avoided(stopped_entry(account, capsys, "batch")) == expected


def test_batch_job_stopped_in_its_queue_avoids_nothing_billed(account, capsys):
    create_job_queue(account.clients, "analytics")
    register_job_definition(account.clients, "report", vcpus=2, memory_mib=4096, fargate=True)
    batch, fill = account.clients.client("batch"), account.emulator.fill("batch")
    with time_machine.travel(NOW - 121 * MINUTE, tick=False):
        job_id = batch.submit_job(jobName="report", jobQueue="analytics", jobDefinition="report")[
            "jobId"
        ]
        for status in ("PENDING", "RUNNABLE"):
            fill.set_status(job_id, status)
    put_settings(account.clients, {"mode": "enforce"})
    put_policy(
        account.clients,
        "queue",
        {"match": {"services": ["batch"]}, "limits": {"max_queue_minutes": 60}},
    )
    with time_machine.travel(NOW, tick=False):
        account.scan(capsys, "--service", "batch")
    (item,) = [i for i in account.ledger_items() if i["sk"].startswith("decision#stop")]
    assert (float(item["cost_avoided_usd"]), item["avoided_method"]) == (0.0, "queued")


def test_amplify_job_until_its_build_timeout_variable(account, capsys):
    with time_machine.travel(NOW - 2 * 60 * MINUTE, tick=False):
        app_id = create_app(account.clients, "storefront", branches=())
        account.clients.client("amplify").create_branch(
            appId=app_id, branchName="main", environmentVariables={"_BUILD_TIMEOUT": "90"}
        )
    start_job(
        account.emulator,
        account.clients,
        app_id,
        "main",
        NOW - 72 * MINUTE,
        (MINUTE, "PROVISIONING"),
        (2 * MINUTE, "RUNNING"),
    )
    stop_after_an_hour(account, "amplify")

    # building 70 min of its 90: 20 min at $0.01 a minute (STANDARD_8GB)
    assert avoided(stopped_entry(account, capsys, "amplify")) == (0.2, 20.0, "timeout")


@pytest.fixture
def lambda_env(account, monkeypatch):
    from jobwarden.handlers import sweep

    monkeypatch.setenv("JOBWARDEN_TABLE", account.resources.table)
    monkeypatch.setenv("JOBWARDEN_TOPIC_ARN", account.resources.topic_arn)
    monkeypatch.setenv("JOBWARDEN_SERVICE", "codebuild")
    monkeypatch.setenv("JOBWARDEN_DASHBOARD", "true")  # the money goes to the dashboard only
    sweep.runtime.cache_clear()
    yield account
    sweep.runtime.cache_clear()


def emf_metrics(capsys) -> dict:
    """Every EMF line the sweep printed, merged: the alarmed counts and each per-service
    dashboard metric are lines of their own (`jobwarden.handlers.metrics`)."""
    import json

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    merged: dict = {}
    for line in lines:
        merged.update({k: v for k, v in line.items() if k != "_aws"})
    return merged


@pytest.mark.parametrize(
    ("mode", "metric", "absent"),
    [
        ("enforce", "CostAvoidedUSD", "CostAvoidableUSD"),
        ("dry_run", "CostAvoidableUSD", "CostAvoidedUSD"),
    ],
)
def test_the_sweep_emits_the_money_per_service(lambda_env, capsys, mode, metric, absent):
    from jobwarden.handlers import sweep

    from tests.conftest import LambdaContext

    account = lambda_env
    account.project("nightly-etl", timeout_minutes=180)
    account.start_build("nightly-etl", 2 * 60 * MINUTE, 2 * MINUTE, now=NOW)
    stop_after_an_hour(account, "codebuild")
    put_settings(account.clients, {"mode": mode})
    with time_machine.travel(NOW, tick=False):
        sweep.handler({"source": "aws.events"}, LambdaContext())

    metrics = emf_metrics(capsys)
    assert metrics["service"] == "codebuild"
    assert metrics[metric] == [0.31]
    assert absent not in metrics


def test_no_money_metric_when_a_stop_saved_nothing(lambda_env, capsys):
    from jobwarden.handlers import sweep

    from tests.conftest import LambdaContext

    account = lambda_env
    account.project("nightly-etl")  # the default 60 min timeout, already passed
    account.start_build("nightly-etl", 2 * 60 * MINUTE, 2 * MINUTE, now=NOW)
    stop_after_an_hour(account, "codebuild")
    with time_machine.travel(NOW, tick=False):
        assert sweep.handler({"source": "aws.events"}, LambdaContext())["stopped"] == 1

    metrics = emf_metrics(capsys)
    assert "CostAvoidedUSD" not in metrics
    assert "CostAvoidableUSD" not in metrics


def test_report_reads_the_money_back_from_the_ledger(account, capsys, tmp_path):
    from jobwarden.cli import main

    account.project("nightly-etl", {"team": "data"}, timeout_minutes=180)
    account.start_build("nightly-etl", 2 * 60 * MINUTE, 2 * MINUTE, now=NOW)
    stop_after_an_hour(account, "codebuild")
    stopped_entry(account, capsys, "codebuild")
    common = ["report", "--region", "us-east-1", "--table", account.resources.table]
    plot = tmp_path / "saved.svg"

    with time_machine.travel(NOW + MINUTE, tick=False):
        assert main([*common, "--by", "team", "--plot", str(plot)]) == 0
        text = capsys.readouterr().out.splitlines()
        assert main([*common, "--json"]) == 0
        data = __import__("json").loads(capsys.readouterr().out)

    assert text[2].split()[:2] == ["data", "1"]
    assert "$0.31" in text[2]
    assert text[-1].startswith("TOTAL")
    assert data["rows"][0]["key"] == "codebuild"
    assert (data["total"]["stops"], data["total"]["avoided_usd"]) == (1, 0.31)
    assert "<svg" in plot.read_text()

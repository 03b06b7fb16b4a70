"""Queue limits by reason where other services say why a job waits: Glue WAITING (behind
MaxConcurrentRuns or for capacity) vs STARTING, Amplify PENDING (behind the branch's build)
vs PROVISIONING, CodeBuild QUEUED; the reason in the sentence and the alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jobwarden.services.amplify
import jobwarden.services.codebuild
import jobwarden.services.glue  # noqa: F401 - registers the adapters
import time_machine
from jobwarden.local.account import create_codebuild_project, put_policy, put_settings
from jobwarden.local.amplify import create_app, start_job
from jobwarden.local.codebuild import start_build_at
from jobwarden.local.glue import create_glue_job

from tests.conftest import alert_bodies

MINUTE = timedelta(minutes=1)


def scan(account, capsys, service: str) -> dict[str, dict]:
    code, lines = account.scan(capsys, "--service", service)
    assert code == 0
    return {line["job_id"]: line for line in lines if "job_id" in line}


def by_reason(account, service: str, limits: dict[str, float]) -> None:
    put_settings(account.clients, {"mode": "enforce"})
    put_policy(
        account.clients,
        f"{service}-waits",
        {"match": {"services": [service]}, "limits": {"max_queue_minutes_by_reason": limits}},
    )


def test_glue_a_run_waiting_behind_its_job_is_judged_apart_from_one_starting(account, capsys):
    now = datetime.now(UTC)
    by_reason(account, "glue", {"WAITING": 15, "STARTING": 60})
    create_glue_job(account.clients, "etl")
    glue = account.clients.client("glue")
    with time_machine.travel(now - 20 * MINUTE, tick=False):
        starting = glue.start_job_run(JobName="etl")["JobRunId"]
        waiting = glue.start_job_run(JobName="etl", JobRunQueuingEnabled=True)["JobRunId"]

    decisions = scan(account, capsys, "glue")

    assert decisions[starting]["verdict"] == "ok"  # 20 min starting, 60 allowed
    assert decisions[waiting]["outcome"] == "stopped"
    assert decisions[waiting]["reason"] == (
        "queued 20 min waiting for WAITING, over the 15 min queue limit for WAITING of policy "
        "glue-waits"
    )
    states = {r["Id"]: r["JobRunState"] for r in glue.get_job_runs(JobName="etl")["JobRuns"]}
    assert states == {starting: "STARTING", waiting: "STOPPING"}


def test_amplify_pending_and_provisioning_have_their_own_limits(account, capsys):
    now = datetime.now(UTC)
    by_reason(account, "amplify", {"PENDING": 60, "PROVISIONING": 10})
    with time_machine.travel(now - timedelta(days=1), tick=False):
        app = create_app(account.clients, "shop", branches=("main", "dev"))
    provisioning = start_job(
        account.emulator, account.clients, app, "main", now - 30 * MINUTE, (MINUTE, "PROVISIONING")
    )
    pending = start_job(account.emulator, account.clients, app, "dev", now - 30 * MINUTE)

    decisions = scan(account, capsys, "amplify")

    assert decisions[pending]["verdict"] == "ok"
    assert decisions[provisioning]["outcome"] == "stopped"
    (body,) = alert_bodies(account.alerts())
    assert body["reason"] == (
        "queued 30 min waiting for PROVISIONING, over the 10 min queue limit for PROVISIONING "
        "of policy amplify-waits"
    )


def test_codebuild_a_queued_build_is_judged_by_its_queued_phase(account, capsys):
    now = datetime.now(UTC)
    by_reason(account, "codebuild", {"QUEUED": 30})
    create_codebuild_project(account.clients, "web-app")
    queued = start_build_at(account.emulator, account.clients, "web-app", now - 45 * MINUTE)
    running = start_build_at(
        account.emulator, account.clients, "web-app", now - 50 * MINUTE, MINUTE
    )

    decisions = scan(account, capsys, "codebuild")

    assert decisions[queued]["reason"] == (
        "queued 45 min waiting for QUEUED, over the 30 min queue limit for QUEUED of policy "
        "codebuild-waits"
    )
    assert decisions[running]["verdict"] == "ok"  # no queue limit once it runs

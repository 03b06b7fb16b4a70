"""Superseded runs end to end (`jobwarden scan`): CodeBuild builds, batch builds and Amplify
jobs of one project (app) and branch; the older stopped for the newer, the newer left alone,
other branches and opted-out projects never touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jobwarden.services.amplify
import jobwarden.services.codebuild
import jobwarden.services.codebuild_batch  # noqa: F401 - registers the adapters
import pytest
import time_machine
from jobwarden.local.account import create_codebuild_project, put_policy, put_settings
from jobwarden.local.amplify import create_app, start_job
from jobwarden.local.codebuild import start_build_at

from tests.conftest import alert_bodies

MINUTE = timedelta(minutes=1)
REPO = "https://github.com/example/web-app.git"


def ci_policy(account, *services: str) -> None:
    put_policy(
        account.clients,
        "ci",
        {
            "match": {"services": list(services)},
            "limits": {"max_run_minutes": 120},
            "cancel_superseded": True,
        },
    )


def scan(account, capsys, service: str, *extra: str) -> dict[str, dict]:
    code, lines = account.scan(capsys, "--service", service, *extra)
    assert code == 0
    return {line["job_id"]: line for line in lines if "job_id" in line}


@pytest.fixture
def builds(account) -> dict[str, str]:
    """web-app (GitHub): two builds of main (the older running, the newer queued), one of a
    feature branch, one of pull request 7; infra: opted out, two builds of main."""
    now = datetime.now(UTC)
    put_settings(account.clients, {"mode": "dry_run"})
    ci_policy(account, "codebuild")
    create_codebuild_project(account.clients, "web-app", {"team": "web"}, repository=REPO)
    create_codebuild_project(
        account.clients, "infra", {"jobwarden:interruptible": "false"}, repository=REPO
    )

    def start(project: str, ago: int, version: str, running: bool = True) -> str:
        return start_build_at(
            account.emulator,
            account.clients,
            project,
            now - ago * MINUTE,
            MINUTE if running else None,
            source_version=version,
        )

    return {
        "old main": start("web-app", 20, "refs/heads/main^{" + "a" * 40 + "}"),
        "new main": start("web-app", 3, "main", running=False),
        "feature": start("web-app", 30, "refs/heads/feature/login"),
        "pr": start("web-app", 25, "pr/7"),
        "infra old": start("infra", 20, "main"),
        "infra new": start("infra", 2, "main"),
    }


def test_a_dry_run_names_the_newer_build_and_stops_nothing(account, capsys, builds):
    decisions = scan(account, capsys, "codebuild")

    old = decisions[builds["old main"]]
    assert (old["verdict"], old["outcome"]) == ("superseded", "would_stop")
    assert old["reason"] == (
        f"superseded by the newer run {builds['new main']} (IN_PROGRESS (QUEUED)) of branch/main "
        "of policy ci"
    )
    assert all(account.build(b)["buildStatus"] == "IN_PROGRESS" for b in builds.values())


def test_enforce_stops_the_older_build_and_leaves_the_rest(account, capsys, builds):
    decisions = scan(account, capsys, "codebuild", "--enforce")

    stopped = {
        label for label, b in builds.items() if account.build(b)["buildStatus"] != "IN_PROGRESS"
    }
    assert stopped == {"old main"}
    assert decisions[builds["old main"]]["outcome"] == "stopped"
    assert decisions[builds["old main"]]["branch"] == "branch/main"
    assert decisions[builds["old main"]]["linked"] == builds["new main"]  # as the CLI prints
    for label in ("new main", "feature", "pr", "infra old", "infra new"):
        assert decisions[builds[label]]["verdict"] == "ok", label
    (item,) = account.ledger_items()
    assert (item["verdict"], item["outcome"], item["linked"]) == (
        "superseded",
        "stopped",
        builds["new main"],
    )
    assert item["sk"] == "decision#superseded"
    (alert,) = account.alerts()
    assert alert["Subject"] == "jobwarden: codebuild web-app stopped (superseded by a newer run)"
    assert alert["MessageAttributes"]["verdict"]["Value"] == "superseded"
    assert alert_bodies([alert])[0]["linked"] == builds["new main"]


def test_the_kill_switch_holds_a_superseded_stop(account, capsys, builds):
    put_settings(account.clients, {"mode": "enforce", "kill_switch": True})

    held = scan(account, capsys, "codebuild")[builds["old main"]]

    assert (held["verdict"], held["outcome"]) == ("held", "held")
    assert held["reason"].endswith("; not stopped: the kill switch is on")
    assert account.build(builds["old main"])["buildStatus"] == "IN_PROGRESS"


def test_a_superseded_stop_spends_the_stop_budget(account, capsys, builds):
    put_settings(account.clients, {"mode": "enforce", "max_stops_per_window": 0})

    held = scan(account, capsys, "codebuild")[builds["old main"]]

    assert held["outcome"] == "held"
    assert held["reason"].endswith("the stop budget of 0 per 60 min for codebuild is spent")
    assert account.build(builds["old main"])["buildStatus"] == "IN_PROGRESS"


def test_an_exempt_build_is_never_stopped_as_superseded(account, capsys):
    now = datetime.now(UTC)
    put_settings(account.clients, {"mode": "enforce"})
    ci_policy(account, "codebuild")
    create_codebuild_project(
        account.clients, "pinned", {"jobwarden:exempt": "yes"}, repository=REPO
    )
    old = start_build_at(
        account.emulator,
        account.clients,
        "pinned",
        now - 20 * MINUTE,
        MINUTE,
        source_version="main",
    )
    start_build_at(account.emulator, account.clients, "pinned", now - MINUTE, source_version="main")

    assert scan(account, capsys, "codebuild")[old]["verdict"] == "exempt"
    assert account.build(old)["buildStatus"] == "IN_PROGRESS"


def test_batch_builds_of_one_branch_supersede_each_other(account, capsys):
    now = datetime.now(UTC)
    put_settings(account.clients, {"mode": "enforce"})
    ci_policy(account, "codebuild-batch")
    create_codebuild_project(account.clients, "release", repository=REPO)
    create_codebuild_project(
        account.clients, "pinned", {"jobwarden:interruptible": "0"}, repository=REPO
    )
    codebuild = account.clients.client("codebuild")
    fill = account.emulator.fill("codebuild-batch")

    def start(ago: int, version: str, project: str = "release") -> str:
        with time_machine.travel(now - ago * MINUTE, tick=False):
            batch_id: str = codebuild.start_build_batch(projectName=project, sourceVersion=version)[
                "buildBatch"
            ]["id"]
        with time_machine.travel(now - ago * MINUTE + MINUTE, tick=False):
            fill.advance(batch_id, "IN_PROGRESS")
        return batch_id

    old, new, other = start(40, "pr/12"), start(5, "refs/pull/12/head"), start(50, "pr/13")
    pinned_old, pinned_new = start(40, "pr/12", "pinned"), start(5, "pr/12", "pinned")

    decisions = scan(account, capsys, "codebuild-batch")

    assert decisions[old]["verdict"] == "superseded"
    assert decisions[old]["outcome"] == "stopped"
    assert f"superseded by the newer run {new} " in decisions[old]["reason"]
    statuses = {
        b["id"]: b["buildBatchStatus"]
        for b in codebuild.batch_get_build_batches(ids=[old, new, other, pinned_old, pinned_new])[
            "buildBatches"
        ]
    }
    assert statuses == {
        old: "STOPPED",
        new: "IN_PROGRESS",
        other: "IN_PROGRESS",
        pinned_old: "IN_PROGRESS",  # its project opted out
        pinned_new: "IN_PROGRESS",
    }


def test_amplify_a_pending_job_supersedes_the_running_one_on_its_branch_only(account, capsys):
    now = datetime.now(UTC)
    put_settings(account.clients, {"mode": "enforce"})
    ci_policy(account, "amplify")
    with time_machine.travel(now - timedelta(days=1), tick=False):
        shop = create_app(account.clients, "shop", branches=("main", "dev"))
        pinned = create_app(account.clients, "pinned", {"jobwarden:interruptible": "off"})

    def job(app: str, branch: str, ago: int, *moves: tuple[timedelta, str]) -> str:
        return start_job(account.emulator, account.clients, app, branch, now - ago * MINUTE, *moves)

    building = (MINUTE, "PROVISIONING"), (2 * MINUTE, "RUNNING")
    old = job(shop, "main", 10, *building)
    new = job(shop, "main", 1)  # PENDING behind it
    dev = job(shop, "dev", 12, *building)
    pinned_old = job(pinned, "main", 10, *building)
    pinned_new = job(pinned, "main", 1)

    decisions = scan(account, capsys, "amplify")

    assert (decisions[old]["verdict"], decisions[old]["outcome"]) == ("superseded", "stopped")
    assert decisions[old]["reason"] == (
        f"superseded by the newer run {new} (PENDING) of branch/main of policy ci"
    )
    amplify = account.clients.client("amplify")

    def status(qualified: str) -> str:
        app_id, branch, number = qualified.split("/")
        found = amplify.get_job(appId=app_id, branchName=branch, jobId=number)["job"]
        return str(found["summary"]["status"])

    assert status(old) == "CANCELLING"
    assert [status(j) for j in (new, dev, pinned_old, pinned_new)] == [
        "PENDING",
        "RUNNING",
        "RUNNING",
        "PENDING",
    ]
    bodies = alert_bodies(account.alerts())
    assert [(b["job_id"], b["verdict"]) for b in bodies] == [(old, "superseded")]

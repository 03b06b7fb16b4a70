"""`jobwarden demo`: the whole watchdog against an emulated account, start to finish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import time_machine

from jobwarden.aws import Clients
from jobwarden.local.account import (
    Resources,
    create_codebuild_project,
    create_resources,
    put_policy,
    put_settings,
    received_alerts,
)
from jobwarden.local.emulator import Emulator, emulated_account

REGION = "us-east-1"

POLICIES: dict[str, dict[str, Any]] = {
    "nightly-builds": {
        "description": "Nightly builds finish within the hour; anything longer is hung.",
        "match": {"services": ["codebuild"], "names": ["nightly-*"]},
        "limits": {"max_run_minutes": 60},
        "action": "stop",
        "priority": 10,
    },
    "all-builds": {
        "description": "Every build: an hour in the queue or four hours running is too long.",
        "match": {"services": ["codebuild"]},
        "limits": {"max_queue_minutes": 60, "max_run_minutes": 240, "max_cost_usd": 25},
        "action": "stop",
        "priority": 100,
    },
}


def heading(text: str, out: TextIO) -> None:
    print(f"\n== {text} " + "=" * max(0, 76 - len(text)), file=out)


def seed_codebuild(emulator: Emulator, clients: Clients, now: datetime) -> dict[str, str]:
    """Four interesting builds over 150 finished ones (two pages of ListBuilds)."""
    codebuild = clients.client("codebuild")
    fill = emulator.fill("codebuild")
    for name, tags in {
        "web-app": {"team": "web"},
        "nightly-etl": {"team": "data"},
        "docs-site": {"team": "docs"},
        "nightly-backfill": {"team": "data", "jobwarden:exempt": "true"},
    }.items():
        create_codebuild_project(clients, name, tags)

    def start(project: str, ago: timedelta, run_after: timedelta | None = None) -> str:
        with time_machine.travel(now - ago, tick=False):
            build_id: str = codebuild.start_build(projectName=project)["build"]["id"]
        if run_after is not None:
            with time_machine.travel(now - ago + run_after, tick=False):
                fill.advance(build_id, "BUILD")
        return build_id

    for n in range(150):
        history = start(
            "docs-site", timedelta(hours=30) - timedelta(minutes=10 * n), timedelta(minutes=1)
        )
        with time_machine.travel(
            now - timedelta(hours=30) + timedelta(minutes=10 * n + 6), tick=False
        ):
            fill.finish(history)
    return {
        "web-app (queued 3 h)": start("web-app", timedelta(hours=3)),
        "nightly-etl (running 2 h, 60 min limit)": start(
            "nightly-etl", timedelta(hours=2), timedelta(minutes=2)
        ),
        "docs-site (healthy, 10 min)": start(
            "docs-site", timedelta(minutes=12), timedelta(minutes=2)
        ),
        "nightly-backfill (exempt, running 2 h)": start(
            "nightly-backfill", timedelta(hours=2), timedelta(minutes=2)
        ),
    }


def run(out: TextIO) -> int:
    from jobwarden.cli import main

    now = datetime.now(UTC)
    with emulated_account() as emulator:
        clients = Clients(default_region=REGION)
        resources: Resources = create_resources(clients)
        put_settings(clients, {"mode": "dry_run", "max_stops_per_sweep": 10})
        for name, document in POLICIES.items():
            put_policy(clients, name, document)
        builds = seed_codebuild(emulator, clients, now)

        heading("Seeded CodeBuild builds (plus 150 finished ones)", out)
        for label, build_id in builds.items():
            print(f"  {label:42} {build_id}", file=out)

        common = ["--region", REGION, "--table", resources.table]
        scan = ["scan", *common, "--topic-arn", resources.topic_arn, "--service", "codebuild"]
        heading("Sweep 1: dry run (the settings' mode, as a new deployment starts)", out)
        main(scan)
        heading("Sweep 2: --enforce", out)
        main([*scan, "--enforce"])
        heading("Ledger: jobwarden decisions --since 1h", out)
        main(["decisions", *common, "--since", "1h"])

        heading("Alerts received on the topic (through an SQS subscription)", out)
        for alert in received_alerts(clients, resources.queue_url):
            attributes = {k: v["Value"] for k, v in alert.get("MessageAttributes", {}).items()}
            print(f"  {alert['Subject']}", file=out)
            print(f"      attributes {attributes}", file=out)

        heading("Final status of each build, read back through BatchGetBuilds", out)
        found = clients.client("codebuild").batch_get_builds(ids=list(builds.values()))["builds"]
        status = {b["id"]: (b["buildStatus"], b["currentPhase"]) for b in found}
        for label, build_id in builds.items():
            print(f"  {label:42} {status[build_id][0]:12} {status[build_id][1]}", file=out)
    return 0

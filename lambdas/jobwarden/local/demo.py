"""`jobwarden demo`: the whole watchdog against an emulated account, start to finish.

Each service's fill module offers `DEMO_POLICIES`, `seed_demo` (jobs started in the past,
one of them stuck) and `describe_for_demo` (each job's final state, read through the API).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any, TextIO

from jobwarden.aws import Clients
from jobwarden.local import amplify, batch, codebuild, codebuild_batch, glue
from jobwarden.local.account import create_resources, put_policy, put_settings, received_alerts
from jobwarden.local.emulator import WIRE, Emulator, emulated_account

REGION = "us-east-1"
HOURS_2, MINUTES_2 = timedelta(hours=2), timedelta(minutes=2)
DEMOS: dict[str, ModuleType] = {
    "codebuild": codebuild,
    "codebuild-batch": codebuild_batch,
    "glue": glue,
    "batch": batch,
    "amplify": amplify,
}


def heading(text: str, out: TextIO) -> None:
    print(f"\n== {text} " + "=" * max(0, 86 - len(text)), file=out)


def show_safety(
    emulator: Emulator, clients: Clients, scan: list[str], now: datetime, out: TextIO
) -> None:
    """The outbox, the kill switch and the stop budget, each on new stuck CodeBuild builds."""
    from jobwarden.cli import main

    only_codebuild = [*scan, "--enforce", "--service", "codebuild"]

    def stuck_build() -> None:
        codebuild.start_build_at(emulator, clients, "nightly-etl", now - HOURS_2, MINUTES_2)

    heading("Sweep 4: SNS refuses every publish (the topic's key is disabled)", out)
    stuck_build()
    with WIRE.refusing("sns.Publish", "KMSDisabled"):
        main(only_codebuild)
    print(
        "  -> stopped and recorded; its alert waits in the ledger's outbox (undelivered 1)",
        file=out,
    )
    heading("Sweep 5: SNS is back: the outbox delivers the waiting alert", out)
    main(only_codebuild)

    heading('Sweep 6: {"kill_switch": true}, read fresh by the next sweep', out)
    put_settings(clients, {"mode": "enforce", "kill_switch": True})
    stuck_build()
    main(only_codebuild)
    heading(
        'Sweep 7: kill switch off, {"max_stops_per_window": 4, "stop_window_minutes": 60}: '
        "3 CodeBuild stops this hour already",
        out,
    )
    put_settings(clients, {"mode": "enforce", "max_stops_per_window": 4})
    stuck_build()
    main(only_codebuild)
    print(
        "  -> one of the two stuck builds is stopped, the other held until the hour passes",
        file=out,
    )


# Candidate policies, never pushed: what would they have done over the seeded history?
CANDIDATES: dict[str, dict[str, Any]] = {
    "builds-30m": {
        "description": "Any build: 30 minutes running or 20 queued is too long.",
        "match": {"services": ["codebuild"]},
        "limits": {"max_run_minutes": 30, "max_queue_minutes": 20},
        "tests": [
            {
                "name": "a 45-minute build is stopped",
                "job": {"service": "codebuild", "name": "web-app", "run_minutes": 45},
                "expect": "stop",
            },
            {
                "name": "a 6-minute docs build runs on",
                "job": {"service": "codebuild", "name": "docs-site", "run_minutes": 6},
                "expect": "ok",
            },
        ],
    },
    "glue-cost-4": {
        "description": "A Glue run may spend $4.",
        "match": {"services": ["glue"]},
        "limits": {"max_cost_usd": 4},
        "tests": [
            {
                "name": "20 DPU for 30 minutes ($4.40) is stopped",
                "job": {
                    "service": "glue",
                    "name": "nightly-aggregate",
                    "run_minutes": 30,
                    "cost_basis": {"glue:dpu": 20},
                },
                "expect": "stop",
            }
        ],
    },
    "amplify-warn": {
        "description": "Warn when an Amplify job waits 10 minutes for a build instance.",
        "match": {"services": ["amplify"]},
        "limits": {"max_queue_minutes": 10},
        "action": "notify",
    },
}


def show_simulation(out: TextIO) -> None:
    """`policy test` and `policy simulate` on candidate documents written to a folder."""
    import json
    import tempfile
    from pathlib import Path

    from jobwarden.cli import main

    with tempfile.TemporaryDirectory() as folder:
        files = []
        for name, document in CANDIDATES.items():
            path = Path(folder) / f"{name}.json"
            path.write_text(json.dumps(document, indent=2))
            files.append(str(path))
        heading("jobwarden policy test candidates/*.json (the documents' own test cases)", out)
        main(["policy", "test", *files])
        heading(
            "jobwarden policy simulate candidates/*.json --since 8d: the seeded history "
            "replayed, nothing pushed, nothing stopped",
            out,
        )
        main(["policy", "simulate", *files, "--region", REGION, "--since", "8d"])


def run(out: TextIO) -> int:
    from jobwarden.cli import main

    now = datetime.now(UTC)
    with emulated_account() as emulator:
        clients = Clients(default_region=REGION)
        resources = create_resources(clients)
        put_settings(clients, {"mode": "dry_run", "max_stops_per_window": 10})
        for module in DEMOS.values():
            for name, document in module.DEMO_POLICIES.items():
                put_policy(clients, name, document)
        seeded = {service: m.seed_demo(emulator, clients, now) for service, m in DEMOS.items()}

        heading("Seeded jobs (started in the past on a simulated clock)", out)
        for service, jobs in seeded.items():
            for label, job_id in jobs.items():
                print(f"  {service:16} {label:56} {job_id}", file=out)

        common = ["--region", REGION, "--table", resources.table]
        scan = ["scan", *common, "--topic-arn", resources.topic_arn]
        heading("Sweep 1: dry run (the settings' mode, as a new deployment starts)", out)
        main(scan)
        heading("Sweep 2: --enforce", out)
        main([*scan, "--enforce"])
        heading(
            "Sweep 3: --enforce again (stopped jobs whose policy asks for one are retried)", out
        )
        main([*scan, "--enforce"])
        show_safety(emulator, clients, scan, now, out)
        heading("Ledger: jobwarden decisions --since 1h", out)
        main(["decisions", *common, "--since", "1h"])

        heading("What it saved: jobwarden report --since 1d --by team", out)
        main(["report", *common, "--since", "1d", "--by", "team"])
        show_simulation(out)

        heading("Alerts received on the topic (through an SQS subscription)", out)
        for alert in received_alerts(clients, resources.queue_url):
            attributes = {k: v["Value"] for k, v in alert.get("MessageAttributes", {}).items()}
            print(f"  {alert['Subject']:70} {attributes}", file=out)

        heading("Final state of each job, read back through the service's API", out)
        for service, jobs in seeded.items():
            states = DEMOS[service].describe_for_demo(clients, jobs)
            for label, job_id in jobs.items():
                print(f"  {service:16} {label:56} {states.get(job_id, '?')}", file=out)
    return 0

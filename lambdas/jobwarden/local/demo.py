"""`jobwarden demo`: the whole watchdog against an emulated account, start to finish.

Each service's fill module offers `DEMO_POLICIES`, `seed_demo` (jobs started in the past,
one of them stuck) and `describe_for_demo` (each job's final state, read through the API).
The demo routes every policy's alerts to the job's `team` tag, adds a policy that warns before
its limit, subscribes the data team with a filter policy, and prints what people receive.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any, TextIO

from jobwarden.aws import Clients
from jobwarden.local import amplify, batch, codebuild, codebuild_batch, glue, waste_demo
from jobwarden.local.account import create_resources, put_policy, put_settings, received_alerts
from jobwarden.local.emulator import WIRE, Emulator, emulated_account

REGION = "us-east-1"
HOURS_2, MINUTES_2 = timedelta(hours=2), timedelta(minutes=2)
ROUTING = {"notify": ["tag:team"]}  # every alert carries the job's team as `owner`
# A team's own policy, pushed before the enforcing sweep: docs builds take 12 minutes at most,
# and their owners hear at 75% of that.
DOCS_BUILDS = {
    "description": "Docs builds take minutes; warn the docs team at 75% of 12 minutes.",
    "match": {"services": ["codebuild"], "names": ["docs-*"]},
    "limits": {"max_run_minutes": 12},
    "warn_at": 0.75,
    "priority": 5,
    **ROUTING,
}
TEAM_FILTER = {"owner": ["data"]}
DEMOS: dict[str, ModuleType] = {
    "codebuild": codebuild,
    "codebuild-batch": codebuild_batch,
    "glue": glue,
    "batch": batch,
    "amplify": amplify,
    "waste": waste_demo,  # superseded runs, queue reasons, a resubmission (issue 13)
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

    heading(
        "Sweep 4: SNS refuses every publish (AuthorizationError: a topic policy gone wrong)", out
    )
    stuck_build()
    with WIRE.refusing("sns.Publish", "AuthorizationError", status=403):
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
                put_policy(clients, name, {**document, **ROUTING})
        team_queue = subscribe_team(clients, resources.topic_arn, "data-team", TEAM_FILTER)
        seeded = {service: m.seed_demo(emulator, clients, now) for service, m in DEMOS.items()}

        heading("Seeded jobs (started in the past on a simulated clock)", out)
        for service, jobs in seeded.items():
            for label, job_id in jobs.items():
                print(f"  {service:16} {label:56} {job_id}", file=out)

        common = ["--region", REGION, "--table", resources.table]
        scan = ["scan", *common, "--topic-arn", resources.topic_arn]
        heading("Sweep 1: dry run (the settings' mode, as a new deployment starts)", out)
        main(scan)
        put_policy(clients, "docs-builds", DOCS_BUILDS)
        heading("Sweep 2: --enforce (the docs team has added a policy that warns at 75%)", out)
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

        published = published_messages(resources.topic_arn)
        for kind, what in (
            ("decision", "a stop"),
            ("digest", "a digest"),
            ("warning", "a warning"),
        ):
            found = next(  # the codebuild ones, the demo's busiest service
                (
                    m
                    for m in sorted(published, key=lambda m: m["service"] != "codebuild")
                    if kind == m["kind"] and m["outcome"] in ("stopped", '["would_stop"]', "warned")
                ),
                None,
            )
            if found is None:
                continue
            heading(f"What an email subscriber reads: {what}", out)
            print(f"Subject: {found['subject']}\n", file=out)
            print(found["email"], file=out)

        heading(f"The data team's subscription, filter policy {json.dumps(TEAM_FILTER)}", out)
        for alert in received_alerts(clients, team_queue):
            owners = alert.get("MessageAttributes", {}).get("owner", {}).get("Value", "")
            print(f"  {alert['Subject']:70} owner={owners}", file=out)

        heading("Final state of each job, read back through the service's API", out)
        for service, jobs in seeded.items():
            states = DEMOS[service].describe_for_demo(clients, jobs)
            for label, job_id in jobs.items():
                print(f"  {service:16} {label:56} {states.get(job_id, '?')}", file=out)
    return 0


def subscribe_team(
    clients: Clients, topic_arn: str, team: str, filter_policy: dict[str, Any]
) -> str:
    """A queue standing in for a team's subscription, with the filter policy the README
    documents: the team hears its own jobs' alerts (and digests) only."""
    sqs = clients.client("sqs")
    url: str = sqs.create_queue(QueueName=f"jobwarden-{team}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    clients.client("sns").subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps(filter_policy)},
    )
    return url


def published_messages(topic_arn: str) -> list[dict[str, str]]:
    """Every message published to the emulated topic, as SNS holds it before choosing a body
    per protocol: its subject, kind and outcome attributes, and the `email` body."""
    from moto.sns.models import sns_backends

    _, _, _, region, account, _ = topic_arn.split(":")
    found = []
    topic = sns_backends[account][region].topics[topic_arn]
    for _, message, subject, attributes, _ in topic.sent_notifications:
        bodies = json.loads(message)
        values = {name: value.get("Value", "") for name, value in (attributes or {}).items()}
        found.append(
            {
                "subject": subject or "",
                "kind": values.get("kind", ""),
                "outcome": values.get("outcome", ""),
                "service": values.get("service", ""),
                "email": bodies.get("email", ""),
            }
        )
    return found

"""Alerts through SNS (moto): the body per protocol, the attributes, and filtered delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from jobwarden.alerts import SnsAlerts
from jobwarden.ledger import Entry
from jobwarden.model import Mode, Outcome, Verdict
from jobwarden.render import Context, render, render_digest

AT = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def entry(name: str, owners: tuple[str, ...] = (), outcome: Outcome = Outcome.WOULD_STOP) -> Entry:
    return Entry(
        subject=f"codebuild#us-east-1#{name}:1",
        service="codebuild",
        region="us-east-1",
        at=AT,
        verdict=Verdict.STOP,
        outcome=outcome,
        mode=Mode.DRY_RUN if outcome is Outcome.WOULD_STOP else Mode.ENFORCE,
        reason="queued 180 min, over the 60 min queue limit of policy all-builds",
        job_id=f"{name}:1",
        job_name=name,
        policy="all-builds",
        owners=owners,
    )


def subscribe(account, name: str, filter_policy: dict | None = None) -> str:
    sqs, sns = account.clients.client("sqs"), account.clients.client("sns")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    sns.subscribe(
        TopicArn=account.resources.topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes
    )
    return url


def test_sqs_receives_the_machine_json_with_subject_and_filter_attributes(account):
    context = Context("jobwarden:exempt", "123456789012", "jobwarden-ledger")
    message = render(entry("web-app"), "e1", context)
    SnsAlerts(account.clients.client("sns"), account.resources.topic_arn).send(message)
    (alert,) = account.alerts()
    assert alert["Subject"] == "jobwarden: codebuild web-app would stop (dry run)"
    body = json.loads(alert["Message"])
    assert body["kind"] == "decision"
    assert body["entry"]["reason"] == entry("web-app").reason
    assert body["console_url"].startswith("https://us-east-1.console.aws.amazon.com/codesuite/")
    attributes = {k: v["Value"] for k, v in alert["MessageAttributes"].items()}
    assert attributes == {
        "service": "codebuild",
        "verdict": "stop",
        "mode": "dry_run",
        "outcome": "would_stop",
        "kind": "decision",
        "entry": "e1",
        "policy": "all-builds",
    }


def test_a_team_filter_policy_receives_only_its_own_jobs(account):
    """The filter policy the README documents: {"owner": ["data"]} on the platform topic."""
    team = subscribe(account, "data-team", {"owner": ["data"]})
    alerts = SnsAlerts(account.clients.client("sns"), account.resources.topic_arn)
    context = Context("jobwarden:exempt")
    alerts.send(render(entry("etl", ("data",), Outcome.STOPPED), "a", context))
    alerts.send(render(entry("web", ("web",), Outcome.STOPPED), "b", context))
    alerts.send(render(entry("untagged", (), Outcome.STOPPED), "c", context))
    alerts.send(render_digest([("d", entry("etl-nightly", ("data", "ml")))], context, AT))
    platform = [a["Subject"] for a in account.alerts()]
    assert len(platform) == 4  # the platform subscription hears everything
    found = account.clients.client("sqs").receive_message(QueueUrl=team, MaxNumberOfMessages=10)
    subjects = sorted(json.loads(m["Body"])["Subject"] for m in found["Messages"])
    assert subjects == [
        "jobwarden: codebuild digest, 1 would stop (dry run)",
        "jobwarden: codebuild etl stopped",
    ]

"""Each kind of message, rendered for each protocol: content asserted, and a golden file per
rendering (tests/unit/golden/) so a reviewer sees what a person receives.

Regenerate the golden files after an intended change with `UPDATE_GOLDEN=1 pytest
tests/unit/test_render.py`, and read the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jobwarden.ledger import Entry
from jobwarden.model import Mode, Outcome, Verdict
from jobwarden.render import (
    SUBJECT_LIMIT,
    Context,
    Message,
    console_url,
    exemption,
    is_digested,
    render,
    render_digest,
)
from jobwarden.services import REGISTRY

from tests.unit.chat_schema import problems

GOLDEN = Path(__file__).parent / "golden"
AT = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
CONTEXT = Context("jobwarden:exempt", "123456789012", "jobwarden-ledger")

STOP = Entry(
    subject="codebuild#us-east-1#nightly-etl:6f1c2e4a",
    service="codebuild",
    region="us-east-1",
    at=AT,
    verdict=Verdict.STOP,
    outcome=Outcome.STOPPED,
    mode=Mode.ENFORCE,
    reason="running 95 min, over the 60 min limit of policy nightly-builds",
    job_id="nightly-etl:6f1c2e4a",
    job_name="nightly-etl",
    policy="nightly-builds",
    run_minutes=95.0,
    queue_minutes=3.0,
    cost_usd=0.48,
    owners=("data",),
    arn="arn:aws:codebuild:us-east-1:123456789012:build/nightly-etl:6f1c2e4a",
)
WARNING = Entry(
    subject="glue#us-east-1#jr_0a1b2c",
    service="glue",
    region="us-east-1",
    at=AT,
    verdict=Verdict.WARN,
    outcome=Outcome.WARNED,
    mode=Mode.ENFORCE,
    reason="running 48 min, 80% of the 60 min limit of policy glue-hourly; about 12 min "
    "left, then stopped at the limit",
    job_id="jr_0a1b2c",
    job_name="aggregate",
    policy="glue-hourly",
    run_minutes=48.0,
    queue_minutes=0.0,
    cost_usd=3.52,
    owners=("data",),
    limit="run-60",
    left_minutes=12.0,
)
ERROR = Entry(
    subject="policy#nightly-builds",
    service="codebuild",
    region="-",
    at=AT,
    verdict=Verdict.ERROR,
    outcome=Outcome.NONE,
    mode=Mode.ENFORCE,
    reason="document nightly-builds is invalid and was skipped: warn_at: must be between 0 "
    "and 1 (a share of each limit, e.g. 0.8), got 80",
)
FAILED = Entry(
    subject="batch#eu-west-1#5f3c-11aa",
    service="batch",
    region="eu-west-1",
    at=AT,
    verdict=Verdict.STOP,
    outcome=Outcome.FAILED,
    mode=Mode.ENFORCE,
    reason="queued 300 min, over the 240 min queue limit of policy batch-queue; the stop "
    "call failed: AccessDeniedException",
    job_id="5f3c-11aa",
    job_name="render-frames",
    policy="batch-queue",
    queue_minutes=300.0,
    arn="arn:aws:batch:eu-west-1:123456789012:job/5f3c-11aa",
)


def dry_run(name: str, minutes: float, outcome: Outcome = Outcome.WOULD_STOP) -> Entry:
    verdict = Verdict.NOTIFY if outcome is Outcome.NOTIFIED else Verdict.STOP
    policy = "builds-report" if outcome is Outcome.NOTIFIED else "all-builds"
    return Entry(
        subject=f"codebuild#us-east-1#{name}:{int(minutes)}",
        service="codebuild",
        region="us-east-1",
        at=AT,
        verdict=verdict,
        outcome=outcome,
        mode=Mode.DRY_RUN,
        reason=f"queued {minutes:.0f} min, over the 60 min queue limit of policy {policy}",
        job_id=f"{name}:{int(minutes)}",
        job_name=name,
        policy=policy,
        queue_minutes=minutes,
        owners=("web",),
    )


DIGEST = [
    ("e1", dry_run("web-app", 180)),
    ("e2", dry_run("web-api", 95)),
    ("e3", dry_run("docs-site", 75, Outcome.NOTIFIED)),
]
MESSAGES = {
    "stop": render(STOP, "4b0e3e1f9a3c7d2e8f6a1b2c", CONTEXT),
    "warning": render(WARNING, "9c8d7e6f5a4b3c2d1e0f9a8b", CONTEXT),
    "digest": render_digest(DIGEST, CONTEXT, datetime(2025, 3, 4, 9, 35, tzinfo=UTC)),
    "error": render(ERROR, "0f1e2d3c4b5a69788796a5b4", CONTEXT),
    "failed": render(FAILED, "1a2b3c4d5e6f7a8b9c0d1e2f", CONTEXT),
}


def renderings(message: Message) -> dict[str, str]:
    header = {"subject": message.subject, "attributes": message.sns_attributes()}
    return {
        "email.txt": message.email,
        "chat.json": json.dumps(message.chat, indent=2, sort_keys=True) + "\n",
        "machine.json": json.dumps(message.machine, indent=2, sort_keys=True) + "\n",
        "sns.json": json.dumps(header, indent=2, sort_keys=True) + "\n",
    }


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_each_rendering_matches_its_golden_file(kind: str) -> None:
    for suffix, text in renderings(MESSAGES[kind]).items():
        path = GOLDEN / f"{kind}.{suffix}"
        if os.environ.get("UPDATE_GOLDEN"):
            path.write_text(text)
        assert path.read_text() == text, f"{path.name} changed; see the module docstring"


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_the_chat_payload_follows_the_published_schema(kind: str) -> None:
    assert problems(MESSAGES[kind].chat) == []


def test_the_schema_check_catches_what_the_service_would_refuse() -> None:
    chat = json.loads(json.dumps(MESSAGES["stop"].chat))
    chat["version"] = "2.0"
    chat["content"]["nextSteps"] = "tag it"
    del chat["source"]
    chat["metadata"]["additionalContext"]["count"] = 3
    assert problems(chat) == [
        "$: missing source",
        "$.version: '2.0' is not one of ['1.0']",
        "$.content.nextSteps: expected array, got str",
        "$.metadata.additionalContext.count: expected string, got int",
    ]


def test_one_sns_message_holds_a_body_per_protocol() -> None:
    message = MESSAGES["stop"]
    bodies = json.loads(message.sns_message())
    assert bodies["email"] == message.email
    assert json.loads(bodies["https"]) == message.chat  # how the chat integration subscribes
    assert json.loads(bodies["default"]) == message.machine  # SQS, Lambda, email-json, ...
    assert bodies["sms"] == message.subject
    assert sorted(bodies) == ["default", "email", "https", "sms"]


def test_the_stop_email_says_what_which_why_how_much_where_and_how_to_exempt() -> None:
    email = MESSAGES["stop"].email
    assert email.startswith("jobwarden stopped a CodeBuild build.\n")
    assert STOP.reason in email
    assert "nightly-etl:6f1c2e4a" in email
    assert "Policy     nightly-builds" in email
    assert "Run time   95 min" in email
    assert "Est. cost  $0.48" in email
    assert (
        "https://us-east-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/"
        "nightly-etl/build/nightly-etl%3A6f1c2e4a/?region=us-east-1" in email
    )
    assert "Tag the CodeBuild project nightly-etl\n  with jobwarden:exempt=true" in email
    assert (
        "aws resourcegroupstaggingapi tag-resources --region us-east-1 --resource-arn-list "
        "arn:aws:codebuild:us-east-1:123456789012:project/nightly-etl "
        "--tags jobwarden:exempt=true" in email
    )


def test_the_warning_says_the_time_left_and_how_to_exempt() -> None:
    message = MESSAGES["warning"]
    assert message.subject == "jobwarden: glue aggregate near its limit"
    assert message.email.startswith(
        "A Glue job run is near its limit and will be stopped in about 12 min unless it ends "
        "or is exempted."
    )
    assert "Time left  about 12 min" in message.email
    assert "Tag the Glue job aggregate\n  with jobwarden:exempt=true" in message.email
    assert message.attributes["kind"] == "warning"
    assert message.chat["metadata"]["threadId"] == WARNING.subject  # the stop follows in-thread


def test_the_digest_lists_every_entry_once_with_counts_in_the_subject() -> None:
    message = MESSAGES["digest"]
    assert message.subject == "jobwarden: codebuild digest, 2 would stop (dry run), 1 over a limit"
    for _, entry in DIGEST:
        assert message.email.count(entry.reason) == 1
        assert entry.reason in message.chat["content"]["description"]
    assert [item["id"] for item in message.machine["entries"]] == ["e1", "e2", "e3"]
    assert message.attributes["kind"] == "digest"
    assert message.attributes["owner"] == ["web"]
    assert message.attributes["verdict"] == ["notify", "stop"]


def test_subjects_stay_short_greppable_and_ascii() -> None:
    for message in MESSAGES.values():
        assert message.subject.startswith("jobwarden: ")
        assert len(message.subject) <= SUBJECT_LIMIT
        assert message.subject.isascii()
    long = render(Entry(**{**STOP.__dict__, "job_name": "ünïcode-" + "x" * 200}), "id", CONTEXT)
    assert len(long.subject) == SUBJECT_LIMIT
    assert long.subject.isascii()


def test_message_attributes_keep_service_verdict_mode_entry_and_add_routing() -> None:
    attributes = MESSAGES["stop"].sns_attributes()
    assert attributes["service"] == {"DataType": "String", "StringValue": "codebuild"}
    assert attributes["verdict"] == {"DataType": "String", "StringValue": "stop"}
    assert attributes["mode"] == {"DataType": "String", "StringValue": "enforce"}
    assert attributes["entry"] == {"DataType": "String", "StringValue": "4b0e3e1f9a3c7d2e8f6a1b2c"}
    assert attributes["owner"] == {"DataType": "String.Array", "StringValue": '["data"]'}
    assert len(attributes) <= 10  # SNS's limit


def test_every_registered_service_has_a_console_link_and_an_exemption() -> None:
    for service in REGISTRY:
        entry = Entry(**{**STOP.__dict__, "service": service, "job_id": "app1/main/7", "arn": ""})
        assert console_url(entry, CONTEXT).startswith("https://us-east-1.console.aws.amazon.com/")
        assert exemption(entry, CONTEXT)["arn"].startswith("arn:aws:")


def test_links_and_arns_follow_the_partition() -> None:
    entry = Entry(**{**STOP.__dict__, "region": "cn-north-1", "arn": ""})
    assert console_url(entry, CONTEXT).startswith("https://cn-north-1.console.amazonaws.cn/")
    assert exemption(entry, CONTEXT)["arn"].startswith("arn:aws-cn:codebuild:cn-north-1:")


def test_amplify_exempts_the_branch_of_the_job() -> None:
    entry = Entry(
        **{
            **STOP.__dict__,
            "service": "amplify",
            "job_id": "d1abc/main/7",
            "job_name": "shop/main",
            "arn": "arn:aws:amplify:us-east-1:123456789012:apps/d1abc/branches/main/jobs/7",
        }
    )
    assert exemption(entry, CONTEXT)["arn"] == (
        "arn:aws:amplify:us-east-1:123456789012:apps/d1abc/branches/main"
    )
    assert console_url(entry, CONTEXT).endswith("#/d1abc/main/7")


def test_what_waits_for_the_digest_and_what_goes_at_once() -> None:
    assert [is_digested(e) for _, e in DIGEST] == [True, True, True]
    assert not is_digested(STOP)
    assert not is_digested(FAILED)
    assert not is_digested(ERROR)
    assert not is_digested(WARNING)  # enforcing: the stop is coming
    assert is_digested(Entry(**{**WARNING.__dict__, "mode": Mode.DRY_RUN}))
    held = Entry(**{**STOP.__dict__, "verdict": Verdict.HELD, "outcome": Outcome.HELD})
    assert is_digested(held)

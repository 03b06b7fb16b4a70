"""One alert, rendered for each kind of subscriber: pure, an entry (or a digest of them) in.

A person reads the email text; a Slack or Teams channel wired through Amazon Q Developer in chat
applications (formerly AWS Chatbot) reads its custom-notification JSON; SQS, Lambda and other
machines read the entry as JSON. SNS picks one per subscription protocol from the same
`MessageStructure=json` message, so every subscriber gets the same alert in its own form.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from jobwarden.ledger import Entry
from jobwarden.model import Mode, Outcome, Verdict

SCHEMA = "jobwarden.alert/1"
SUBJECT_LIMIT = 100  # SNS rejects longer subjects
MAX_MESSAGE_BYTES = 256 * 1024  # SNS's limit for a whole message
# Lines of a digest listed in the chat rendering (a channel is no place for a report); the
# email lists every entry of the digest, the machine JSON carries every entry whole.
CHAT_DIGEST_LINES = 15
# A digest message holds at most this many entries: SNS messages are at most 256 KB, and
# every entry is in the message twice (email text and JSON). More make more digests.
DIGEST_MAX_ENTRIES = 50

HEADLINES: dict[Outcome, str] = {
    Outcome.STOPPED: "stopped",
    Outcome.WOULD_STOP: "would stop (dry run)",
    Outcome.ALREADY_FINISHED: "finished before the stop",
    Outcome.STOP_REQUESTED: "stop requested",
    Outcome.NOTIFIED: "over a limit",
    Outcome.HELD: "over a limit, stop held",
    Outcome.FAILED: "FAILED",
    Outcome.RETRIED: "retried",
    Outcome.RETRIES_EXHAUSTED: "not retried, cap reached",
    Outcome.WARNED: "near its limit",
    Outcome.NONE: "error",
    Outcome.RESUBMITTED: "resubmitted to its fallback queue",
    Outcome.WOULD_RESUBMIT: "would resubmit (dry run)",
    Outcome.WITHDRAWN: "not stopped: no longer warranted",
    Outcome.PENDING: "decided, not yet settled",
    Outcome.ALREADY_HANDLED: "already handled",
}
EMOJI: dict[Outcome, str] = {
    Outcome.STOPPED: ":octagonal_sign:",
    Outcome.WOULD_STOP: ":eyes:",
    Outcome.STOP_REQUESTED: ":octagonal_sign:",
    Outcome.HELD: ":pause_button:",
    Outcome.FAILED: ":rotating_light:",
    Outcome.WARNED: ":warning:",
    Outcome.NONE: ":x:",
}
NOUNS = {
    "codebuild": "CodeBuild build",
    "codebuild-batch": "CodeBuild batch build",
    "glue": "Glue job run",
    "batch": "Batch job",
    "amplify": "Amplify job",
}
# Where a job's exemption tag is read from (see each adapter), and so where to put it.
EXEMPT_WHERE = {
    "codebuild": "the CodeBuild project {name}",
    "codebuild-batch": "the CodeBuild project {name}",
    "glue": "the Glue job {name}",
    "batch": "the Batch job (or its job queue, to exempt every job in it)",
    "amplify": "the Amplify branch {name} (or its app, to exempt every branch)",
}
# Outcomes that wait for the digest: nothing was stopped, nothing failed.
DIGESTED = frozenset({Outcome.WOULD_STOP, Outcome.NOTIFIED, Outcome.HELD})


def is_digested(entry: Entry) -> bool:
    """Would-stop, notify and held decisions (and a dry run's warnings) wait for the digest;
    stops, failures, errors and an enforcing warning (the stop is coming) go at once."""
    if entry.outcome is Outcome.WARNED:
        return entry.mode is not Mode.ENFORCE
    return entry.outcome in DIGESTED and entry.verdict is not Verdict.ERROR


@dataclass(frozen=True)
class Context:
    """What the renderings need besides the entry: the exemption tag (from the settings), the
    account (from the topic ARN) for console links and ARNs, and the ledger table's name."""

    exempt_tag: str
    account: str = ""
    table: str = ""


@dataclass(frozen=True)
class Message:
    """One SNS message: a subject, a body per protocol, and the attributes filters match."""

    subject: str
    email: str
    chat: dict[str, Any]
    machine: dict[str, Any]
    attributes: dict[str, str | list[str]] = field(default_factory=dict)
    entries: tuple[Entry, ...] = field(default=(), compare=False, repr=False)  # what it carries

    def sns_message(self) -> str:
        """The `Message` of a `MessageStructure=json` publish: a body per protocol.

        `https` carries the chat notification, because that is how the chat integration
        subscribes to a topic; every other protocol (SQS, Lambda, email-json, Firehose, HTTP)
        gets `default`, the JSON for machines, so it is in the message once.
        """
        return json.dumps(
            {
                "default": json.dumps(self.machine, sort_keys=True),
                "email": self.email,
                "https": json.dumps(self.chat, sort_keys=True),
                "sms": self.subject,
            },
            sort_keys=True,
        )

    @property
    def size(self) -> int:
        """Bytes SNS counts against its limit: the message, subject and attributes."""
        attributes = sum(
            len(name.encode()) + len(value["StringValue"].encode()) + len(value["DataType"])
            for name, value in self.sns_attributes().items()
        )
        return len(self.sns_message().encode()) + len(self.subject) + attributes

    def sns_attributes(self) -> dict[str, dict[str, str]]:
        return {
            name: (
                {"DataType": "String.Array", "StringValue": json.dumps(value)}
                if isinstance(value, list)
                else {"DataType": "String", "StringValue": value}
            )
            for name, value in sorted(self.attributes.items())
        }


def subject_for(entry: Entry) -> str:
    what = entry.job_name or entry.subject
    headline = HEADLINES[entry.outcome]
    if entry.verdict is Verdict.SUPERSEDED:
        headline += " (superseded by a newer run)"
    return _subject(f"jobwarden: {entry.service} {what} {headline}")


def _subject(text: str) -> str:
    # SNS subjects must be ASCII without line breaks.
    text = text.encode("ascii", "replace").decode().replace("\n", " ")
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def render(entry: Entry, entry_id: str, context: Context) -> Message:
    """One decision, error or warning, as it goes out on its own."""
    link = console_url(entry, context)
    exempt = exemption(entry, context)
    attributes: dict[str, str | list[str]] = {
        "service": entry.service,
        "verdict": str(entry.verdict),
        "mode": str(entry.mode),
        "outcome": str(entry.outcome),
        "kind": "warning" if entry.outcome is Outcome.WARNED else "decision",
    }
    if entry_id:
        attributes["entry"] = entry_id
    if entry.policy:
        attributes["policy"] = entry.policy
    if entry.owners:
        attributes["owner"] = list(entry.owners)
    machine = {
        "schema": SCHEMA,
        "kind": attributes["kind"],
        "id": entry_id,
        "entry": entry.to_json(),
        "console_url": link,
        "exempt": exempt,
    }
    return Message(
        subject=subject_for(entry),
        email=_email(entry, link, exempt, context),
        chat=_chat(entry, entry_id, link, exempt, context),
        machine=machine,
        attributes=attributes,
        entries=(entry,),
    )


def render_digest(entries: Sequence[tuple[str, Entry]], context: Context, now: datetime) -> Message:
    """Decisions that are not urgent, of one service, mode and route, as one message."""
    ids = [entry_id for entry_id, _ in entries]
    items = [entry for _, entry in entries]
    first = items[0]
    service, mode = first.service, first.mode
    digest_id = hashlib.sha256("\x1f".join(sorted(ids)).encode()).hexdigest()[:24]
    since = min(entry.at for entry in items)
    counts = _counts(items)
    summary = ", ".join(f"{n} {HEADLINES[outcome]}" for outcome, n in counts.items())
    owners = sorted({owner for entry in items for owner in entry.owners})
    attributes: dict[str, str | list[str]] = {
        "service": service,
        "verdict": sorted({str(entry.verdict) for entry in items}),
        "outcome": sorted({str(entry.outcome) for entry in items}),
        "mode": str(mode),
        "kind": "digest",
        "digest": digest_id,
    }
    if owners:
        attributes["owner"] = owners
    machine = {
        "schema": SCHEMA,
        "kind": "digest",
        "id": digest_id,
        "service": service,
        "mode": str(mode),
        "since": since.isoformat(),
        "until": now.isoformat(),
        "count": len(items),
        "entries": [
            {"id": entry_id, "entry": entry.to_json(), "console_url": console_url(entry, context)}
            for entry_id, entry in entries
        ],
    }
    return Message(
        subject=_subject(f"jobwarden: {service} digest, {summary}"),
        email=_digest_email(items, context, since, now, summary),
        chat=_digest_chat(items, digest_id, context, summary, owners),
        machine=machine,
        attributes=attributes,
        entries=tuple(items),
    )


def _counts(items: Sequence[Entry]) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {}
    for entry in items:
        counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
    return counts


def _what_happened(entry: Entry) -> str:
    noun = NOUNS.get(entry.service, f"{entry.service} job")
    a = "an" if noun[0].lower() in "aeiou" else "a"
    an = a.capitalize()
    if entry.verdict is Verdict.ERROR:
        return f"jobwarden could not finish its work on {entry.service} ({entry.mode} mode)."
    if entry.outcome is Outcome.WARNED:
        stop = "stopped" if entry.mode is Mode.ENFORCE else "reported as would-stop (dry run)"
        left = "" if entry.left_minutes is None else f" in about {entry.left_minutes:.0f} min"
        return (
            f"{an} {noun} is near its limit and will be {stop}{left} unless it ends or is exempted."
        )
    phrases = {
        Outcome.STOPPED: f"jobwarden stopped {a} {noun}.",
        Outcome.STOP_REQUESTED: f"jobwarden asked {entry.service} to stop {a} {noun}.",
        Outcome.WOULD_STOP: f"jobwarden would have stopped {a} {noun}; this is a dry run, "
        "so nothing was stopped.",
        Outcome.ALREADY_FINISHED: f"{an} {noun} over its limit finished before the stop.",
        Outcome.NOTIFIED: f"{an} {noun} is over a limit of a notify-only policy; not stopped.",
        Outcome.HELD: f"{an} {noun} is over its limit, but its stop was held.",
        Outcome.FAILED: f"jobwarden FAILED to stop {a} {noun}; it is still running and the "
        "next sweep tries again.",
        Outcome.RETRIED: f"A stopped {noun} was started again, as its policy asks.",
        Outcome.RETRIES_EXHAUSTED: f"A stopped {noun} was not started again: "
        "its policy's retries are used up.",
    }
    return phrases.get(entry.outcome, f"{entry.service}: {HEADLINES[entry.outcome]}.")


def _figures(entry: Entry) -> list[tuple[str, str]]:
    rows = []
    if entry.run_minutes:
        rows.append(("Run time", f"{entry.run_minutes:.0f} min"))
    if entry.queue_minutes:
        rows.append(("Queued", f"{entry.queue_minutes:.0f} min"))
    if entry.cost_usd is not None:
        rows.append(("Est. cost", f"${entry.cost_usd:.2f}"))
    if entry.left_minutes is not None:
        rows.append(("Time left", f"about {max(entry.left_minutes, 0):.0f} min"))
    return rows


def _email(entry: Entry, link: str, exempt: dict[str, str], context: Context) -> str:
    lines = [_what_happened(entry), "", "Why", f"  {entry.reason}", ""]
    if entry.job_id:
        lines += [
            "Job",
            f"  name       {entry.job_name}",
            f"  id         {entry.job_id}",
            f"  service    {entry.service} ({entry.region})",
        ]
        if link:
            lines.append(f"  console    {link}")
        lines.append("")
    rows = [("Policy", entry.policy)] if entry.policy else []
    rows += _figures(entry)
    rows += [
        ("Mode", str(entry.mode)),
        ("Outcome", str(entry.outcome)),
        ("At", entry.at.isoformat()),
    ]
    lines += [f"{name:<11}{value}" for name, value in rows]
    if exempt:
        lines += [
            "",
            "To exempt this job",
            f"  Tag {exempt['where']}",
            f"  with {exempt['tag']}=true; jobwarden leaves it alone from the next sweep on.",
            "  With the AWS CLI:",
            f"  {exempt['command']}",
        ]
    lines += ["", "Every decision on this job", f"  {_decisions_command(entry, context)}"]
    return "\n".join(lines) + "\n"


def _chat(
    entry: Entry, entry_id: str, link: str, exempt: dict[str, str], context: Context
) -> dict[str, Any]:
    emoji = EMOJI.get(entry.outcome, ":information_source:")
    what = entry.job_name or entry.subject
    description = [_what_happened(entry), f"*Why:* {entry.reason}"]
    figures = [f"{name.lower()} {value}" for name, value in _figures(entry)]
    if figures:
        description.append(" · ".join(figures))
    if link:
        description.append(link)
    next_steps = []
    if exempt:
        next_steps.append(f"Exempt it: tag {exempt['where']} with {exempt['tag']}=true")
    next_steps.append(f"Decisions: {_decisions_command(entry, context)}")
    extra = {
        "service": entry.service,
        "region": entry.region,
        "verdict": str(entry.verdict),
        "outcome": str(entry.outcome),
        "mode": str(entry.mode),
        "subject": entry.subject,
        "entry": entry_id,
    }
    if entry.job_id:
        extra.update({"job_id": entry.job_id, "job_name": entry.job_name})
    if entry.policy:
        extra["policy"] = entry.policy
    if exempt:
        extra.update({"exempt_arn": exempt["arn"], "exempt_tag": exempt["tag"]})
    if context.table:
        extra["table"] = context.table
    metadata: dict[str, Any] = {
        # A job's warning, stop and retry share a thread.
        "threadId": entry.subject,
        "summary": subject_for(entry),
        "eventType": f"jobwarden-{entry.outcome}".replace("_", "-"),
        "relatedResources": [r for r in (entry.arn or entry.job_id,) if r],
        "additionalContext": {k: v for k, v in extra.items() if v},
        "enableCustomActions": True,
    }
    return {
        "version": "1.0",
        "source": "custom",
        "id": entry_id or entry.subject,
        "content": {
            "textType": "client-markdown",
            "title": f"{emoji} jobwarden: {entry.service} {what} {HEADLINES[entry.outcome]}",
            "description": "\n".join(description),
            "nextSteps": next_steps,
            "keywords": [k for k in (entry.service, str(entry.verdict), str(entry.mode)) if k],
        },
        "metadata": metadata,
    }


def _digest_email(
    items: Sequence[Entry], context: Context, since: datetime, now: datetime, summary: str
) -> str:
    first = items[0]
    lines = [
        f"jobwarden digest for {first.service} ({first.mode} mode): {summary}.",
        f"Decisions from {since.isoformat()} to {now.isoformat()}.",
        "",
        "Nothing in this digest was stopped: these are dry-run stops, notify-only policies,",
        "held stops and early warnings. Stops, failures and errors are sent at once.",
    ]
    for outcome, count in _counts(items).items():
        lines += ["", f"{HEADLINES[outcome].capitalize()} ({count})"]
        for entry in (e for e in items if e.outcome is outcome):
            figures = ", ".join(f"{n.lower()} {v}" for n, v in _figures(entry))
            lines.append(f"  - {entry.job_name or entry.subject} [{entry.job_id or '-'}]")
            lines.append(f"    {entry.reason}")
            if figures:
                lines.append(f"    {figures}")
            if link := console_url(entry, context):
                lines.append(f"    {link}")
            if exempt := exemption(entry, context):
                lines.append(f"    exempt: {exempt['command']}")
    lines += [
        "",
        f"To exempt a job, tag it with {context.exempt_tag}=true (the command is under each",
        "job above). Every decision:",
        f"  jobwarden decisions --since 24h --service {first.service}",
    ]
    return "\n".join(lines) + "\n"


def _digest_chat(
    items: Sequence[Entry], digest_id: str, context: Context, summary: str, owners: list[str]
) -> dict[str, Any]:
    first = items[0]
    lines = []
    for entry in items[:CHAT_DIGEST_LINES]:
        lines.append(f"• *{entry.job_name or entry.subject}*: {entry.reason}")
    if len(items) > CHAT_DIGEST_LINES:
        lines.append(f"… and {len(items) - CHAT_DIGEST_LINES} more (see the email or the ledger)")
    extra = {"service": first.service, "mode": str(first.mode), "digest": digest_id}
    if owners:
        extra["owner"] = ",".join(owners)
    if context.table:
        extra["table"] = context.table
    return {
        "version": "1.0",
        "source": "custom",
        "id": digest_id,
        "content": {
            "textType": "client-markdown",
            "title": f":memo: jobwarden digest: {first.service}, {summary}",
            "description": "\n".join(lines),
            "nextSteps": [
                f"Exempt a job: tag it with {context.exempt_tag}=true",
                f"Decisions: jobwarden decisions --since 24h --service {first.service}",
            ],
            "keywords": [first.service, "digest", str(first.mode)],
        },
        "metadata": {
            "threadId": f"digest#{first.service}",
            "summary": f"jobwarden digest: {first.service}, {summary}",
            "eventType": "jobwarden-digest",
            "relatedResources": [e.arn or e.job_id for e in items if e.arn or e.job_id][:10],
            "additionalContext": extra,
            "enableCustomActions": True,
        },
    }


def _decisions_command(entry: Entry, context: Context) -> str:
    if entry.job_id and context.table:
        values = json.dumps({":pk": {"S": entry.subject}}, separators=(",", ":"))
        return (
            f"aws dynamodb query --region {entry.region} --table-name {context.table} "
            f"--key-condition-expression 'pk = :pk' --expression-attribute-values '{values}'"
        )
    return f"jobwarden decisions --since 24h --service {entry.service}"


def _partition(region: str) -> tuple[str, str]:
    """The ARN partition and console domain of a region."""
    if region.startswith("cn-"):
        return "aws-cn", "console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "console.amazonaws-us-gov.com"
    return "aws", "console.aws.amazon.com"


def _account(entry: Entry, context: Context) -> str:
    parts = entry.arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else context.account


def console_url(entry: Entry, context: Context) -> str:
    """The job's page in the AWS console, or "" for what is not a job (errors)."""
    if not entry.job_id:
        return ""
    region = entry.region
    _, domain = _partition(region)
    base = f"https://{region}.{domain}"
    account = _account(entry, context)
    codebuild = f"{base}/codesuite/codebuild/" + (f"{account}/" if account else "")
    job_id, name = quote(entry.job_id, safe=""), quote(entry.job_name, safe="")
    match entry.service:
        case "codebuild":
            return f"{codebuild}projects/{name}/build/{job_id}/?region={region}"
        case "codebuild-batch":
            return f"{codebuild}projects/{name}/batch/{job_id}/?region={region}"
        case "glue":
            return f"{base}/gluestudio/home?region={region}#/job/{name}/run/{job_id}"
        case "batch":
            return f"{base}/batch/home?region={region}#jobs/detail/{job_id}"
        case "amplify":
            app, branch, number = [*entry.job_id.split("/", 2), "", ""][:3]
            return f"{base}/amplify/home?region={region}#/{app}/{quote(branch, safe='')}/{number}"
    return ""


def exemption(entry: Entry, context: Context) -> dict[str, str]:
    """Where the exemption tag goes for this job, that resource's ARN, and the command that
    puts it there (the Resource Groups Tagging API takes every one of these resources)."""
    if not entry.job_id or entry.service not in EXEMPT_WHERE:
        return {}
    partition, _ = _partition(entry.region)
    account = _account(entry, context) or "<account>"
    prefix = f"arn:{partition}:{{service}}:{entry.region}:{account}:"
    match entry.service:
        case "codebuild" | "codebuild-batch":
            arn = prefix.format(service="codebuild") + f"project/{entry.job_name}"
            name = entry.job_name
        case "glue":
            arn = prefix.format(service="glue") + f"job/{entry.job_name}"
            name = entry.job_name
        case "batch":
            arn = entry.arn or prefix.format(service="batch") + f"job/{entry.job_id}"
            name = entry.job_name
        case _:  # amplify: the branch (its tags are read after the app's)
            app, branch = [*entry.job_id.split("/", 2), ""][:2]
            built = prefix.format(service="amplify") + f"apps/{app}/branches/{branch}"
            arn = entry.arn.rsplit("/jobs/", 1)[0] if "/jobs/" in entry.arn else built
            name = branch
    tag = context.exempt_tag
    return {
        "tag": tag,
        "where": EXEMPT_WHERE[entry.service].format(name=name),
        "arn": arn,
        "command": (
            f"aws resourcegroupstaggingapi tag-resources --region {entry.region} "
            f"--resource-arn-list {arn} --tags {tag}=true"
        ),
    }

"""The `jobwarden` command: sweep from a terminal, read the ledger, check and push policies."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from jobwarden.aws import Clients
from jobwarden.ledger import DynamoLedger, Entry
from jobwarden.model import Decision, Mode, Outcome, Verdict
from jobwarden.policies import (
    DEFAULT_POLICY_PATH,
    DEFAULT_SETTINGS_PARAMETER,
    InvalidDocument,
    ParameterStore,
    parse_policy,
)
from jobwarden.runtime import ConfigurationError, Environment, Runtime
from jobwarden.services import REGISTRY
from jobwarden.sweep import SweepResult

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
DURATION = re.compile(r"^(\d+)([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class UsageError(Exception):
    """Bad arguments or configuration: exit code 2."""


def parse_duration(text: str) -> timedelta:
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30m, 24h or 7d")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jobwarden", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    aws = argparse.ArgumentParser(add_help=False)
    aws.add_argument("--region", help="AWS region (default: the profile's, else us-east-1)")
    aws.add_argument("--endpoint-url", help="send every AWS call here (a local emulator)")
    aws.add_argument("--table", default=os.environ.get("JOBWARDEN_TABLE"), help="ledger table")
    aws.add_argument(
        "--policy-path", default=os.environ.get("JOBWARDEN_POLICY_PATH", DEFAULT_POLICY_PATH)
    )
    aws.add_argument(
        "--settings-parameter",
        default=os.environ.get("JOBWARDEN_SETTINGS_PARAMETER", DEFAULT_SETTINGS_PARAMETER),
    )

    scan = commands.add_parser("scan", parents=[aws], help="run one sweep now")
    scan.add_argument(
        "--service", action="append", choices=sorted(REGISTRY), help="repeatable; default all"
    )
    mode = scan.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", dest="mode", action="store_const", const=Mode.DRY_RUN)
    mode.add_argument("--enforce", dest="mode", action="store_const", const=Mode.ENFORCE)
    scan.add_argument("--json", action="store_true", help="one JSON object per decision")
    scan.add_argument("--topic-arn", default=os.environ.get("JOBWARDEN_TOPIC_ARN"))

    decisions = commands.add_parser("decisions", parents=[aws], help="list the ledger")
    decisions.add_argument("--since", type=parse_duration, default=timedelta(hours=24))
    decisions.add_argument("--service", choices=sorted(REGISTRY))
    decisions.add_argument("--json", action="store_true")

    policy = commands.add_parser("policy", help="check or publish policy documents")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    validate = policy_commands.add_parser("validate", help="check documents locally")
    validate.add_argument("files", nargs="+", type=Path)
    push = policy_commands.add_parser("push", parents=[aws], help="validate, then write to SSM")
    push.add_argument("files", nargs="+", type=Path)

    commands.add_parser("demo", help="run the watchdog against a local emulated account")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else EXIT_OK
    try:
        return COMMANDS[args.command](args, sys.stdout)
    except (UsageError, ConfigurationError) as error:
        print(f"jobwarden: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (BotoCoreError, ClientError) as error:
        print(f"jobwarden: AWS error: {error}", file=sys.stderr)
        return EXIT_ERRORS


def clients_for(args: argparse.Namespace) -> Clients:
    return Clients(boto3.Session(), endpoint_url=args.endpoint_url, default_region=args.region)


def require(args: argparse.Namespace, *names: str) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if not getattr(args, n)]
    if missing:
        raise UsageError(f"missing {', '.join(missing)} (or the JOBWARDEN_* environment variable)")


def run_scan(args: argparse.Namespace, out: TextIO) -> int:
    require(args, "table", "topic_arn")
    env = Environment(args.table, args.topic_arn, args.policy_path, args.settings_parameter)
    runtime = Runtime(env, clients_for(args))
    sweeper = runtime.sweeper(args.mode)
    now = datetime.now(UTC)
    results = [sweeper.run(service, now) for service in args.service or sorted(REGISTRY)]
    for problem in sweeper.configuration.problems:
        print(f"skipped {problem.reason}", file=sys.stderr)
    if args.json:
        for result in results:
            for decision in result.decisions:
                print(json.dumps(decision_json(decision, result)), file=out)
            for entry in result.entries:
                if entry.verdict in (Verdict.ERROR, Verdict.RETRY):
                    print(json.dumps(entry.to_json()), file=out)
    else:
        print_table(results, out)
    return EXIT_ERRORS if any(r.errors for r in results) else EXIT_OK


def decision_json(decision: Decision, result: SweepResult) -> dict[str, Any]:
    job = decision.job
    return {
        "service": job.service,
        "region": job.region,
        "job_id": job.job_id,
        "name": job.name,
        "status": job.status,
        "verdict": str(decision.verdict),
        "outcome": str(result.outcomes.get(job.key, Outcome.NONE)),
        "mode": str(decision.mode),
        "policy": decision.policy,
        "reason": decision.reason,
        "run_minutes": round(decision.run_minutes, 1),
        "queue_minutes": round(decision.queue_minutes, 1),
        "cost_usd": None if decision.cost_usd is None else round(decision.cost_usd, 2),
        "at": decision.at.isoformat(),
    }


def print_table(results: Sequence[SweepResult], out: TextIO) -> None:
    rows = [
        (
            d["service"],
            d["name"],
            d["status"],
            d["verdict"],
            d["outcome"],
            d["reason"],
        )
        for result in results
        for d in (decision_json(decision, result) for decision in result.decisions)
    ] + [
        (e.service, e.job_name or e.subject, "-", e.verdict, e.outcome, e.reason)
        for result in results
        for e in result.entries
        if e.verdict in (Verdict.ERROR, Verdict.RETRY)
    ]
    render(("SERVICE", "JOB", "STATUS", "VERDICT", "OUTCOME", "REASON"), rows, out)
    for result in results:
        summary = ", ".join(f"{k} {v}" for k, v in result.summary().items() if k != "service")
        print(f"{result.service}: {summary}", file=out)


def render(header: tuple[str, ...], rows: Sequence[tuple[Any, ...]], out: TextIO) -> None:
    if not rows:
        print("(nothing to show)", file=out)
        return
    table = [header, *[tuple(str(cell) for cell in row) for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]), file=out)


def run_decisions(args: argparse.Namespace, out: TextIO) -> int:
    require(args, "table")
    clients = clients_for(args)
    ledger = DynamoLedger(clients.dynamodb_table(args.table))
    entries = ledger.entries(datetime.now(UTC) - args.since, args.service)
    if args.json:
        for entry in entries:
            print(json.dumps(entry.to_json()), file=out)
        return EXIT_OK
    render(
        ("TIME", "SERVICE", "JOB", "VERDICT", "OUTCOME", "MODE", "REASON"),
        [entry_row(e) for e in entries],
        out,
    )
    return EXIT_OK


def entry_row(entry: Entry) -> tuple[str, ...]:
    when = entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    what = entry.job_name or entry.subject
    return (when, entry.service, what, entry.verdict, entry.outcome, entry.mode, entry.reason)


def read_policies(files: Sequence[Path]) -> tuple[dict[Path, str], list[str]]:
    """Each file's text, and one message per problem across all of them."""
    texts: dict[Path, str] = {}
    messages: list[str] = []
    for path in files:
        try:
            text = path.read_text()
            parse_policy(path.stem, text, REGISTRY)
            texts[path] = text
        except OSError as error:
            messages.append(f"{path}: cannot read: {error.strerror}")
        except InvalidDocument as error:
            messages.extend(f"{path}: {message}" for message in error.messages)
    return texts, messages


def run_policy(args: argparse.Namespace, out: TextIO) -> int:
    texts, messages = read_policies(args.files)
    for message in messages:
        print(message, file=sys.stderr)
    if messages:
        print(
            f"{len(messages)} problem(s); nothing was pushed"
            if args.policy_command == "push"
            else f"{len(messages)} problem(s)",
            file=sys.stderr,
        )
        return EXIT_ERRORS
    if args.policy_command == "validate":
        for path in texts:
            print(f"{path}: ok", file=out)
        return EXIT_OK
    store = ParameterStore(
        clients_for(args).client("ssm"), args.policy_path, args.settings_parameter
    )
    for path, text in texts.items():
        print(f"{path}: pushed to {store.push(path.stem, text)}", file=out)
    return EXIT_OK


def run_demo(args: argparse.Namespace, out: TextIO) -> int:
    from jobwarden.local.demo import run

    return run(out)


COMMANDS = {
    "scan": run_scan,
    "decisions": run_decisions,
    "policy": run_policy,
    "demo": run_demo,
}

"""The `jobwarden` command: sweep from a terminal, read the ledger, check and push policies.

Every failure ends in one plain line on stderr and a documented exit code: 2 when the
arguments, the configuration or the credentials are wrong, 1 when something failed during a
sweep (or any other error), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

import boto3
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from jobwarden.aws import Clients
from jobwarden.bounds import is_known_region
from jobwarden.ledger import DynamoLedger, Entry
from jobwarden.model import Decision, Mode, Outcome, Settings, Verdict
from jobwarden.policies import (
    DEFAULT_POLICY_PATH,
    DEFAULT_SETTINGS_PARAMETER,
    InvalidDocument,
    ParameterStore,
    parse_policy,
    parse_settings,
    policy_cases,
)
from jobwarden.policytest import run_cases
from jobwarden.reporting import GROUPINGS, as_csv, as_json, as_svg, as_text, summarize
from jobwarden.runtime import ConfigurationError, Environment, Runtime
from jobwarden.services import REGISTRY
from jobwarden.simulate import HEADER as SIMULATE_HEADER
from jobwarden.simulate import ReadOnlyClients, progress_bar, simulate, summary_line
from jobwarden.simulate import table as simulation_table
from jobwarden.sweep import SweepResult

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
DURATION = re.compile(r"^(\d+)([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# Each segment of an SSM parameter name: letters, digits, "_", "." and "-".
NAME_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]+$")
# Error codes that say the credentials, or a name we were given, are wrong.
CONFIGURATION_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ResourceNotFoundException",  # the ledger table named does not exist
    }
)


class UsageError(Exception):
    """Bad arguments or configuration: exit code 2."""


CONFIGURATION_ERRORS = (
    UsageError,
    ConfigurationError,
    GetParameterError,  # Powertools' wrapper of any SDK error reading SSM
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    NoRegionError,
    InvalidRegionError,
    ProfileNotFound,
)


def exit_code_of(error: Exception) -> int:
    if isinstance(error, CONFIGURATION_ERRORS):
        return EXIT_USAGE
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        return EXIT_USAGE if code in CONFIGURATION_CODES else EXIT_ERRORS
    return EXIT_ERRORS


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def parse_duration(text: str) -> timedelta:
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30m, 24h or 7d")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def parse_region(text: str) -> str:
    if not is_known_region(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a region botocore knows")
    return text


def build_parser() -> argparse.ArgumentParser:
    """Each command takes only the options it uses, each with its help."""
    parser = argparse.ArgumentParser(prog="jobwarden", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--verbose", action="store_true", help="also print jobwarden's own log, with tracebacks"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    aws = argparse.ArgumentParser(add_help=False)
    aws.add_argument(
        "--region", type=parse_region, help="AWS region (default: the profile's, else us-east-1)"
    )
    aws.add_argument("--endpoint-url", help="send every AWS call here (a local emulator)")
    table = argparse.ArgumentParser(add_help=False)
    table.add_argument(
        "--table",
        default=os.environ.get("JOBWARDEN_TABLE"),
        help="the ledger's DynamoDB table (default: $JOBWARDEN_TABLE)",
    )
    policy_path = argparse.ArgumentParser(add_help=False)
    policy_path.add_argument(
        "--policy-path",
        default=os.environ.get("JOBWARDEN_POLICY_PATH", DEFAULT_POLICY_PATH),
        help=f"SSM path of the policies (default: $JOBWARDEN_POLICY_PATH, else "
        f"{DEFAULT_POLICY_PATH})",
    )

    scan = commands.add_parser("scan", parents=[aws, table, policy_path], help="run one sweep now")
    scan.add_argument(
        "--settings-parameter",
        default=os.environ.get("JOBWARDEN_SETTINGS_PARAMETER", DEFAULT_SETTINGS_PARAMETER),
        help=f"SSM parameter of the settings (default: $JOBWARDEN_SETTINGS_PARAMETER, else "
        f"{DEFAULT_SETTINGS_PARAMETER})",
    )
    scan.add_argument(
        "--topic-arn",
        default=os.environ.get("JOBWARDEN_TOPIC_ARN"),
        help="the alerts' SNS topic (default: $JOBWARDEN_TOPIC_ARN)",
    )
    scan.add_argument(
        "--service",
        action="append",
        choices=sorted(REGISTRY),
        help="sweep only this service (repeatable; default: every service)",
    )
    mode = scan.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run",
        dest="mode",
        action="store_const",
        const=Mode.DRY_RUN,
        help="decide, record and alert, but stop nothing, whatever the settings say",
    )
    mode.add_argument(
        "--enforce",
        dest="mode",
        action="store_const",
        const=Mode.ENFORCE,
        help="stop what is over its limits, whatever the settings' mode (not the kill switch)",
    )
    scan.add_argument("--json", action="store_true", help="print one JSON object per decision")

    decisions = commands.add_parser("decisions", parents=[aws, table], help="list the ledger")
    decisions.add_argument(
        "--since",
        type=parse_duration,
        default=timedelta(hours=24),
        help="how far back, like 30m, 24h or 7d (default: 24h)",
    )
    decisions.add_argument("--service", choices=sorted(REGISTRY), help="only this service")
    decisions.add_argument("--json", action="store_true", help="print one JSON object per entry")

    report = commands.add_parser(
        "report",
        parents=[aws, table],
        help="what was stopped, held or notified, and the money it saved, from the ledger",
    )
    report.add_argument(
        "--since",
        type=parse_duration,
        default=timedelta(days=30),
        help="how far back, like 24h or 30d (default: 30d)",
    )
    report.add_argument(
        "--by",
        choices=GROUPINGS,
        default="service",
        help="one row per service, policy, project (the job's name) or team (its team tag); "
        "default: service",
    )
    report_format = report.add_mutually_exclusive_group()
    report_format.add_argument("--json", action="store_true", help="print one JSON object")
    report_format.add_argument("--csv", action="store_true", help="print CSV, the total last")
    report.add_argument(
        "--plot", type=Path, metavar="FILE", help="also write a bar chart of the money as SVG"
    )

    policy = commands.add_parser("policy", help="check or publish policy documents")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    files = argparse.ArgumentParser(add_help=False)
    files.add_argument("files", nargs="+", type=Path, help="policy documents (JSON files)")
    files.add_argument(
        "--root",
        type=Path,
        help="name each policy by its path below this folder (team-a/nightly.json is "
        "team-a/nightly); default: by its file name alone, and two files of the same name "
        "are refused",
    )
    policy_commands.add_parser(
        "validate", parents=[files], help="check documents locally, as the sweeps would"
    )
    policy_commands.add_parser(
        "push",
        parents=[files, aws, policy_path],
        help="validate every document, then write them all to SSM (or none)",
    )

    simulate = policy_commands.add_parser(
        "simulate",
        parents=[files, aws],
        help="replay the services' recent history against these documents (not pushed): "
        "what would have been warned, stopped or held, when, and the money saved; "
        "read-only, it never calls a stop",
    )
    simulate.add_argument(
        "--since",
        type=parse_duration,
        default=timedelta(days=14),
        help="how far back, like 24h or 14d (default: 14d)",
    )
    simulate.add_argument(
        "--service",
        action="append",
        choices=sorted(REGISTRY),
        help="replay only this service (repeatable; default: every service)",
    )
    simulate.add_argument(
        "--settings",
        type=Path,
        metavar="FILE",
        help="a settings document (JSON) for the exemption tag, prices and stop budget "
        "(default: the defaults)",
    )
    simulate.add_argument("--json", action="store_true", help="print one JSON object")
    policy_commands.add_parser(
        "test",
        parents=[files],
        help='run the test cases the documents carry (their "tests"), with a fixed clock',
    )

    commands.add_parser("demo", help="run the watchdog against a local emulated account")
    return parser


def configure_logging(verbose: bool) -> None:
    """The product logs for CloudWatch; on a terminal the command's own lines say each
    reason once, so the log is shown only when asked for. Configured once per process."""
    product = logging.getLogger("jobwarden")
    for old in [h for h in product.handlers if getattr(h, "jobwarden_cli", False)]:
        product.removeHandler(old)
    handler: logging.Handler = logging.NullHandler()
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("jobwarden: %(levelname)s %(name)s: %(message)s"))
        product.setLevel(logging.INFO)
    handler.jobwarden_cli = True  # type: ignore[attr-defined]
    product.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else EXIT_OK
    configure_logging(args.verbose)
    try:
        return COMMANDS[args.command](args, sys.stdout)
    except Exception as error:  # every failure ends as one line and an exit code
        if args.verbose:
            logging.getLogger("jobwarden").exception("failed")
        print(f"jobwarden: {one_line(error)}", file=sys.stderr)
        return exit_code_of(error)


def clients_for(args: argparse.Namespace) -> Clients:
    return Clients(boto3.Session(), endpoint_url=args.endpoint_url, default_region=args.region)


def require(args: argparse.Namespace, *names: str) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if not getattr(args, n)]
    if missing:
        raise UsageError(f"missing {', '.join(missing)} (or the JOBWARDEN_* environment variable)")


def run_scan(args: argparse.Namespace, out: TextIO) -> int:
    """Sweep each service in turn; one service's failure is reported and the others still
    run."""
    require(args, "table", "topic_arn")
    env = Environment(args.table, args.topic_arn, args.policy_path, args.settings_parameter)
    runtime = Runtime(env, clients_for(args))
    try:
        sweeper = runtime.sweeper(args.mode)
    except GetParameterError as error:
        raise UsageError(f"cannot read the policies and settings: {one_line(error)}") from error
    now = datetime.now(UTC)
    results, failed = [], []
    for service in args.service or sorted(REGISTRY):
        try:
            results.append(sweeper.run(service, now))
        except Exception as error:  # noqa: BLE001 - one service must not end the scan
            failed.append(service)
            print(f"jobwarden: {service}: the sweep failed: {one_line(error)}", file=sys.stderr)
    for problem in sweeper.configuration.problems:
        print(f"jobwarden: skipped {problem.reason}", file=sys.stderr)
    if args.json:
        for result in results:
            for decision in result.decisions:
                print(json.dumps(decision_json(decision, result)), file=out)
            for entry in result.entries:
                if _is_listed(entry):
                    print(json.dumps(entry.to_json()), file=out)
    else:
        print_table(results, out)
    return EXIT_ERRORS if failed or any(r.errors for r in results) else EXIT_OK


def decision_json(decision: Decision, result: SweepResult) -> dict[str, Any]:
    """A judged job as the sweep left it: the settled entry's verdict, mode and reason where
    the act step changed them (a stop held by the budget or the kill switch read fresh)."""
    job = decision.job
    settled = next(
        (e for e in reversed(result.entries) if e.subject == job.key and e.verdict != "retry"),
        None,
    )
    return {
        "service": job.service,
        "region": job.region,
        "job_id": job.job_id,
        "name": job.name,
        "status": job.status,
        "verdict": str(settled.verdict if settled else decision.verdict),
        "outcome": str(result.outcomes.get(job.key, Outcome.NONE)),
        "mode": str(settled.mode if settled else decision.mode),
        "policy": decision.policy,
        "reason": settled.reason if settled else decision.reason,
        "run_minutes": round(decision.run_minutes, 1),
        "queue_minutes": round(decision.queue_minutes, 1),
        "cost_usd": None if decision.cost_usd is None else round(decision.cost_usd, 2),
        "at": decision.at.isoformat(),
        **_waste_fields(decision, settled),
    }


def _waste_fields(decision: Decision, settled: Entry | None) -> dict[str, str]:
    """Why a queued job waits, its branch, and the run it is linked to (the newer run that
    superseded it), where there are any."""
    job = decision.job
    fields = {"queue_reason": job.queue_reason, "branch": job.branch}
    fields["linked"] = settled.linked if settled else ""
    return {key: value for key, value in fields.items() if value}


def _is_listed(entry: Entry) -> bool:
    """Entries shown besides the judged jobs: errors, retries and resubmitted copies."""
    return entry.verdict in (Verdict.ERROR, Verdict.RETRY) or (
        entry.verdict is Verdict.RESUBMIT and bool(entry.linked)
    )


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
        if _is_listed(e)
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


def run_report(args: argparse.Namespace, out: TextIO) -> int:
    require(args, "table")
    ledger = DynamoLedger(clients_for(args).dynamodb_table(args.table))
    until = datetime.now(UTC)
    report = summarize(ledger.entries(until - args.since), args.by, until - args.since, until)
    if args.plot:
        try:
            args.plot.write_text(as_svg(report))
        except OSError as error:
            raise UsageError(f"cannot write {args.plot}: {error.strerror}") from error
    if args.json:
        print(json.dumps(as_json(report)), file=out)
    elif args.csv:
        out.write(as_csv(report))
    else:
        print(as_text(report), file=out)
    return EXIT_OK


def entry_row(entry: Entry) -> tuple[str, ...]:
    when = entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    what = entry.job_name or entry.subject
    return (when, entry.service, what, entry.verdict, entry.outcome, entry.mode, entry.reason)


def policy_names(files: Sequence[Path], root: Path | None) -> tuple[dict[Path, str], list[str]]:
    """The name each file is published under, and one message per file that cannot be.

    By default a policy is named by its file name; two files of the same name would overwrite
    each other in SSM, so they are refused. With `root`, sub-folders become sub-paths.
    """
    names: dict[Path, str] = {}
    messages: list[str] = []
    for path in files:
        if root is None:
            name = path.stem
        else:
            try:
                name = str(PurePosixPath(*path.resolve().relative_to(root.resolve()).parts))
            except ValueError:
                messages.append(f"{path}: not below --root {root}")
                continue
            name = name.removesuffix(path.suffix)
        segments = name.split("/")
        if not all(NAME_SEGMENT.match(segment) for segment in segments):
            messages.append(
                f"{path}: {name!r} cannot name a parameter (letters, digits, '_', '.', '-' only)"
            )
            continue
        names[path] = name
    seen: dict[str, Path] = {}
    for path, name in names.items():
        if name in seen:
            messages.append(
                f"{path}: would overwrite {seen[name]} (both are named {name!r}); "
                "give --root to push sub-folders to sub-paths, or rename one"
            )
        seen.setdefault(name, path)
    return names, messages


def read_policies(
    files: Sequence[Path], root: Path | None = None
) -> tuple[dict[str, str], dict[str, Path], list[str]]:
    """Each policy's text and file by name, and one message per problem across all of them:
    the same validation the sweeps apply."""
    names, messages = policy_names(files, root)
    texts: dict[str, str] = {}
    for path, name in names.items():
        try:
            text = path.read_text()
            parse_policy(name, text, REGISTRY)
            texts[name] = text
        except OSError as error:
            messages.append(f"{path}: cannot read: {error.strerror}")
        except UnicodeDecodeError:
            messages.append(f"{path}: not UTF-8 text")
        except InvalidDocument as error:
            messages.extend(f"{path}: {message}" for message in error.messages)
    return texts, {name: path for path, name in names.items()}, messages


def run_policy(args: argparse.Namespace, out: TextIO) -> int:
    texts, paths, messages = read_policies(args.files, args.root)
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
        for name in texts:
            print(f"{paths[name]}: ok ({name})", file=out)
        return EXIT_OK
    if args.policy_command == "simulate":
        return run_simulate(args, texts, out)
    if args.policy_command == "test":
        return run_policy_tests(texts, paths, out)
    store = ParameterStore(clients_for(args).client("ssm"), args.policy_path)
    for name, text in texts.items():
        print(f"{paths[name]}: pushed to {store.push(name, text)}", file=out)
    return EXIT_OK


def run_simulate(args: argparse.Namespace, texts: dict[str, str], out: TextIO) -> int:
    """Replay the history read-only: the clients refuse any call but a read, before it is
    sent, and the replay never reaches the act step."""
    settings = Settings()
    if args.settings:
        try:
            settings = parse_settings(args.settings.read_text(), str(args.settings))
        except OSError as error:
            raise UsageError(f"cannot read {args.settings}: {error.strerror}") from error
        except InvalidDocument as error:
            raise UsageError(str(error)) from error
    policies = [parse_policy(name, text, REGISTRY) for name, text in texts.items()]
    clients = ReadOnlyClients(
        boto3.Session(), endpoint_url=args.endpoint_url, default_region=args.region
    )
    regions = list(settings.regions) or [clients.default_region]
    adapters = [
        REGISTRY[service](clients, region, settings)
        for service in args.service or sorted(REGISTRY)
        for region in regions
    ]
    now = datetime.now(UTC)
    result = simulate(
        adapters, policies, settings, now - args.since, now, progress=progress_bar(sys.stderr)
    )
    for problem in result.unreadable:
        print(f"jobwarden: could not read {problem.subject}: {problem.reason}", file=sys.stderr)
    if args.json:
        document = {
            "since": result.since.isoformat(),
            "until": result.now.isoformat(),
            "totals": result.totals(),
            "jobs": [item.as_json() for item in result.found],
            "calls": dict(sorted(clients.calls.items())),
        }
        print(json.dumps(document), file=out)
    else:
        render(SIMULATE_HEADER, simulation_table(result), out)
        print(summary_line(result), file=out)
    return EXIT_ERRORS if result.unreadable else EXIT_OK


def run_policy_tests(texts: dict[str, str], paths: dict[str, Path], out: TextIO) -> int:
    policies = [parse_policy(name, text, REGISTRY) for name, text in texts.items()]
    cases = [
        case
        for name, text in texts.items()
        if "tests" in json.loads(text)
        for case in policy_cases(str(paths[name]), text, REGISTRY)
    ]
    if not cases:
        print('no test cases: add "tests" to a document (see the README)', file=sys.stderr)
        return EXIT_ERRORS
    results = run_cases(cases, policies)
    for result in results:
        print(result.line(), file=out)
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed", file=out)
    return EXIT_ERRORS if failed else EXIT_OK


def run_demo(args: argparse.Namespace, out: TextIO) -> int:
    from jobwarden.local.demo import run

    return run(out)


COMMANDS = {
    "scan": run_scan,
    "decisions": run_decisions,
    "report": run_report,
    "policy": run_policy,
    "demo": run_demo,
}

"""Cold import of the Lambda handlers against `import boto3`, whole process, as Lambda starts.

Each measurement is a fresh interpreter (`python -c`), so nothing is cached in memory but the
files the OS keeps; one warm-up run of each statement first (so .pyc files exist, as in the
deployed asset's layer), then the statements interleaved round by round, so load on a
shared machine falls on all of them alike, and the median of the rounds is kept.
Tracing off is what the stack deploys (POWERTOOLS_TRACE_DISABLED=true: the handlers never
import the X-Ray SDK); on is `-c tracing=true` (Powertools' Tracer, which imports the X-Ray
SDK, and the SDK builds an X-Ray client at import).
For the breakdown: `python -X importtime -c "import jobwarden.handlers.sweep"`.
Run: `make bench` or `python bench/import_cost.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

LAMBDA_LIKE = {
    "AWS_LAMBDA_FUNCTION_NAME": "jobwarden-sweep",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "JOBWARDEN_TABLE": "t",
    "JOBWARDEN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
    "POWERTOOLS_SERVICE_NAME": "jobwarden",
    "POWERTOOLS_METRICS_NAMESPACE": "JobWarden",
}


def environment(tracing: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    env.update(LAMBDA_LIKE)
    if not tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def once(statement: str, tracing: bool) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=environment(tracing))
    return time.perf_counter() - started


CASES = [("import boto3", False)] + [
    (f"import jobwarden.handlers.{handler}", tracing)
    for handler in ("sweep", "events")
    for tracing in (False, True)
]


def medians(runs: int) -> dict[tuple[str, bool], float]:
    for statement, tracing in CASES:  # warm-up: bytecode written, files in the page cache
        once(statement, tracing)
    times: dict[tuple[str, bool], list[float]] = {case: [] for case in CASES}
    for _ in range(runs):
        for case in CASES:
            times[case].append(once(*case))
    return {case: statistics.median(took) for case, took in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    empty = statistics.median(once("pass", False) for _ in range(5))
    took = medians(args.runs)
    baseline = took[("import boto3", False)]
    print(
        f"whole process, median of {args.runs} interleaved rounds: python alone "
        f"{empty * 1000:.0f} ms, import boto3 {baseline * 1000:.0f} ms"
    )
    print("| handler | tracing | cold import | x import boto3 |")
    print("|---|---|---|---|")
    for (statement, tracing), seconds in took.items():
        if statement == "import boto3":
            continue
        handler = statement.rsplit(".", 1)[1]
        print(
            f"| {handler} | {'on' if tracing else 'off (default)'} | {seconds * 1000:.0f} ms "
            f"| {seconds / baseline:.2f} |"
        )
    worst = max(s / baseline for (st, tr), s in took.items() if st != "import boto3" and not tr)
    if worst > 1.3:
        raise SystemExit(f"cold import {worst:.2f}x import boto3 as deployed: over 1.3x")


if __name__ == "__main__":
    main()

"""Cold import of the Lambda handlers against `import boto3`, whole process, as Lambda starts.

Each measurement is a fresh interpreter (`python -c`), so nothing is cached in memory; the
median of several runs is kept. Tracing on means X-Ray active (POWERTOOLS_TRACE_DISABLED
unset, the X-Ray SDK loaded by Powertools' Tracer); off is what the stack deploys by default.
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


def seconds(statement: str, tracing: bool, runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    env.update(LAMBDA_LIKE)
    if not tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    baseline = seconds("import boto3", True, args.runs)
    empty = seconds("pass", True, args.runs)
    print(
        f"whole process, median of {args.runs}: python alone {empty * 1000:.0f} ms, "
        f"import boto3 {baseline * 1000:.0f} ms"
    )
    print("| handler | tracing | cold import | x import boto3 |")
    print("|---|---|---|---|")
    worst = 0.0
    for handler in ("sweep", "events"):
        for tracing in (True, False):
            took = seconds(f"import jobwarden.handlers.{handler}", tracing, args.runs)
            ratio = took / baseline
            if tracing:
                worst = max(worst, ratio)
            print(
                f"| {handler} | {'on' if tracing else 'off'} | {took * 1000:.0f} ms | {ratio:.2f} |"
            )
    if worst > 1.3:
        raise SystemExit(f"cold import {worst:.2f}x import boto3 with tracing on: over 1.3x")


if __name__ == "__main__":
    main()

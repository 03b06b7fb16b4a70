"""Cold import of the Lambda handlers against `import boto3`, whole process, as Lambda starts.

As Lambda runs the code: the package is staged as the asset is (`infra.package.stage`: no
emulator, no cache files) into a directory that is the task root (LAMBDA_TASK_ROOT, which
Lambda sets and the X-Ray SDK reads to know it is inside Lambda) and first on the path, and
Python may not write bytecode there (PYTHONDONTWRITEBYTECODE: /var/task is read-only). Two
assets: sources only, as a stack is deployed when no Python of the runtime's version synthesized
it or was on the PATH (every cold start compiles the package), and with the bytecode the asset
carries otherwise, made here by this interpreter. Dependencies are this environment's, with
their bytecode, standing in for the runtime's boto3 and the Powertools layer.
Tracing off is what the stack deploys (POWERTOOLS_TRACE_DISABLED=true: the handlers never
import the X-Ray SDK); on is `-c tracing=true` (Powertools' Tracer patching botocore).

Each measurement is a fresh interpreter (`python -c`). One warm-up run of each first (files
in the page cache), then the cases interleaved round by round, so load on a shared machine
falls on all of them alike. The fastest round of each case is its cost (what is left when
nothing else interferes: the steadiest figure from run to run); the ratio of the medians is
printed beside it.
For the breakdown: `python -X importtime -c "import jobwarden.handlers.sweep"` in the same
environment (`--importtime HANDLER` prints it, sorted by own time).
Run: `make bench` or `python bench/import_cost.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra import package

LAMBDA_LIKE = {
    "AWS_LAMBDA_FUNCTION_NAME": "jobwarden-sweep",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "JOBWARDEN_TABLE": "t",
    "JOBWARDEN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
    "POWERTOOLS_SERVICE_NAME": "jobwarden",
    "POWERTOOLS_METRICS_NAMESPACE": "JobWarden",
    "PYTHONDONTWRITEBYTECODE": "1",
}
TRACING_ON = {"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}


def environment(task_root: Path, tracing: bool) -> dict[str, str]:
    inherited = ("POWERTOOLS_", "AWS_", "PYTHON", "LAMBDA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    env.update(LAMBDA_LIKE, LAMBDA_TASK_ROOT=str(task_root), PYTHONPATH=str(task_root))
    env.update(TRACING_ON if tracing else {"POWERTOOLS_TRACE_DISABLED": "true"})
    return env


def once(statement: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=env)
    return time.perf_counter() - started


def importtime(statement: str, env: dict[str, str], top: int = 25) -> None:
    """Print the modules that took longest by their own time (microseconds)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    rows = re.findall(r"import time:\s+(\d+) \|\s+(\d+) \|\s+(\S+)", err)
    for own, _, module in sorted(rows, key=lambda row: -int(row[0]))[:top]:
        print(f"{int(own):8d} us  {module}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--importtime", metavar="HANDLER", help="sweep or events: breakdown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        assets = {"sources only": Path(scratch, "sources"), "with bytecode": Path(scratch, "pyc")}
        for label, root in assets.items():
            package.stage(root, compiler=[sys.executable] if label == "with bytecode" else None)
        if args.importtime:
            env = environment(assets["with bytecode"], tracing=True)
            importtime(f"import jobwarden.handlers.{args.importtime}", env)
            return
        cases = [("import boto3", "sources only", False)] + [
            (f"import jobwarden.handlers.{handler}", asset, tracing)
            for handler in ("sweep", "events")
            for asset in assets
            for tracing in (False, True)
        ]
        envs = {case: environment(assets[case[1]], case[2]) for case in cases}
        for case in cases:  # warm-up: files in the page cache
            once(case[0], envs[case])
        times: dict[tuple[str, str, bool], list[float]] = {case: [] for case in cases}
        for _ in range(args.runs):
            for case in cases:
                times[case].append(once(case[0], envs[case]))
    fastest = {case: min(seconds) for case, seconds in times.items()}
    median = {case: statistics.median(seconds) for case, seconds in times.items()}
    boto3 = cases[0]
    print(
        f"whole process, Python {sys.version.split()[0]}, {args.runs} interleaved rounds: "
        f"import boto3 {fastest[boto3] * 1000:.0f} ms fastest, {median[boto3] * 1000:.0f} ms median"
    )
    print("| handler | asset | tracing | cold import | x import boto3 | x (medians) |")
    print("|---|---|---|---|---|---|")
    for case in cases[1:]:
        statement, asset, tracing = case
        print(
            f"| {statement.rsplit('.', 1)[1]} | {asset} | {'on' if tracing else 'off (default)'} "
            f"| {fastest[case] * 1000:.0f} ms | {fastest[case] / fastest[boto3]:.2f} "
            f"| {median[case] / median[boto3]:.2f} |"
        )


if __name__ == "__main__":
    main()

"""Cold import of the Lambda handlers against `import boto3`, whole process, as Lambda starts.

As Lambda runs the code: the package is staged as the asset is (`infra.package.stage`: no
emulator, no cache files) into a directory that is the task root (LAMBDA_TASK_ROOT, which
Lambda sets and the X-Ray SDK reads to know it is inside Lambda) and first on the path, and
Python may not write bytecode there (PYTHONDONTWRITEBYTECODE: /var/task is read-only). Two
assets: sources only, as a stack is deployed when no Python of the runtime's version synthesized
it or was on the PATH (every cold start compiles the package), and with the bytecode the asset
carries otherwise, made here by this interpreter. Dependencies are this environment's, with
their bytecode, standing in for the runtime's boto3 and the Powertools layer.
Tracing as the context `tracing` deploys it: `false` (the default) and `true` (Lambda's own
active tracing) both set POWERTOOLS_TRACE_DISABLED=true, so the handlers never import the X-Ray
SDK and their import is the same; `calls` loads Powertools' Tracer, patching botocore.

Each measurement is a fresh interpreter (`python -c`). One warm-up run of each first (files
in the page cache), then the cases interleaved round by round, so load on a shared machine
falls on all of them alike. The fastest round of each case is its cost (what is left when
nothing else interferes: the steadiest figure from run to run); the ratio of the medians is
printed beside it. Beside the times, each case's instruction count under valgrind's callgrind
(one run each, hash seed fixed): it is the same from run to run and whatever else the machine
is doing, so it is the figure to compare across changes; it leaves out waiting on the disk.
For the breakdown: `python -X importtime -c "import jobwarden.handlers.sweep"` in the same
environment (`--importtime HANDLER [--calls]` prints it, sorted by own time).
Run: `make bench` or `python bench/import_cost.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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
# What Lambda sets when active tracing is on.
ACTIVE_TRACING = {"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}
# The context `tracing` as the functions see it: does Powertools' Tracer record each call?
TRACE_LEVELS = {"false or true": False, "calls": True}


def environment(task_root: Path, tracer: bool) -> dict[str, str]:
    inherited = ("POWERTOOLS_", "AWS_", "PYTHON", "LAMBDA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    env.update(LAMBDA_LIKE, LAMBDA_TASK_ROOT=str(task_root), PYTHONPATH=str(task_root))
    env.update(ACTIVE_TRACING if tracer else {"POWERTOOLS_TRACE_DISABLED": "true"})
    return env


def once(statement: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=env)
    return time.perf_counter() - started


CALLGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def instructions(statement: str, env: dict[str, str]) -> int:
    """Instructions the whole process executes (valgrind's callgrind)."""
    err = subprocess.run(
        [*CALLGRIND, sys.executable, "-c", statement],
        env={**env, "PYTHONHASHSEED": "0"},
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    match = re.search(r"Collected : (\d+)", err)
    if match is None:
        raise RuntimeError(f"callgrind reported no count:\n{err}")
    return int(match.group(1))


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


# Times the creation of the package's dataclasses (the methods Python generates and compiles
# for each) during the import, by wrapping the standard library's own step: observed, unchanged.
DATACLASS_CLOCK = """
import dataclasses, time
spent, made = 0.0, 0
create = dataclasses._process_class
def timed(cls, *args, **named):
    global spent, made
    started = time.perf_counter()
    result = create(cls, *args, **named)
    if cls.__module__.startswith("jobwarden"):
        spent, made = spent + time.perf_counter() - started, made + 1
    return result
dataclasses._process_class = timed
started = time.perf_counter()
import {module}
print(made, spent, time.perf_counter() - started)
"""


def dataclass_share(module: str, env: dict[str, str], runs: int = 5) -> None:
    """Print the import's time in creating the package's dataclasses (fastest of `runs`)."""
    readings = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", DATACLASS_CLOCK.format(module=module)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        readings.append((int(out[0]), float(out[1]), float(out[2])))
    made = readings[0][0]
    spent = min(reading[1] for reading in readings)
    whole = min(reading[2] for reading in readings)
    print(
        f"creating the package's {made} dataclasses: {spent * 1000:.1f} ms of the "
        f"{whole * 1000:.1f} ms `import {module}` takes after the interpreter starts"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--importtime", metavar="HANDLER", help="sweep or events: breakdown")
    parser.add_argument(
        "--no-instructions", action="store_true", help="skip the instruction counts (valgrind)"
    )
    parser.add_argument(
        "--calls", action="store_true", help="the breakdown with `tracing=calls` (X-Ray SDK)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        assets = {"sources only": Path(scratch, "sources"), "with bytecode": Path(scratch, "pyc")}
        for label, root in assets.items():
            package.stage(root, compiler=[sys.executable] if label == "with bytecode" else None)
        if args.importtime:
            env = environment(assets["with bytecode"], tracer=args.calls)
            importtime(f"import jobwarden.handlers.{args.importtime}", env)
            dataclass_share(f"jobwarden.handlers.{args.importtime}", env)
            return
        cases = [("import boto3", "sources only", "false or true")] + [
            (f"import jobwarden.handlers.{handler}", asset, level)
            for handler in ("sweep", "events")
            for asset in assets
            for level in TRACE_LEVELS
        ]
        envs = {case: environment(assets[case[1]], TRACE_LEVELS[case[2]]) for case in cases}
        for case in cases:  # warm-up: files in the page cache
            once(case[0], envs[case])
        times: dict[tuple[str, str, str], list[float]] = {case: [] for case in cases}
        for _ in range(args.runs):
            for case in cases:
                times[case].append(once(case[0], envs[case]))
        counted = shutil.which("valgrind") is not None and not args.no_instructions
        counts = {case: instructions(case[0], envs[case]) for case in cases if counted}
    fastest = {case: min(seconds) for case, seconds in times.items()}
    median = {case: statistics.median(seconds) for case, seconds in times.items()}
    boto3 = cases[0]
    print(
        f"whole process, Python {sys.version.split()[0]}, {args.runs} interleaved rounds: "
        f"import boto3 {fastest[boto3] * 1000:.0f} ms fastest, {median[boto3] * 1000:.0f} ms median"
    )
    if counts:
        print(f"import boto3: {counts[boto3] / 1e6:.0f} M instructions (callgrind)")
    else:
        print("instructions: not counted (no valgrind, or --no-instructions)")
    print(
        "| handler | asset | tracing | cold import | x import boto3 | x (medians) "
        "| x (instructions) |"
    )
    print("|---|---|---|---|---|---|---|")
    for case in cases[1:]:
        statement, asset, level = case
        counted_ratio = f"{counts[case] / counts[boto3]:.3f}" if counts else "-"
        print(
            f"| {statement.rsplit('.', 1)[1]} | {asset} | {level} "
            f"| {fastest[case] * 1000:.0f} ms | {fastest[case] / fastest[boto3]:.2f} "
            f"| {median[case] / median[boto3]:.2f} | {counted_ratio} |"
        )


if __name__ == "__main__":
    main()

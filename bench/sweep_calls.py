"""What one sweep's listing costs in calls, at the sizes of issue 11 and 10x smaller.

Seeds each service in the emulated account (moto + the fills), then counts, with a botocore
hook, the service's own API calls of the listing step of three kinds of sweep:

  full         `list_active`: the reconcile, and every sweep without events
  incremental  `list_since` a watermark left by the full listing, after the new jobs of one
               sweep interval (CodeBuild: 40 builds); only where a listing grows with history
  index        `describe_many` of the active jobs the events indexed

next to the fewest calls each needs (`minimum`, derived in the README), with wall time and
the process's peak memory. Ledger, SSM and SNS calls are the same in every mode and not
counted. Run: `make bench` or `python bench/sweep_calls.py [--small-only]`.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from jobwarden.aws import Clients
from jobwarden.local.account import create_codebuild_project
from jobwarden.local.amplify import create_app
from jobwarden.local.batch import create_job_queue, register_job_definition
from jobwarden.local.emulator import emulated_account
from jobwarden.local.glue import create_glue_job
from jobwarden.model import Job, Settings
from jobwarden.services import REGISTRY
from jobwarden.services.base import ServiceAdapter

REGION = "us-east-1"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@dataclass
class Row:
    service: str
    size: str
    mode: str
    calls: int
    minimum: int
    seconds: float
    by_operation: Counter[str]

    @property
    def ratio(self) -> float:
        return self.calls / self.minimum if self.minimum else 1.0


class Calls:
    """Every call made through `clients` while counting, by operation (a botocore hook)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.on = False

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        if self.on:
            self.counts[model.name] += 1


def measure(  # noqa: PLR0917 - one row of the table, named by its columns
    service: str, size: str, mode: str, minimum: int, calls: Calls, run: Callable[[], Any]
) -> tuple[Row, Any]:
    calls.counts.clear()
    calls.on = True
    started = time.perf_counter()
    value = run()
    seconds = time.perf_counter() - started
    calls.on = False
    counts = Counter(calls.counts)
    return Row(service, size, mode, sum(counts.values()), minimum, seconds, counts), value


def jobs(items: Iterator[Any]) -> list[Job]:
    return [item for item in items if isinstance(item, Job)]


def adapter(service: str, clients: Clients) -> ServiceAdapter:
    return REGISTRY[service](clients, REGION, Settings())


def pages(n: int, size: int = 100) -> int:
    return max(1, math.ceil(n / size))


# --- CodeBuild ------------------------------------------------------------------------------


def codebuild(clients: Clients, emulator: Any, history: int, calls: Calls) -> list[Row]:
    """`history` builds over the last 44 h (the listing's reach), 60 of them running, 8
    projects; then 40 new builds, 10 of them still running, and 10 of the 60 finished."""
    fill = emulator.fill("codebuild")
    clock = [NOW]
    emulator.clock = lambda: clock[0]
    projects = [f"app-{n}" for n in range(8)]
    for name in projects:
        create_codebuild_project(clients, name)
    span = timedelta(hours=43)
    running: list[str] = []
    for n in range(history):
        clock[0] = NOW - span + span * n / history
        build = fill.start_build({"projectName": projects[n % 8]}, REGION)["build"]
        if n % max(1, history // 60) == 0 and len(running) < 60:
            running.append(build["id"])
        else:
            fill.finish(build["id"])
    clock[0] = NOW
    size = f"{history:,} builds"
    cb = adapter("codebuild", clients)
    full_min = 2 * pages(history) + pages(len(projects))
    row_full, listed = measure(
        "codebuild", size, "full", full_min, calls, lambda: jobs(cb.list_active(NOW))
    )
    assert len(listed) == len(running), (len(listed), len(running))
    mark = cb.listed
    assert mark is not None
    # One sweep interval later: 40 new builds, 10 of them running; 10 of the 60 end.
    later = NOW + 5 * MINUTE
    for n in range(40):
        clock[0] = NOW + MINUTE + MINUTE * n / 10
        build = fill.start_build({"projectName": projects[n % 8]}, REGION)["build"]
        if n % 4:
            fill.finish(build["id"])
        else:
            running.append(build["id"])
    for build_id in running[:10]:
        fill.finish(build_id)
    active = running[10:]
    clock[0] = later
    cb = adapter("codebuild", clients)
    incremental_min = 1 + pages(40 + 60) + 1
    row_inc, found = measure(
        "codebuild",
        size,
        "incremental",
        incremental_min,
        calls,
        lambda: jobs(cb.list_since(mark, later)),
    )
    assert {j.job_id for j in found} == set(active), "incremental listing lost a build"
    cb = adapter("codebuild", clients)
    row_index, _ = measure(
        "codebuild",
        size,
        "index",
        pages(len(active)) + 1,
        calls,
        lambda: cb.describe_many(active, later),
    )
    return [row_full, row_inc, row_index]


# --- Batch ----------------------------------------------------------------------------------


def batch(clients: Clients, emulator: Any, queues: int, per_queue: int, calls: Calls) -> list[Row]:
    fill = emulator.fill("batch")
    emulator.clock = lambda: NOW
    register_job_definition(clients, "align", vcpus=4, memory_mib=8192)
    client = clients.client("batch")
    ids = []
    for q in range(queues):
        create_job_queue(clients, f"queue-{q}", {"team": f"t{q}"})
        for _ in range(per_queue):
            job_id = client.submit_job(
                jobName="align", jobQueue=f"queue-{q}", jobDefinition="align"
            )["jobId"]
            fill.set_status(job_id, "RUNNABLE")
            ids.append(job_id)
    size = f"{queues} queues, {len(ids)} jobs"
    full_min = pages(queues) + 5 * queues + pages(len(ids))
    b = adapter("batch", clients)
    row_full, _ = measure("batch", size, "full", full_min, calls, lambda: jobs(b.list_active(NOW)))
    b = adapter("batch", clients)
    row_index, _ = measure(
        "batch",
        size,
        "index",
        pages(len(ids)) + pages(queues),
        calls,
        lambda: b.describe_many(ids, NOW),
    )
    return [row_full, row_index]


# --- Glue -----------------------------------------------------------------------------------


def glue(clients: Clients, emulator: Any, job_count: int, calls: Calls) -> list[Row]:
    """`job_count` jobs, each with 20 finished runs and, for one job in three, a running one."""
    fill = emulator.fill("glue")
    clock = [NOW - timedelta(hours=30)]
    emulator.clock = lambda: clock[0]
    client = clients.client("glue")
    runs: dict[str, str] = {}
    for n in range(job_count):
        create_glue_job(clients, f"etl-{n}", {"team": "data"}, max_concurrent_runs=30)
        for r in range(20):
            clock[0] = NOW - timedelta(hours=30) + timedelta(hours=r)
            run_id = client.start_job_run(JobName=f"etl-{n}")["JobRunId"]
            fill.finish(run_id, "SUCCEEDED")
        if n % 3 == 0:
            clock[0] = NOW - timedelta(minutes=30)
            runs[client.start_job_run(JobName=f"etl-{n}")["JobRunId"]] = f"etl-{n}"
    clock[0] = NOW
    size = f"{job_count} jobs, {len(runs)} running"
    with_runs = len(set(runs.values()))
    g = adapter("glue", clients)
    row_full, _ = measure(
        "glue",
        size,
        "full",
        pages(job_count) + job_count + with_runs,
        calls,
        lambda: jobs(g.list_active(NOW)),
    )
    g = adapter("glue", clients)
    row_index, _ = measure(
        "glue",
        size,
        "index",
        len(runs) + pages(with_runs) + with_runs,
        calls,
        lambda: g.describe_many(list(runs), NOW, runs),
    )
    return [row_full, row_index]


# --- Amplify --------------------------------------------------------------------------------


def amplify(clients: Clients, emulator: Any, apps: int, calls: Calls) -> list[Row]:
    """`apps` apps of 2 branches, each branch with 10 finished jobs and one running."""
    from jobwarden.local.amplify import start_job

    ids = []
    for a in range(apps):
        app_id = create_app(clients, f"site-{a}", {"team": "web"}, branches=("main", "preview"))
        for branch in ("main", "preview"):
            for j in range(10):
                start_job(
                    emulator,
                    clients,
                    app_id,
                    branch,
                    NOW - timedelta(hours=12) + j * MINUTE * 30,
                    (MINUTE, "RUNNING"),
                    (10 * MINUTE, "SUCCEED"),
                )
            ids.append(
                start_job(emulator, clients, app_id, branch, NOW - 20 * MINUTE, (MINUTE, "RUNNING"))
            )
    size = f"{apps} apps, {2 * apps} branches"
    amp = adapter("amplify", clients)
    full_min = pages(apps) + apps + 2 * apps + len(ids)
    row_full, _ = measure(
        "amplify", size, "full", full_min, calls, lambda: jobs(amp.list_active(NOW))
    )
    amp = adapter("amplify", clients)
    row_index, _ = measure(
        "amplify",
        size,
        "index",
        len(ids) + apps + 2 * apps,
        calls,
        lambda: amp.describe_many(ids, NOW),
    )
    return [row_full, row_index]


def run_all(scale: float) -> list[Row]:
    rows: list[Row] = []
    plans: list[tuple[str, Callable[[Clients, Any, Calls], list[Row]]]] = [
        (
            "codebuild",
            lambda c, e, k: codebuild(c, e, int(20_000 * scale), k),
        ),
        ("batch", lambda c, e, k: batch(c, e, max(2, int(20 * scale)), 5, k)),
        ("glue", lambda c, e, k: glue(c, e, max(3, int(300 * scale)), k)),
        ("amplify", lambda c, e, k: amplify(c, e, max(2, int(50 * scale)), k)),
    ]
    if scale >= 1:
        plans.insert(1, ("codebuild", lambda c, e, k: codebuild(c, e, 50_000, k)))
    for _service, plan in plans:
        with emulated_account() as emulator:
            clients = Clients(default_region=REGION)
            calls = Calls()
            for name in ("codebuild", "batch", "glue", "amplify"):
                calls.attach(clients.client(name, REGION))
            rows.extend(plan(clients, emulator, calls))
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| service | size | sweep | calls | minimum | calls / minimum | wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.service} | {r.size} | {r.mode} | {r.calls} | {r.minimum} | "
            f"{r.ratio:.2f} | {r.seconds:.2f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-only", action="store_true", help="only the 10x smaller sizes")
    parser.add_argument("--verbose", action="store_true", help="calls by operation")
    args = parser.parse_args()
    rows = run_all(0.1)
    if not args.small_only:
        rows += run_all(1.0)
    print(table(rows))
    if args.verbose:
        for r in rows:
            print(r.service, r.size, r.mode, dict(r.by_operation))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of the whole run: {peak:.0f} MiB")
    worst = [
        r for r in rows if r.ratio > 1.2 and not (r.service == "codebuild" and r.mode == "full")
    ]
    if worst:
        raise SystemExit(f"over 1.2x the minimum: {[(r.service, r.size, r.mode) for r in worst]}")


if __name__ == "__main__":
    main()

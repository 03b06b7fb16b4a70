"""The deployed stack's own monthly AWS bill, line by line, from the synthesized template.

Reads cdk.out/JobWarden.template.json (run `make synth` first, or pass --template) for what
is deployed (functions, memory, tracing, alarms, dashboards, KMS keys, rules) and a workload
(jobs a day, stuck share, sweep rate, events on or off), and prints each line with its price
and the price's source. us-east-1 list prices, no free tier. Modelled, not billed: the
per-invocation durations and log sizes are estimates stated below.
Run: `make bench` or `python bench/cost.py [--jobs-per-day N] [--idle] ...`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

READ = "read 2026-11-25"
# UNVERIFIED: no stored AWS page showed the price on re-reading; see bench/SOURCES.md.
UNVERIFIED = "list price, not confirmed on an AWS page: bench/SOURCES.md"
# (price, source)
PRICES = {
    "lambda_gb_s_arm": (
        0.0000133334,
        f"aws.amazon.com/lambda/pricing (arm64, as in artillery's prices.js, {READ})",
    ),
    "lambda_request": (0.20 / 1e6, f"aws.amazon.com/lambda/pricing ({READ})"),
    "metric_month": (0.30, f"aws.amazon.com/cloudwatch/pricing (first 10k metrics, {READ})"),
    "alarm_metric_month": (0.10, f"aws.amazon.com/cloudwatch/pricing (standard alarm, {READ})"),
    "dashboard_month": (3.00, f"aws.amazon.com/cloudwatch/pricing ({READ})"),
    "log_gb": (0.50, f"aws.amazon.com/cloudwatch/pricing (logs ingested; {UNVERIFIED})"),
    "kms_key_month": (1.00, f"aws.amazon.com/kms/pricing ({READ})"),
    "kms_request": (0.03 / 1e4, f"aws.amazon.com/kms/pricing (requests; {UNVERIFIED})"),
    "xray_trace": (
        5.00 / 1e6,
        f"aws.amazon.com/de/xray/pricing (traces recorded, German edition; {READ})",
    ),
    "ddb_wru": (0.625 / 1e6, f"aws.amazon.com/dynamodb/pricing/on-demand ({UNVERIFIED})"),
    "ddb_rru": (0.125 / 1e6, f"aws.amazon.com/dynamodb/pricing/on-demand ({UNVERIFIED})"),
    "scheduler_invocation": (1.00 / 1e6, f"aws.amazon.com/eventbridge/pricing ({UNVERIFIED})"),
    "sns_publish": (0.50 / 1e6, f"aws.amazon.com/sns/pricing ({UNVERIFIED})"),
}
HOURS = 730
DAYS = 30.4
# Estimates of the model (not prices): the mean billed duration of a warm invocation, the
# log bytes of one invocation (START/END/REPORT and our own lines), and index item sizes.
SWEEP_SECONDS_IDLE, SWEEP_SECONDS_BUSY, EVENT_SECONDS = 0.3, 1.0, 0.05
LOG_BYTES_SWEEP, LOG_BYTES_EVENT = 1500, 900
EVENTS_PER_JOB = 2  # a start and an end pass the rules (Batch's steps are filtered)
INDEX_ITEM_BYTES = 300
TOMBSTONE_DAYS = 2
JOB_MINUTES = 15  # mean time a job is active (queued or running): what the index holds
# A publish to an SSE topic: a data key for the message, a decrypt per delivery (assumed: no
# data key reuse, two subscriptions).
KMS_REQUESTS_PER_PUBLISH = 3


@dataclass(frozen=True)
class Workload:
    jobs_per_day: float
    stuck_share: float
    sweep_minutes: float
    events: bool


@dataclass(frozen=True)
class Line:
    name: str
    quantity: str
    usd: float
    source: str


def deployed(template: dict) -> dict:
    resources = template["Resources"].values()
    functions = [r for r in resources if r["Type"] == "AWS::Lambda::Function"]
    sweeps = [
        f for f in functions if f["Properties"]["Handler"] == "jobwarden.handlers.sweep.handler"
    ]
    events = [f for f in functions if f not in sweeps]
    alarms = [r for r in resources if r["Type"] == "AWS::CloudWatch::Alarm"]
    # A metric-math alarm is billed per metric it reads (its expressions are free).
    alarm_metrics = sum(
        sum("MetricStat" in m for m in a["Properties"].get("Metrics", [])) or 1 for a in alarms
    )
    tables = [r for r in resources if r["Type"] == "AWS::DynamoDB::Table"]
    indexes = {
        i["IndexName"] for t in tables for i in t["Properties"].get("GlobalSecondaryIndexes", [])
    }
    topics = [r for r in resources if r["Type"] == "AWS::SNS::Topic"]
    return {
        "sweeps": len(sweeps),
        "sweep_gb": sweeps[0]["Properties"]["MemorySize"] / 1024 if sweeps else 0,
        "event_gb": events[0]["Properties"]["MemorySize"] / 1024 if events else 0,
        "traced": any("TracingConfig" in f["Properties"] for f in functions),
        "alarm_metrics": alarm_metrics,
        "dashboards": sum(r["Type"] == "AWS::CloudWatch::Dashboard" for r in resources),
        "kms_keys": sum(r["Type"] == "AWS::KMS::Key" for r in resources),
        "encrypted_topics": sum("KmsMasterKeyId" in t["Properties"] for t in topics),
        # Per-service dashboard metrics are sent only when the functions are told to.
        "dashboard_metrics": any(
            f["Properties"]["Environment"]["Variables"].get("JOBWARDEN_DASHBOARD") == "true"
            for f in functions
        ),
        # The sparse index of active jobs: sweeps read no tombstones, events write it too.
        "active_index": "active" in indexes,
        "event_services": 4 if events else 0,
    }


def bill(stack: dict, work: Workload) -> list[Line]:
    p = {k: v[0] for k, v in PRICES.items()}
    s = {k: v[1] for k, v in PRICES.items()}
    sweeps = stack["sweeps"] * HOURS * 60 / work.sweep_minutes
    busy = work.jobs_per_day > 0
    sweep_seconds = SWEEP_SECONDS_BUSY if busy else SWEEP_SECONDS_IDLE
    events = work.jobs_per_day * DAYS * EVENTS_PER_JOB if work.events else 0
    invocations = sweeps + events
    gb_s = sweeps * sweep_seconds * stack["sweep_gb"] + events * EVENT_SECONDS * stack["event_gb"]
    stuck = work.jobs_per_day * DAYS * work.stuck_share
    lines = [
        Line(
            "Lambda requests",
            f"{invocations:,.0f}",
            invocations * p["lambda_request"],
            s["lambda_request"],
        ),
        Line(
            "Lambda duration (arm64)",
            f"{gb_s:,.0f} GB-s",
            gb_s * p["lambda_gb_s_arm"],
            s["lambda_gb_s_arm"],
        ),
    ]
    log_gb = (sweeps * LOG_BYTES_SWEEP + events * LOG_BYTES_EVENT) / 1e9
    lines.append(
        Line("CloudWatch Logs ingested", f"{log_gb:.2f} GB", log_gb * p["log_gb"], s["log_gb"])
    )
    # Metrics: a series costs for each hour it gets a value; only non-zero values are sent.
    # The alarmed ones (one series each) get a value only in an hour something failed: none
    # in a healthy month. The per-service ones are sent only with the dashboard.
    series_hours = 0.0
    if busy and stack["dashboard_metrics"]:
        per_service_per_hour = work.jobs_per_day / 24 / max(1, stack["sweeps"])
        stops_per_service_hour = per_service_per_hour * work.stuck_share
        seen = stack["sweeps"] * HOURS  # JobsSeen, every hour, every service
        acted = 2 * stack["sweeps"] * HOURS * min(1.0, stops_per_service_hour)  # stopped, notified
        applied = stack["event_services"] * HOURS if work.events else 0  # EventsApplied
        series_hours = seen + acted + applied
    metrics = series_hours / HOURS
    lines.append(
        Line(
            "CloudWatch custom metrics (EMF)",
            f"{metrics:.1f} metric-months",
            metrics * p["metric_month"],
            s["metric_month"],
        )
    )
    lines.append(
        Line(
            "CloudWatch alarms",
            f"{stack['alarm_metrics']} alarm metrics",
            stack["alarm_metrics"] * p["alarm_metric_month"],
            s["alarm_metric_month"],
        )
    )
    lines.append(
        Line(
            "CloudWatch dashboards",
            str(stack["dashboards"]),
            stack["dashboards"] * p["dashboard_month"],
            s["dashboard_month"],
        )
    )
    lines.append(
        Line(
            "KMS customer managed keys",
            str(stack["kms_keys"]),
            stack["kms_keys"] * p["kms_key_month"],
            s["kms_key_month"],
        )
    )
    kms_requests = stuck * KMS_REQUESTS_PER_PUBLISH if stack["encrypted_topics"] else 0
    lines.append(
        Line(
            "KMS requests (AWS managed SNS key)",
            f"{kms_requests:,.0f}",
            kms_requests * p["kms_request"],
            s["kms_request"],
        )
    )
    traces = (min(invocations, HOURS * 3600) + 0.05 * invocations) if stack["traced"] else 0
    traces = min(traces, invocations)
    lines.append(
        Line(
            "X-Ray traces",
            f"{traces:,.0f}",
            traces * p["xray_trace"],
            s["xray_trace"] + " (1/s reservoir + 5%)",
        )
    )
    # DynamoDB: an index write per event; ledger writes per stuck job (write-ahead, settle,
    # outbox); per sweep: recovery, outbox, budget, watermark and index reads. Eventually
    # consistent reads: 8 KB a read unit, at least half a unit a query. Without the sparse
    # index the query reads the tombstones of the last TOMBSTONE_DAYS too; with it, only the
    # jobs active now, and each job costs two more index writes (entering and leaving it).
    per_service = work.jobs_per_day / max(1, stack["sweeps"])
    if stack["active_index"]:
        index_items = per_service * JOB_MINUTES / (24 * 60)
        index_wru = work.jobs_per_day * DAYS * 2 if work.events else 0
    else:
        index_items = per_service * (TOMBSTONE_DAYS + JOB_MINUTES / (24 * 60))
        index_wru = 0
    index_rru = max(0.5, index_items * INDEX_ITEM_BYTES / 8192) if work.events else 0
    rru = sweeps * (4 + index_rru)
    wru = events * 1 + index_wru + stuck * 6 + sweeps * 2
    lines.append(
        Line("DynamoDB reads (on demand)", f"{rru:,.0f} RRU", rru * p["ddb_rru"], s["ddb_rru"])
    )
    lines.append(
        Line("DynamoDB writes (on demand)", f"{wru:,.0f} WRU", wru * p["ddb_wru"], s["ddb_wru"])
    )
    schedules = sweeps + (work.jobs_per_day * DAYS * 0.1 if work.events else 0)
    lines.append(
        Line(
            "EventBridge Scheduler invocations",
            f"{schedules:,.0f}",
            schedules * p["scheduler_invocation"],
            s["scheduler_invocation"],
        )
    )
    lines.append(Line("SNS publishes", f"{stuck:,.0f}", stuck * p["sns_publish"], s["sns_publish"]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="cdk.out/JobWarden.template.json")
    parser.add_argument("--jobs-per-day", type=float, default=10_000)
    parser.add_argument("--stuck-share", type=float, default=0.02)
    parser.add_argument("--sweep-minutes", type=float, default=5)
    parser.add_argument("--no-events", action="store_true")
    parser.add_argument("--idle", action="store_true", help="no jobs at all")
    args = parser.parse_args()
    stack = deployed(json.loads(Path(args.template).read_text()))
    for label, jobs in (("10,000 jobs a day", args.jobs_per_day), ("idle", 0.0)):
        if args.idle and jobs:
            continue
        work = Workload(jobs, args.stuck_share, args.sweep_minutes, not args.no_events)
        lines = bill(stack, work)
        print(
            f"\n### {label}: {jobs:,.0f} jobs a day, {work.stuck_share:.0%} stuck, "
            f"sweeps every {work.sweep_minutes:g} min, events {'on' if work.events else 'off'}"
        )
        print("| line | quantity | USD a month | price source |")
        print("|---|---|---|---|")
        for line in lines:
            print(f"| {line.name} | {line.quantity} | {line.usd:.2f} | {line.source} |")
        print(f"| **total** | | **{sum(line.usd for line in lines):.2f}** | |")


if __name__ == "__main__":
    main()

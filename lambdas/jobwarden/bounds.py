"""What the services and AWS themselves allow: the bounds every document and event is held to.

One place, so `policy validate`, `policy push`, the sweeps and the events function agree on
what a valid number, region or time is, and no arithmetic on a valid value can overflow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import botocore.session

MINUTES_PER_DAY = 24 * 60
# For services that document no maximum a job may live, a year: far past any job a watchdog
# should let run, and small enough that no deadline computed from it can overflow.
CEILING_MINUTES = 366 * MINUTES_PER_DAY
MAX_COST_USD = 1_000_000.0  # one job's cost limit
MAX_PRICE_PER_HOUR = 10_000.0  # USD per unit-hour in the settings' prices
MAX_PRIORITY = 1_000_000
MAX_RETRY_ATTEMPTS = 10
MAX_STOPS = 10_000  # the stop budget's stops per window
MAX_STOP_WINDOW_MINUTES = 7 * MINUTES_PER_DAY
MAX_RETENTION_DAYS = 3650  # ten years of ledger
MAX_RECONCILE_MINUTES = MINUTES_PER_DAY  # as the stack's context allows (1-1440)
MAX_DIGEST_MINUTES = MINUTES_PER_DAY  # a digest at least daily
# SNS allows 10 message attributes; ours take 7, so routing is by one `owner` array, and a
# policy names a handful of targets, not a mailing list (subscribe those to a topic).
MAX_NOTIFY_TARGETS = 10
MAX_TAG_KEY_LENGTH = 128  # tag keys, in every service jobwarden reads tags from
# An SNS standard topic ARN (FIFO topics need a message group id, which alerts do not have).
SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}")

# EventBridge Scheduler's at(yyyy-mm-ddThh:mm:ss) documents no upper bound; EventBridge's cron
# year field runs 1970-2199, and we assume at() accepts no more. A later deadline is not
# scheduled: the sweeps cover the job.
LATEST_SCHEDULABLE = datetime(2199, 12, 31, 23, 59, 0, tzinfo=UTC)
# Event times outside this range are not times a service sends.
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ServiceLimits:
    """The longest a job of one service can run and wait in its queue, in minutes."""

    run_minutes: int
    queue_minutes: int
    source: str


SERVICE_LIMITS = {
    "codebuild": ServiceLimits(
        2160, 480, "botocore's CodeBuild model: BuildTimeOut 5-2160, TimeOut (queued) 5-480"
    ),
    "codebuild-batch": ServiceLimits(
        CEILING_MINUTES,
        480,
        "a batch's builds may run one after another and its timeoutInMins has no maximum in "
        "botocore's model; its queued timeout is CodeBuild's (TimeOut 5-480)",
    ),
    "glue": ServiceLimits(
        10080,
        10080,
        "botocore's Glue model: JobRun Timeout at most 10080 minutes; waiting and starting are "
        "assumed to take no longer (the adapter lists runs 14 days back)",
    ),
    "batch": ServiceLimits(
        CEILING_MINUTES, CEILING_MINUTES, "AWS Batch documents no maximum job or queue time"
    ),
    "amplify": ServiceLimits(
        120,
        CEILING_MINUTES,
        "Amplify Hosting user guide, Troubleshooting build issues: the build timeout is at most "
        "120 minutes; no maximum wait for a build instance is documented",
    ),
}

# The retry types each service's retry API accepts: CodeBuild's RetryBuildBatch retryType,
# Amplify's StartJob jobType RETRY.
RETRY_TYPES = {
    "codebuild-batch": ("RETRY_ALL_BUILDS", "RETRY_FAILED_BUILDS"),
    "amplify": ("RETRY",),
}

# The services whose runs say which branch or pull request they build (CodeBuild's
# `sourceVersion`, Amplify's branch): only these can be superseded by a newer run.
SUPERSEDE_SERVICES = ("amplify", "codebuild", "codebuild-batch")
# The services that can submit a stuck job again elsewhere: Batch's SubmitJob to another queue.
RESUBMIT_SERVICES = ("batch",)

# The first segment of every price key `pricing` knows (codebuild:<env>:<compute>, ...).
PRICE_FAMILIES = ("amplify", "batch-ec2", "codebuild", "fargate", "glue")


def run_limit(services: Iterable[str]) -> int:
    """The longest any of these services' jobs can run (the ceiling for unknown ones)."""
    return max((_limits(s).run_minutes for s in services), default=CEILING_MINUTES)


def queue_limit(services: Iterable[str]) -> int:
    return max((_limits(s).queue_minutes for s in services), default=CEILING_MINUTES)


def _limits(service: str) -> ServiceLimits:
    return SERVICE_LIMITS.get(service, ServiceLimits(CEILING_MINUTES, CEILING_MINUTES, ""))


@cache
def known_regions() -> frozenset[str]:
    """Every region botocore's partition data names, in every partition."""
    partitions = botocore.session.get_session().get_data("partitions")["partitions"]
    return frozenset(
        region
        for partition in partitions
        for region in partition.get("regions", {})
        if re.match(partition["regionRegex"], region)
    )


def is_known_region(value: object) -> bool:
    return isinstance(value, str) and value in known_regions()

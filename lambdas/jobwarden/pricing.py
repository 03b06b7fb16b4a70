"""Estimated cost so far, from what a job is billed on and for how long it has run.

Rates are USD per unit-hour, on-demand, US East (N. Virginia). Settings' `prices` override
any key, so an account with other rates or discounts can correct them without a release.
"""

from __future__ import annotations

from collections.abc import Mapping

from jobwarden.model import CostBasis

PER_MINUTE = 60.0

# CodeBuild on-demand per-minute rates, us-east-1, as published on
# https://aws.amazon.com/codebuild/pricing/ and the AWS Price List (read 2026-11-23 through
# infracost's price-list fixtures and third-party cost tables; the pricing page itself was
# not reachable from here). Key: "codebuild:<environment type>:<compute type>"; the API's
# compute type names are shared across environment types, the rate is not.
# Compute types missing here have no estimate (no cost limit applies) until `prices` sets one.
CODEBUILD_PER_MINUTE: dict[str, float] = {
    "LINUX_CONTAINER:BUILD_GENERAL1_SMALL": 0.005,
    "LINUX_CONTAINER:BUILD_GENERAL1_MEDIUM": 0.01,
    "LINUX_CONTAINER:BUILD_GENERAL1_LARGE": 0.02,
    "LINUX_CONTAINER:BUILD_GENERAL1_2XLARGE": 0.20,
    "ARM_CONTAINER:BUILD_GENERAL1_SMALL": 0.0034,
    "ARM_CONTAINER:BUILD_GENERAL1_LARGE": 0.015,
    "LINUX_GPU_CONTAINER:BUILD_GENERAL1_LARGE": 0.65,
    "WINDOWS_SERVER_2019_CONTAINER:BUILD_GENERAL1_MEDIUM": 0.018,
    "WINDOWS_SERVER_2019_CONTAINER:BUILD_GENERAL1_LARGE": 0.036,
    # Lambda compute is billed per second: $0.00002/s (x86) and $0.00001/s (arm) for 1 GB.
    "LINUX_LAMBDA_CONTAINER:BUILD_LAMBDA_1GB": 0.00002 * 60,
    "ARM_LAMBDA_CONTAINER:BUILD_LAMBDA_1GB": 0.00001 * 60,
}
CODEBUILD_RATES = {
    f"codebuild:{key}": per_minute * PER_MINUTE for key, per_minute in CODEBUILD_PER_MINUTE.items()
}

RATES: dict[str, float] = {**CODEBUILD_RATES}


def codebuild_basis(environment_type: str, compute_type: str) -> CostBasis:
    return CostBasis(((f"codebuild:{environment_type}:{compute_type}", 1.0),))


def hourly_rate(basis: CostBasis, overrides: Mapping[str, float]) -> float | None:
    """USD per hour for the whole job, or None when any component has no known rate."""
    total = 0.0
    for key, quantity in basis.components:
        rate = overrides.get(key, RATES.get(key))
        if rate is None:
            return None
        total += rate * quantity
    return total


def estimate_cost(
    basis: CostBasis | None, run_seconds: float, overrides: Mapping[str, float]
) -> float | None:
    if basis is None:
        return None
    rate = hourly_rate(basis, overrides)
    return None if rate is None else rate * run_seconds / 3600


# Glue, us-east-1, for Glue 5.1 and earlier: $0.44 per DPU-hour standard, $0.29 for the Flex
# execution class (https://aws.amazon.com/glue/pricing/, read 2026-11-23 through a mirror of
# that page); memory-optimized R workers $0.52 per M-DPU-hour and Ray (Z.2X) workers $0.44
# per M-DPU-hour (the same page, read through two third-party copies of its price table).
GLUE_RATES = {
    "glue:dpu": 0.44,
    "glue:dpu-flex": 0.29,
    "glue:m-dpu": 0.52,
    "glue:m-dpu-ray": 0.44,
}
# Units of each worker type: G workers in DPUs, R workers in memory-optimized DPUs (M-DPU,
# 4 vCPU and 32 GB), Ray's Z.2X in 2 M-DPU ("AWS Glue worker types" and "Accounting for
# workers in Ray jobs", AWS Glue developer guide).
GLUE_WORKERS: dict[str, tuple[str, float]] = {
    "G.025X": ("dpu", 0.25),
    "G.1X": ("dpu", 1.0),
    "G.2X": ("dpu", 2.0),
    "G.4X": ("dpu", 4.0),
    "G.8X": ("dpu", 8.0),
    "G.12X": ("dpu", 12.0),
    "G.16X": ("dpu", 16.0),
    "R.1X": ("m-dpu", 1.0),
    "R.2X": ("m-dpu", 2.0),
    "R.4X": ("m-dpu", 4.0),
    "R.8X": ("m-dpu", 8.0),
    "Z.2X": ("m-dpu-ray", 2.0),
}

# AWS Fargate (Batch on Fargate), us-east-1, per vCPU-hour and per GB-hour
# (https://aws.amazon.com/fargate/pricing/, read 2026-11-23 through two cost guides). Batch on
# EC2 is billed as instances, not jobs: "batch-ec2:vcpu" is an estimate (an m5.large's $0.096
# an hour over its 2 vCPUs) that accounts should override in settings.
BATCH_RATES = {
    "fargate:X86_64:vcpu": 0.04048,
    "fargate:X86_64:gb": 0.004445,
    "fargate:ARM64:vcpu": 0.03238,
    "fargate:ARM64:gb": 0.00356,
    "batch-ec2:vcpu": 0.048,
}

# Amplify Hosting build minutes, standard instance (8 GiB): $0.01 a minute
# (https://aws.amazon.com/amplify/pricing/, read 2026-11-23; the larger instances' rates were
# not confirmed, so they have no estimate until settings give one).
AMPLIFY_RATES = {"amplify:STANDARD_8GB": 0.01 * PER_MINUTE}

RATES.update(GLUE_RATES)
RATES.update(BATCH_RATES)
RATES.update(AMPLIFY_RATES)


def glue_basis(
    worker_type: str | None,
    number_of_workers: int | None,
    max_capacity: float | None,
    execution_class: str | None,
    used_units: float | None = None,
) -> CostBasis | None:
    """What a Glue run is billed on, per hour of its run time.

    `used_units` is the mean number of (M-)DPUs the run has actually used (from its
    `DPUSeconds`), for runs billed on use; otherwise the units allocated: the worker type's
    units times the workers, else MaxCapacity. None when neither is known.
    """
    unit, per_worker = GLUE_WORKERS.get(worker_type or "", ("dpu", 0.0))
    if worker_type and worker_type not in GLUE_WORKERS and worker_type != "Standard":
        return CostBasis(((f"glue:worker:{worker_type}", float(number_of_workers or 0)),))
    key = f"glue:{unit}"
    if unit == "dpu" and execution_class == "FLEX":
        key = "glue:dpu-flex"
    if used_units is not None:
        return CostBasis(((key, used_units),))
    if per_worker and number_of_workers:
        return CostBasis(((key, per_worker * number_of_workers),))
    if max_capacity:
        return CostBasis(((key, float(max_capacity)),))
    return None


def batch_basis(platform: str, vcpus: float, memory_mib: float, architecture: str) -> CostBasis:
    if platform == "FARGATE":
        return CostBasis(
            (
                (f"fargate:{architecture}:vcpu", vcpus),
                (f"fargate:{architecture}:gb", memory_mib / 1024),
            )
        )
    return CostBasis((("batch-ec2:vcpu", vcpus),))


def amplify_basis(compute_type: str) -> CostBasis:
    return CostBasis(((f"amplify:{compute_type}", 1.0),))

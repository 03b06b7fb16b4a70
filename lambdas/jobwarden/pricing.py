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

from __future__ import annotations

import pytest
from jobwarden.model import CostBasis
from jobwarden.pricing import codebuild_basis, estimate_cost, hourly_rate


def test_codebuild_small_linux_is_half_a_cent_a_minute():
    basis = codebuild_basis("LINUX_CONTAINER", "BUILD_GENERAL1_SMALL")
    assert estimate_cost(basis, 60 * 60, {}) == pytest.approx(0.30)


def test_environment_type_changes_the_rate():
    linux = hourly_rate(codebuild_basis("LINUX_CONTAINER", "BUILD_GENERAL1_SMALL"), {})
    arm = hourly_rate(codebuild_basis("ARM_CONTAINER", "BUILD_GENERAL1_SMALL"), {})
    assert linux is not None
    assert arm is not None
    assert arm < linux


def test_unknown_compute_type_has_no_estimate():
    assert estimate_cost(codebuild_basis("LINUX_CONTAINER", "BUILD_NEW_TYPE"), 3600, {}) is None
    assert estimate_cost(None, 3600, {}) is None


def test_settings_override_and_add_rates():
    basis = CostBasis((("codebuild:LINUX_CONTAINER:BUILD_NEW_TYPE", 2.0),))
    assert hourly_rate(basis, {"codebuild:LINUX_CONTAINER:BUILD_NEW_TYPE": 1.5}) == 3.0


def test_components_add_up():
    basis = CostBasis((("a", 2.0), ("b", 4.0)))
    assert hourly_rate(basis, {"a": 0.5, "b": 0.25}) == 2.0

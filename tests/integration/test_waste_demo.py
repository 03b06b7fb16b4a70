"""`make demo`'s waste scenario: one superseded build, one hopeless wait stopped at once, one
resubmission, and a capacity wait within its limit left alone."""

from __future__ import annotations

from datetime import UTC, datetime

import jobwarden.services.amplify
import jobwarden.services.batch  # noqa: F401 - registers the adapters
from jobwarden.local import waste_demo
from jobwarden.local.account import put_policy, put_settings


def test_the_demo_shows_one_of_each(account, capsys):
    put_settings(account.clients, {"mode": "enforce"})
    for name, document in waste_demo.DEMO_POLICIES.items():
        put_policy(account.clients, name, document)
    jobs = waste_demo.seed_demo(account.emulator, account.clients, datetime.now(UTC))

    code, _ = account.scan(capsys, "--service", "amplify", "--service", "batch")

    assert code == 0
    states = waste_demo.describe_for_demo(account.clients, jobs)
    found = {label: states[job_id] for label, job_id in jobs.items()}
    resubmitted = found.pop("seq-chr2 (RUNNABLE 5 h, no capacity)")
    assert resubmitted.startswith("FAILED; copy ")
    assert resubmitted.endswith(" SUBMITTED in overflow")
    assert found == {
        "blog/main #1 (building 4 min, a newer build queued)": "CANCELLING",
        "blog/main #2 (the newer build, pending)": "PENDING",
        "blog/dev (another branch, building)": "RUNNING",
        "seq-chr1 (RUNNABLE 3 min, no CE fits it)": "FAILED",
        "seq-chr3 (RUNNABLE 40 min, no capacity)": "RUNNABLE",
    }

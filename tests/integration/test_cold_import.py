"""A handler's cold import loads all of the package its invocations run, so what
bench/import_cost.py measures is the cold start, not a part of it moved to the first call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def first_invocation(handler: str) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-m", "tests.integration.first_invocation", handler],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def test_a_sweep_that_stops_and_alerts_loads_nothing_its_cold_import_did_not():
    ran = first_invocation("sweep")
    assert ran["summary"]["stopped"] == 1
    assert ran["alerts"] == 1
    assert ran["late"] == []


def test_an_event_that_schedules_a_deadline_loads_nothing_its_cold_import_did_not():
    ran = first_invocation("events")
    assert ran["summary"]["kind"] == "entered", ran
    assert ran["late"] == []

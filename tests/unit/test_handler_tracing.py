"""Unless tracing is `calls`, the X-Ray SDK is never imported; with it, Powertools' Tracer."""

from __future__ import annotations

import os
import subprocess
import sys

from jobwarden.handlers.tracing import NoTracer, tracer, tracing_disabled

IN_LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "jobwarden-sweep"}


def test_off_when_disabled_or_outside_lambda():
    assert tracing_disabled({**IN_LAMBDA, "POWERTOOLS_TRACE_DISABLED": "true"})
    assert tracing_disabled({**IN_LAMBDA, "POWERTOOLS_TRACE_DISABLED": "1"})
    assert tracing_disabled({})
    assert not tracing_disabled(IN_LAMBDA)
    assert not tracing_disabled({**IN_LAMBDA, "POWERTOOLS_TRACE_DISABLED": "false"})


def test_no_tracer_leaves_the_handler_as_it_is():
    def handler(event: dict, context: object) -> dict:
        return event

    off = tracer({**IN_LAMBDA, "POWERTOOLS_TRACE_DISABLED": "true"})
    assert isinstance(off, NoTracer)
    assert off.capture_lambda_handler(handler) is handler


def imported_after(handler: str, **env: str) -> set[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    environ.update({"AWS_REGION": "us-east-1", **IN_LAMBDA, **env})
    out = subprocess.run(
        [sys.executable, "-c", f"import sys, {handler}; print(' '.join(sys.modules))"],
        env=environ,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


def test_handlers_with_tracing_off_never_import_the_xray_sdk():
    for handler in ("jobwarden.handlers.sweep", "jobwarden.handlers.events"):
        modules = imported_after(handler, POWERTOOLS_TRACE_DISABLED="true")
        assert "aws_xray_sdk" not in modules
        # Nor what only the CLI needs.
        assert "jobwarden.cli" not in modules


def test_the_events_function_never_loads_the_sweeps_acting_code():
    modules = imported_after("jobwarden.handlers.events", POWERTOOLS_TRACE_DISABLED="true")
    assert not {"jobwarden.act", "jobwarden.sweep", "jobwarden.outbox"} & modules


def test_handlers_with_tracing_on_use_powertools_tracer_on_botocore_only():
    modules = imported_after("jobwarden.handlers.sweep", LAMBDA_TASK_ROOT="/var/task")
    assert "aws_xray_sdk.core" in modules
    assert "aws_xray_sdk.ext.botocore.patch" in modules
    # requests is installed here (moto needs it); patch_all would import and patch it.
    assert "requests" not in modules
    assert "aws_xray_sdk.ext.requests.patch" not in modules

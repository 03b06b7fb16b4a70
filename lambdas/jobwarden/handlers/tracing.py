"""Powertools' Tracer when X-Ray records each AWS call, and nothing at all otherwise.

Powertools' Tracer loads the X-Ray SDK even when POWERTOOLS_TRACE_DISABLED is set. The stack
sets POWERTOOLS_TRACE_DISABLED=true unless the context `tracing` is `calls`
(`infra.constructs.function.TraceLevel`), so that is what decides; with `tracing=true`,
Lambda traces each invocation by itself, without the SDK in the function.
When on, only botocore is patched: every call the handlers make goes through it, and the
SDK's default (`patch_all`) would import and patch whatever else is installed (requests,
sqlite3, http.client) for nothing (bench/import_cost.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, cast

Handler = TypeVar("Handler", bound=Callable[..., Any])

# What the X-Ray SDK records subsegments for: every AWS call (boto3 is botocore underneath).
PATCHED = ("botocore",)


class HandlerTracer(Protocol):
    def capture_lambda_handler(self, handler: Handler) -> Handler: ...


class NoTracer:
    """What the handlers use of Powertools' Tracer, doing nothing."""

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        return handler


def tracing_disabled(environ: Mapping[str, str] = os.environ) -> bool:
    """As Powertools decides: off outside Lambda, or when POWERTOOLS_TRACE_DISABLED says so
    ("true", "1", "yes", ...)."""
    if not environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return True
    return environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in (
        "1",
        "y",
        "yes",
        "t",
        "true",
        "on",
    )


def tracer(environ: Mapping[str, str] = os.environ) -> HandlerTracer:
    if tracing_disabled(environ):
        return NoTracer()
    from aws_lambda_powertools import Tracer

    return cast(HandlerTracer, Tracer(patch_modules=PATCHED))

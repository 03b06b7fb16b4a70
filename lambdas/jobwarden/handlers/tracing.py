"""Powertools' Tracer when X-Ray tracing is on, and nothing at all when it is off.

Powertools' Tracer loads the X-Ray SDK even when POWERTOOLS_TRACE_DISABLED is set, and the
SDK builds an X-Ray client at import (a few hundred milliseconds of a cold start,
bench/import_cost.py). The stack deploys tracing off unless the context `tracing` is true, and
then sets POWERTOOLS_TRACE_DISABLED=true (`infra.constructs.function`), so that is what decides.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, cast

Handler = TypeVar("Handler", bound=Callable[..., Any])


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

    return cast(HandlerTracer, Tracer())

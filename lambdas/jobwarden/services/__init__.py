"""The registry of service adapters: one module per service, one line each below."""

from __future__ import annotations

from jobwarden.services.base import ServiceAdapter

REGISTRY: dict[str, type[ServiceAdapter]] = {}


def register(adapter: type[ServiceAdapter]) -> type[ServiceAdapter]:
    if adapter.name in REGISTRY:
        raise ValueError(f"service {adapter.name!r} is registered twice")
    REGISTRY[adapter.name] = adapter
    return adapter


# Registrations: importing a module registers its adapter.
from jobwarden.services import amplify, batch, codebuild, codebuild_batch, glue  # noqa: E402,F401

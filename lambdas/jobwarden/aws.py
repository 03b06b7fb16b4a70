"""One place that makes boto3 clients, all with the same retry behaviour."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Adaptive mode retries throttling with backoff and slows the client down when the service
# pushes back, which is what a sweep listing thousands of jobs needs.
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    user_agent_extra="jobwarden",
)


class Clients:
    """Caches one client per (service, region); tests and the CLI pass a session or endpoint."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        endpoint_url: str | None = None,
        default_region: str | None = None,
    ) -> None:
        self.session = session or boto3.Session()
        self.endpoint_url = endpoint_url
        self.default_region = default_region or self.session.region_name or "us-east-1"
        self._cache: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.default_region
        key = (service, region)
        if key not in self._cache:
            self._cache[key] = self.session.client(
                service, region_name=region, endpoint_url=self.endpoint_url, config=RETRY_CONFIG
            )
        return self._cache[key]

    def dynamodb_table(self, name: str) -> Any:
        resource = self.session.resource(
            "dynamodb",
            region_name=self.default_region,
            endpoint_url=self.endpoint_url,
            config=RETRY_CONFIG,
        )
        return resource.Table(name)

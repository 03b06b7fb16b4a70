"""Policies and settings: JSON documents in SSM Parameter Store, validated field by field.

A document that does not parse or validate becomes a `Problem`; it is reported and skipped,
and the valid documents still apply. Nothing is ever stopped on the strength of a broken one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from jobwarden.model import Action, Mode, Policy, Retry, Settings

DEFAULT_POLICY_PATH = "/jobwarden/policies/"
DEFAULT_SETTINGS_PARAMETER = "/jobwarden/settings"
CACHE_SECONDS = 300
RETRY_TYPES = ("RETRY_FAILED_BUILDS", "RETRY_ALL_BUILDS", "RETRY")


class InvalidDocument(ValueError):
    """A policy or settings document with one message per bad field."""

    def __init__(self, name: str, messages: list[str]) -> None:
        self.name = name
        self.messages = messages
        super().__init__(f"{name}: " + "; ".join(messages))


@dataclass(frozen=True)
class Problem:
    """A document that was skipped, and why. `fingerprint` changes when the document does."""

    name: str
    messages: tuple[str, ...]
    fingerprint: str

    @property
    def reason(self) -> str:
        return f"document {self.name} is invalid and was skipped: " + "; ".join(self.messages)


@dataclass(frozen=True)
class Configuration:
    settings: Settings
    policies: tuple[Policy, ...]
    problems: tuple[Problem, ...] = field(default=())


class _Fields:
    """Reads typed fields from a JSON object, collecting a message per bad one."""

    def __init__(self, data: Mapping[str, Any], prefix: str, messages: list[str]) -> None:
        self.data = data
        self.prefix = prefix
        self.messages = messages

    def complain(self, key: str, message: str) -> None:
        self.messages.append(f"{self.prefix}{key}: {message}")

    def unknown(self, known: Iterable[str]) -> None:
        allowed = sorted(known)
        for key in self.data:
            if key not in allowed:
                self.complain(key, f"unknown field (expected one of: {', '.join(allowed)})")

    def number(self, key: str, positive: bool = True) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.complain(key, f"must be a number, got {value!r}")
            return None
        if positive and value <= 0:
            self.complain(key, f"must be greater than 0, got {value!r}")
            return None
        return float(value)

    def integer(self, key: str, default: int, minimum: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.complain(key, f"must be a whole number of at least {minimum}, got {value!r}")
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.complain(key, f"must be true or false, got {value!r}")
            return default
        return value

    def text(self, key: str, default: str, choices: Iterable[str] = ()) -> str:
        value = self.data.get(key, default)
        options = tuple(choices)
        if not isinstance(value, str) or not value.strip():
            self.complain(key, f"must be a non-empty string, got {value!r}")
            return default
        if options and value not in options:
            self.complain(key, f"must be one of {', '.join(options)}, got {value!r}")
            return default
        return value

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.complain(key, f"must be a list of non-empty strings, got {value!r}")
            return default
        return tuple(value)

    def string_map(self, key: str) -> dict[str, str]:
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            self.complain(key, f"must be an object of string values, got {value!r}")
            return {}
        return value

    def number_map(self, key: str) -> dict[str, float]:
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
            for v in value.values()
        ):
            self.complain(key, f"must be an object of non-negative numbers, got {value!r}")
            return {}
        return {k: float(v) for k, v in value.items()}

    def section(self, key: str) -> _Fields:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self.complain(key, f"must be an object, got {value!r}")
            value = {}
        return _Fields(value, f"{self.prefix}{key}.", self.messages)


def _as_object(name: str, document: str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            raise InvalidDocument(name, [f"not valid JSON: {error}"]) from None
    if not isinstance(document, Mapping):
        raise InvalidDocument(name, ["must be a JSON object"])
    return document


def parse_policy(
    name: str, document: str | Mapping[str, Any], known_services: Iterable[str]
) -> Policy:
    data = _as_object(name, document)
    messages: list[str] = []
    top = _Fields(data, "", messages)
    top.unknown(("description", "match", "limits", "action", "priority", "retry"))
    match = top.section("match")
    match.unknown(("services", "names", "tags"))
    services = match.strings("services", ())
    known = sorted(known_services)
    for service in services:
        if service not in known:
            match.complain("services", f"unknown service {service!r} (known: {', '.join(known)})")
    limits = top.section("limits")
    limits.unknown(("max_run_minutes", "max_queue_minutes", "max_cost_usd"))
    policy = Policy(
        name=name,
        description=str(data.get("description", "")),
        services=services,
        names=match.strings("names", ("*",)),
        tags=match.string_map("tags"),
        max_run_minutes=limits.number("max_run_minutes"),
        max_queue_minutes=limits.number("max_queue_minutes"),
        max_cost_usd=limits.number("max_cost_usd"),
        action=Action(top.text("action", Action.STOP, [a.value for a in Action])),
        priority=top.integer("priority", 100, 0),
        retry=_parse_retry(top) if "retry" in data else None,
    )
    if messages:
        raise InvalidDocument(name, messages)
    return policy


def _parse_retry(top: _Fields) -> Retry:
    retry = top.section("retry")
    retry.unknown(("type", "max_attempts"))
    return Retry(
        type=retry.text("type", RETRY_TYPES[0], RETRY_TYPES),
        max_attempts=retry.integer("max_attempts", 1, 1),
    )


def parse_settings(document: str | Mapping[str, Any], name: str = "settings") -> Settings:
    data = _as_object(name, document)
    messages: list[str] = []
    top = _Fields(data, "", messages)
    top.unknown(
        (
            "mode",
            "exempt_tag",
            "max_stops_per_window",
            "max_stops_per_sweep",
            "stop_window_minutes",
            "kill_switch",
            "regions",
            "prices",
            "ledger_retention_days",
            "reconcile_every_minutes",
        )
    )
    defaults = Settings()
    settings = Settings(
        mode=Mode(top.text("mode", defaults.mode, [m.value for m in Mode])),
        exempt_tag=top.text("exempt_tag", defaults.exempt_tag),
        # `max_stops_per_sweep`, the name before the budget spanned sweeps, still reads.
        max_stops_per_window=top.integer(
            "max_stops_per_window",
            top.integer("max_stops_per_sweep", defaults.max_stops_per_window, 0),
            0,
        ),
        stop_window_minutes=top.integer("stop_window_minutes", defaults.stop_window_minutes, 1),
        kill_switch=top.boolean("kill_switch", defaults.kill_switch),
        regions=top.strings("regions", defaults.regions),
        prices=top.number_map("prices"),
        ledger_retention_days=top.integer(
            "ledger_retention_days", defaults.ledger_retention_days, 1
        ),
        reconcile_every_minutes=top.integer(
            "reconcile_every_minutes", defaults.reconcile_every_minutes, 1
        ),
    )
    if messages:
        raise InvalidDocument(name, messages)
    return settings


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_configuration(
    settings_document: str | None,
    policy_documents: Mapping[str, str],
    known_services: Iterable[str],
    settings_name: str = DEFAULT_SETTINGS_PARAMETER,
) -> Configuration:
    """Validate every document; the broken ones become problems, never policies.

    Broken settings fall back to the defaults with the kill switch on, so nothing is stopped
    until someone fixes them.
    """
    known = tuple(known_services)
    problems: list[Problem] = []
    settings = Settings()
    if settings_document is not None:
        try:
            settings = parse_settings(settings_document, settings_name)
        except InvalidDocument as error:
            problems.append(
                Problem(error.name, tuple(error.messages), fingerprint(settings_document))
            )
            settings = replace(Settings(), kill_switch=True)
    policies = []
    for name in sorted(policy_documents):
        text = policy_documents[name]
        try:
            policies.append(parse_policy(name, text, known))
        except InvalidDocument as error:
            problems.append(Problem(error.name, tuple(error.messages), fingerprint(text)))
    return Configuration(settings, tuple(policies), tuple(problems))


class ParameterStore:
    """Reads the documents from SSM through Powertools, cached for `max_age` seconds."""

    def __init__(
        self,
        ssm_client: Any,
        policy_path: str = DEFAULT_POLICY_PATH,
        settings_parameter: str = DEFAULT_SETTINGS_PARAMETER,
        max_age: int = CACHE_SECONDS,
    ) -> None:
        self._provider = SSMProvider(boto3_client=ssm_client)
        self._client = ssm_client
        self.policy_path = policy_path
        self.settings_parameter = settings_parameter
        self.max_age = max_age

    def load(self, known_services: Iterable[str]) -> Configuration:
        documents = self._provider.get_multiple(
            self.policy_path, max_age=self.max_age, recursive=True
        )
        settings_text = self._settings_text()
        return build_configuration(
            settings_text,
            {str(name): str(value) for name, value in documents.items()},
            known_services,
            self.settings_parameter,
        )

    def read_settings(self) -> Settings:
        """The settings as they are now: read past the cache, so a kill switch set a moment ago
        holds the next stop. Missing: the defaults; invalid: the defaults, kill switch on."""
        return build_configuration(self._settings_text(), {}, (), self.settings_parameter).settings

    def _settings_text(self) -> str | None:
        """The settings document, read fresh on every call (policies may stay cached)."""
        try:
            text = self._provider.get(self.settings_parameter, force_fetch=True)
        except GetParameterError as error:
            if "ParameterNotFound" not in str(error):
                raise
            return None
        return str(text)

    def push(self, name: str, document: str, overwrite: bool = True) -> str:
        """Write one policy document; returns the parameter name."""
        parameter = self.policy_path.rstrip("/") + "/" + name
        self._client.put_parameter(
            Name=parameter, Value=document, Type="String", Overwrite=overwrite
        )
        return parameter

    def put_settings(self, document: str) -> None:
        self._client.put_parameter(
            Name=self.settings_parameter, Value=document, Type="String", Overwrite=True
        )

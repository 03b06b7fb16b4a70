"""Validates chat payloads against the published custom-notification schema (tests/schemas/).

The schema uses only type, enum, required, properties, additionalProperties and items, so a
small validator does it without another pinned dependency.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = (
    Path(__file__).resolve().parents[1] / "schemas" / "chat_custom_notification.schema.json"
)
TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
}


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


def problems(value: Any, rules: dict[str, Any] | None = None, where: str = "$") -> list[str]:
    """Every way `value` breaks `rules` (default: the chat schema), with its JSON path."""
    rules = schema() if rules is None else rules
    found: list[str] = []
    kind = rules.get("type")
    if kind and not isinstance(value, TYPES[kind]):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if "enum" in rules and value not in rules["enum"]:
        found.append(f"{where}: {value!r} is not one of {rules['enum']}")
    if isinstance(value, dict):
        found += [
            f"{where}: missing {key}" for key in rules.get("required", []) if key not in value
        ]
        properties = rules.get("properties", {})
        extra = rules.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                found += problems(item, properties[key], f"{where}.{key}")
            elif extra is False:
                found.append(f"{where}: unexpected field {key}")
            elif isinstance(extra, dict):
                found += problems(item, extra, f"{where}.{key}")
    if isinstance(value, list) and "items" in rules:
        for index, item in enumerate(value):
            found += problems(item, rules["items"], f"{where}[{index}]")
    return found

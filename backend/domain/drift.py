"""Drift: what Terraform would change back on an environment whose main is already applied.

``terraform plan -detailed-exitcode`` on main exits 2 when the real infrastructure no longer
matches it (someone resized an instance in the console). The plan's JSON (``terraform show
-json``) says which resources and attributes; ``find_drift`` turns that into one entry per
database (pure), which the platform team is told as a notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backend.domain import naming

# Attributes that are bookkeeping, not configuration: they differ without anyone changing anything.
_IGNORED_ATTRIBUTES = frozenset({"tags_all", "latest_restorable_time", "status"})
_DATABASE_MODULE = "module."


@dataclass(frozen=True)
class Drift:
    """A database (None: the environment's shared resources) and what drifted in it."""

    database_name: str | None
    attributes: tuple[str, ...]
    resources: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "database_name": self.database_name,
            "attributes": list(self.attributes),
            "resources": list(self.resources),
        }


def _changed_attributes(change: Mapping[str, Any]) -> list[str]:
    actions = change.get("actions") or []
    if "create" in actions and "delete" not in actions:
        return ["missing"]  # gone from AWS: Terraform would create it again
    if actions == ["delete"]:
        return ["unmanaged"]
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    return sorted(
        key
        for key in set(before) | set(after)
        if key not in _IGNORED_ATTRIBUTES and not unknown.get(key) and before.get(key) != after.get(key)
    )


def find_drift(plan: Mapping[str, Any], database_names: Iterable[str]) -> list[Drift]:
    """The drifted databases of ``plan`` (the JSON of ``terraform show -json <plan>``).

    ``database_names`` are the environment's databases (its ``rds_<name>.tf`` files): a resource of
    module ``rds_<name>`` belongs to database ``<name>``; the others are the environment's own.
    """
    by_module = {naming.module_name(name): name for name in database_names}
    grouped: dict[str | None, tuple[set[str], list[str]]] = {}
    for resource in plan.get("resource_changes") or []:
        if resource.get("mode") != "managed":
            continue
        attributes = _changed_attributes(resource.get("change") or {})
        if not attributes:
            continue
        module = str(resource.get("module_address") or "").removeprefix(_DATABASE_MODULE).split(".")[0]
        name = by_module.get(module)
        changed, addresses = grouped.setdefault(name, (set(), []))
        changed.update(attributes)
        addresses.append(str(resource["address"]))
    return [
        Drift(name, tuple(sorted(changed)), tuple(addresses))
        for name, (changed, addresses) in sorted(grouped.items(), key=lambda item: item[0] or "")
    ]

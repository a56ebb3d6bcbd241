"""The reconciliation framework: a check is a small class; the runner records and acts.

A check has a name, an owner role, a description and a `run()` that computes its figures
and findings with SQL aggregates (never by loading ledgers into Python), so it runs in
bounded memory however large the ledger grows. Findings are yielded, not returned as a
list; the runner keeps at most MAX_FINDINGS of them.

A finding's `key` identifies the discrepancy (e.g. "product=7:warehouse=2"): the runner
opens or updates exactly one exception per (check kind, key), and resolves, with a note,
the exceptions of that kind whose key a later complete run no longer finds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings


@dataclass
class Finding:
    key: str
    title: str
    detail: str = ""
    links: list[dict] = field(default_factory=list)
    correlation_id: str = ""
    severity: str | None = None           # None: the check's default severity
    figures: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "detail": self.detail, "links": self.links,
                "correlation_id": self.correlation_id, "severity": self.severity, "figures": self.figures}


@dataclass
class CheckOutcome:
    figures: dict[str, Any]
    findings: Iterable[Finding] = ()
    # False when the check could not judge this time (e.g. postings still in flight): the
    # runner then opens nothing new and resolves nothing.
    complete: bool = True


class SkipCheck(Exception):
    """The data this check reads does not exist (yet): the check is skipped, not failed."""


class Check(ABC):
    """Subclass, set the class attributes, implement run(now=...)."""

    name: ClassVar[str]
    title: ClassVar[str]
    owner_role: ClassVar[str]
    description: ClassVar[str]
    severity: ClassVar[str] = "medium"
    groups: ClassVar[tuple[str, ...]] = ("reconciliation",)
    kind_prefix: ClassVar[str] = "reconciliation"

    @property
    def kind(self) -> str:
        return f"{self.kind_prefix}.{self.name}"

    @property
    def alias(self) -> str:
        """Short name accepted by `reconcile --check` (i1, i5, …)."""
        head = self.name.split("_", 1)[0]
        return head if head[:1] == "i" and head[1:].isdigit() else self.name

    @abstractmethod
    def run(self, *, now: datetime) -> CheckOutcome:
        """Compute the check's figures and findings (in SQL aggregates, bounded memory)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "owner_role": self.owner_role,
                "description": self.description, "severity": self.severity, "groups": list(self.groups),
                "kind": self.kind}


# --- helpers for checks -------------------------------------------------------------------------

def erp_setting(name: str, default: Any) -> Any:
    return settings.ERP.get(name, default)


REGISTRY: dict[str, Check] = {}


def register(cls: type[Check]) -> type[Check]:
    REGISTRY[cls.name] = cls()
    return cls


def checks_in(group: str) -> list[Check]:
    return [c for c in REGISTRY.values() if group in c.groups]


def get_check(name: str) -> Check | None:
    name = (name or "").strip().lower()
    if name in REGISTRY:
        return REGISTRY[name]
    matches = [c for c in REGISTRY.values() if c.alias == name]
    return matches[0] if len(matches) == 1 else None

"""The named limits, read from ``settings.RATE_LIMITS`` (one place for every quota)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed

from .rules import Rule


class UnknownLimit(KeyError):
    pass


@dataclass(frozen=True)
class Limit:
    name: str
    rules: tuple[Rule, ...]
    description: str = ""


@cache
def all_limits() -> dict[str, Limit]:
    limits = {}
    for name, spec in settings.RATE_LIMITS.items():
        rules = tuple(Rule(**rule) for rule in spec["rules"])
        if not rules:
            raise ValueError(f"rate limit {name!r} has no rules")
        limits[name] = Limit(name=name, rules=rules, description=spec.get("description", ""))
    return limits


def limit_get(name: str) -> Limit:
    try:
        return all_limits()[name]
    except KeyError:
        raise UnknownLimit(f"no rate limit named {name!r} in settings.RATE_LIMITS") from None


def _forget(setting: str, **kwargs) -> None:
    if setting == "RATE_LIMITS":
        all_limits.cache_clear()


setting_changed.connect(_forget)

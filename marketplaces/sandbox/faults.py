"""Fault rules: which calls a rule matches, what it injects, with which probability, how often.

Rules come from ``/_control`` or ``--faults`` as JSON and are validated in full here; the state
draws from them once per call (:meth:`SandboxState.begin_call`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from marketplaces.sandbox.accounts import PROVIDERS
from marketplaces.sandbox.errors import ControlError

# The order matters: one uniform draw per matching rule is compared against the cumulative
# probabilities in this order, so a seed replays the same faults.
FAULT_KINDS = ("error_500", "html_503", "hang", "malformed_json", "apply_then_timeout", "http_429")
HANG = "hang"
APPLY_THEN_TIMEOUT = "apply_then_timeout"


@dataclass(slots=True)
class FaultRule:
    """Which calls a rule matches, what it injects with which probability, how often at most."""

    provider: str = "*"
    method: str = "*"
    path: str = ""
    probabilities: dict[str, float] = field(default_factory=dict)
    latency_fixed_ms: int = 0
    latency_random_ms: int = 0
    hang_seconds: float = 15.0
    times: int | None = None
    after: int = 0  # matching calls let through before the rule may inject ("the 3rd fails")
    matched: int = 0
    injected: int = 0
    pattern: re.Pattern[str] = field(default=re.compile(""), repr=False)

    def matches(self, provider: str, method: str, path: str) -> bool:
        return (
            self.provider in ("*", provider)
            and self.method in ("*", method)
            and self.pattern.search(path) is not None
        )

    def can_inject(self) -> bool:
        return (
            bool(self.probabilities)
            and self.matched > self.after
            and (self.times is None or self.injected < self.times)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "method": self.method,
            "path": self.path,
            **{kind: self.probabilities.get(kind, 0.0) for kind in FAULT_KINDS},
            "latency_fixed_ms": self.latency_fixed_ms,
            "latency_random_ms": self.latency_random_ms,
            "hang_seconds": self.hang_seconds,
            "times": self.times,
            "after": self.after,
            "injected": self.injected,
        }


@dataclass(slots=True)
class CallPlan:
    """What the fault rules and latency settings decided for one call."""

    fault: str | None = None
    latency_seconds: float = 0.0
    hang_seconds: float = 15.0


_RULE_KEYS = {
    "provider",
    "method",
    "path",
    "latency_fixed_ms",
    "latency_random_ms",
    "hang_seconds",
    "times",
    "after",
    "injected",
    *FAULT_KINDS,
}


def _number(raw: dict, key: str, default: float, *, minimum: float = 0) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ControlError(f"{key} must be a number >= {minimum}, not {value!r}")
    return value


def _integer(value: Any, key: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ControlError(f"{key} must be an integer >= {minimum}, not {value!r}")
    return value


def parse_fault_rule(raw: Any) -> FaultRule:
    """A rule from its JSON form, or :class:`ControlError` saying what is wrong with it."""
    if not isinstance(raw, dict):
        raise ControlError(f"a fault rule must be an object, not {raw!r}")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ControlError(f"unknown fault rule keys: {sorted(unknown)}")
    provider = raw.get("provider", "*")
    if provider not in (*PROVIDERS, "*"):
        raise ControlError(f"provider must be bricklink, brickowl or *, not {provider!r}")
    method = raw.get("method", "*")
    if not isinstance(method, str) or not method:
        raise ControlError(f"method must be an HTTP method or *, not {method!r}")
    path = raw.get("path", "")
    if not isinstance(path, str):
        raise ControlError(f"path must be a regular expression, not {path!r}")
    try:
        pattern = re.compile(path)
    except re.error as exc:
        raise ControlError(f"path is not a valid regular expression: {exc}") from exc
    probabilities = {}
    for kind in FAULT_KINDS:
        p = _number(raw, kind, 0.0)
        if p > 1:
            raise ControlError(f"{kind} is a probability (0..1), not {p!r}")
        if p:
            probabilities[kind] = float(p)
    if sum(probabilities.values()) > 1 + 1e-9:
        raise ControlError("the fault probabilities of one rule add up to more than 1")
    times = raw.get("times")
    return FaultRule(
        provider=provider,
        method=method.upper(),
        path=path,
        probabilities=probabilities,
        latency_fixed_ms=_integer(raw.get("latency_fixed_ms", 0), "latency_fixed_ms"),
        latency_random_ms=_integer(raw.get("latency_random_ms", 0), "latency_random_ms"),
        hang_seconds=float(_number(raw, "hang_seconds", 15.0)),
        times=None if times is None else _integer(times, "times"),
        after=_integer(raw.get("after", 0), "after"),
        pattern=pattern,
    )

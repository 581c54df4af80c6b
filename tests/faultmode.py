"""Fault mode: the session's sandbox fails a share of every marketplace call.

``SANDBOX_FAULT_RATE=0.07`` (unset or 0: off) and ``SANDBOX_FAULT_SEED=N`` start the suite's
sandbox with one rule over every call of both marketplaces: at that rate, in equal parts, a
500, a gateway's HTML 503, a hang past the read timeout, a malformed body, a 429, and a
mutation applied and then never answered. Seeded, so a sequence of calls replays its faults.

The integration tests (``-m worker``) must stay green in this mode: what they promise is an
end state (synced, fresh, one lot), which faults delay but must never change. A test whose
assertions count marketplace calls exactly carries ``@pytest.mark.exact_sandbox(reason)``
and gets a clean sandbox. ``tests/reliability/test_fault_injection.py`` runs the integration
tests in this mode and checks, from the report written to ``SANDBOX_FAULT_REPORT``, that the
faults really happened.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import Counter
from pathlib import Path

from marketplaces.sandbox.state import FAULT_KINDS

RATE = float(os.environ.get("SANDBOX_FAULT_RATE") or 0)
SEED = int(os.environ.get("SANDBOX_FAULT_SEED") or 1)
ON = RATE > 0
# Past MARKETPLACE_READ_TIMEOUT in fault mode (config/settings/test.py): a hang is a timeout.
HANG_SECONDS = 3.0

if not 0 <= RATE <= 0.5:
    raise ValueError(f"SANDBOX_FAULT_RATE is a probability up to 0.5, not {RATE}")


def seed_for(nodeid: str) -> int:
    """Each test its own sequence of faults: a test that makes a handful of calls would
    otherwise draw the same first few numbers as every other test, and maybe never a fault."""
    return zlib.crc32(f"{SEED}:{nodeid}".encode())


def sandbox_args() -> tuple[str, ...]:
    """The session sandbox's flags: the fault rule and its seed (nothing when off)."""
    if not ON:
        return ()
    share = RATE / len(FAULT_KINDS)
    rule = {"provider": "*", "hang_seconds": HANG_SECONDS, **dict.fromkeys(FAULT_KINDS, share)}
    return ("--faults", json.dumps([rule]), "--fault-seed", str(SEED))


def rules(config: dict) -> list[dict]:
    """A sandbox configuration's fault rules, without their injection counters."""
    return [{k: v for k, v in rule.items() if k != "injected"} for rule in config["faults"]]


class Report:
    """What the sandbox saw over the session. Calls and faults are counted over the tests
    that ran under the mode's faults: not the clean ones, nor those that staged their own."""

    def __init__(self) -> None:
        self.tests = 0
        self.clean_tests = 0
        self.staged_tests = 0
        self.calls = 0
        self.faults: Counter[str] = Counter()

    def add(self, calls: dict, *, clean: bool, staged: bool) -> None:
        self.tests += 1
        self.clean_tests += clean
        self.staged_tests += staged and not clean
        if not (clean or staged):
            self.calls += calls["total"]
            self.faults.update(calls["faults"])

    def write(self) -> None:
        path = os.environ.get("SANDBOX_FAULT_REPORT")
        if not (ON and path):
            return
        figures = {
            "rate": RATE,
            "seed": SEED,
            "tests": self.tests,
            "clean_tests": self.clean_tests,
            "staged_tests": self.staged_tests,
            "calls": self.calls,
            "faults": dict(self.faults),
        }
        Path(path).write_text(json.dumps(figures))


report = Report()

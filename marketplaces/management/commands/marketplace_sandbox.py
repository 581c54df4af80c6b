"""``manage.py marketplace_sandbox``: BrickLink and BrickOwl imitations on one local port."""

from __future__ import annotations

import json
import os
import signal

from django.core.management.base import BaseCommand, CommandError

from marketplaces.sandbox.errors import ControlError
from marketplaces.sandbox.faults import parse_fault_rule
from marketplaces.sandbox.server import banner, make_server
from marketplaces.sandbox.state import Settings


def _env_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise CommandError(f"{name} must be an integer, not {raw!r}") from exc


class _Stop(Exception):
    """Raised by the signal handler to leave ``serve_forever``."""


def _stop(signum, frame) -> None:
    raise _Stop


class Command(BaseCommand):
    help = (
        "Serve an in-memory imitation of BrickLink's Store API v1 and BrickOwl's API v1, quirks "
        "and fault injection included, for development and tests. Needs no database. Every "
        "flag can also come from the environment (SANDBOX_PORT, SANDBOX_SEED, ...)."
    )
    # Starts in well under a second and touches no database: skip checks and migrations.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=None, help="env SANDBOX_PORT, 8765")
        parser.add_argument("--seed", type=int, default=None, help="env SANDBOX_SEED, 1")
        parser.add_argument(
            "--fault-seed",
            type=int,
            default=None,
            help="the fault injection's own seed; env SANDBOX_FAULT_SEED, the catalog's seed",
        )
        parser.add_argument(
            "--parts",
            type=int,
            default=None,
            help="generated parts in the catalog (benchmarks); env SANDBOX_PARTS, 240",
        )
        parser.add_argument(
            "--bricklink-quota", type=int, default=None, help="env SANDBOX_BRICKLINK_QUOTA, 5000"
        )
        parser.add_argument(
            "--brickowl-rate", type=int, default=None, help="env SANDBOX_BRICKOWL_RATE, 600/min"
        )
        parser.add_argument(
            "--latency-ms", type=int, default=None, help="env SANDBOX_LATENCY_MS, 0"
        )
        parser.add_argument(
            "--latency-jitter-ms", type=int, default=None, help="env SANDBOX_LATENCY_JITTER_MS, 0"
        )
        parser.add_argument(
            "--faults", default=None, help="JSON list of fault rules; env SANDBOX_FAULTS"
        )
        parser.add_argument("--verbose", action="store_true", help="log every request")

    def handle(self, *args, **options) -> None:
        settings = self._settings(options)
        port = options["port"] if options["port"] is not None else _env_int("SANDBOX_PORT", 8765)
        try:
            server = make_server(options["host"], port, settings, verbose=options["verbose"])
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{port}: {exc}") from exc
        self.stdout.write(banner(server))
        self.stdout.flush()
        # SIGINT explicitly too: a background process may have inherited it as ignored.
        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.serve_forever(poll_interval=0.2)
        except _Stop:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            server.server_close()
        self.stdout.write("Marketplace sandbox stopped")

    @staticmethod
    def _settings(options: dict) -> Settings:
        def pick(option: str, env: str, default: int | None) -> int | None:
            value = options[option]
            return value if value is not None else _env_int(env, default)

        raw_faults = options["faults"] or os.environ.get("SANDBOX_FAULTS", "") or "[]"
        try:
            rules = json.loads(raw_faults)
            if not isinstance(rules, list):
                raise ControlError("--faults must be a JSON list of rules")
            faults = [parse_fault_rule(rule) for rule in rules]
        except ValueError as exc:  # ControlError is one
            raise CommandError(f"bad fault rules: {exc}") from exc
        return Settings(
            seed=pick("seed", "SANDBOX_SEED", 1),
            fault_seed=pick("fault_seed", "SANDBOX_FAULT_SEED", None),
            generated_parts=pick("parts", "SANDBOX_PARTS", 240),
            bricklink_quota=pick("bricklink_quota", "SANDBOX_BRICKLINK_QUOTA", 5000),
            brickowl_rate_per_minute=pick("brickowl_rate", "SANDBOX_BRICKOWL_RATE", 600),
            latency_fixed_ms=pick("latency_ms", "SANDBOX_LATENCY_MS", 0),
            latency_random_ms=pick("latency_jitter_ms", "SANDBOX_LATENCY_JITTER_MS", 0),
            faults=faults,
        )

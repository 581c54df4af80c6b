"""What every settings module reads first: the environment, and where things live."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# The embedded stack keeps its database, broker files and dev secrets here.
VAR_DIR = Path(env.str("BRICKOPS_VAR_DIR", default=str(BASE_DIR / "var")))

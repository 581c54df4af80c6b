"""``make chaos`` sets CHAOS=1: the long forms of the suite's scenarios run (more seeds, more
work, default leases), and the reliability scenarios write their figures to
bench/results/reliability.json. `make test` runs the short form of each."""

import os

LONG = os.environ.get("CHAOS") == "1"

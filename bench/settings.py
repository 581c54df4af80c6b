"""The benchmarks' settings: the test settings plus a bare view to compare the API with."""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Persistent connections, as production has them (the test settings close them per request).
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405

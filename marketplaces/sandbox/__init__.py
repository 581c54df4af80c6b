"""An in-memory, single-process imitation of BrickLink's Store API v1 and BrickOwl's API v1.

Run it with ``manage.py marketplace_sandbox``; tests start it through
``tests.harness.SandboxProcess``. No ORM, no database: everything lives in memory and
``POST /_control {"reset": true}`` forgets it.

* ``catalog``  - the deterministic catalog (``build_catalog(seed)``) tests pick items from
* ``state``    - settings, stores, counters, fault rules, ledger; one lock guards them
* ``oauth``    - BrickLink's OAuth 1.0 check, by oauthlib, with BrickLink's failure reasons
* ``bricklink``, ``brickowl`` - the two APIs, quirks included
* ``control``  - ``/_control``, ``/_calls``, ``/_ledger``, ``/_inventory``
* ``server``   - the HTTP server and the per-call pipeline (faults, latency, concurrency)
"""

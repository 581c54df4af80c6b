"""An in-memory, single-process imitation of BrickLink's Store API v1 and BrickOwl's API v1.

Run it with ``manage.py marketplace_sandbox``; tests start it through
``tests.harness.SandboxProcess``. No ORM, no database: everything lives in memory and
``POST /_control {"reset": true}`` forgets it (order ids excepted: they are never reused).

* ``catalog``       - the deterministic catalog (``build_catalog(seed)``) tests pick items from
* ``state``         - settings, counters, ledger and the per-call plan; one lock guards them all
* ``accounts``      - the stores: lots, orders, BrickLink's unread notifications, quota and
  nonces, BrickOwl's rolling minute
* ``faults``        - fault rules: what they match, what they inject, how often
* ``errors``        - what the control endpoints refuse
* ``oauth``         - BrickLink's OAuth 1.0 check, by oauthlib, with BrickLink's failure reasons
* ``wire``          - requests, responses and routes, independent of the HTTP server
* ``bricklink/``, ``brickowl/`` - the two APIs, quirks included, a module per group of
  endpoints, and each one's side of orders (``sales``)
* ``push``          - order pushes to the stores' push URLs, off the caller's thread
* ``control``       - ``/_control``, ``/_calls``, ``/_ledger``, ``/_inventory``
* ``prefill``       - ``/_control``'s ``prefill``: stores holding a seller's own lots (no
  marker, no external id), deterministic from a seed, two stores sharing a given number of
  (part, color, condition) lots: the takeover scene
* ``order_control`` - ``/_orders``: orders placed, changed, cancelled, filed; and listed
* ``server``        - the HTTP server and the per-call pipeline (faults, latency, concurrency)
"""

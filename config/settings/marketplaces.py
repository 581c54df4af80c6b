"""BrickLink and BrickOwl: where they are, the platform's own credentials, how long a call may
take, and every quota (``RATE_LIMITS``, see ratelimit/rules.py for the semantics)."""

from __future__ import annotations

from .environment import env

BRICKLINK_API_URL = env.str("BRICKLINK_API_URL", default="https://api.bricklink.com/api/store/v1")
BRICKLINK_CONSUMER_KEY = env.str("BRICKLINK_CONSUMER_KEY", default="")
BRICKLINK_CONSUMER_SECRET = env.str("BRICKLINK_CONSUMER_SECRET", default="")
BRICKLINK_TOKEN_VALUE = env.str("BRICKLINK_TOKEN_VALUE", default="")
BRICKLINK_TOKEN_SECRET = env.str("BRICKLINK_TOKEN_SECRET", default="")
BRICKLINK_DAILY_QUOTA = env.int("BRICKLINK_DAILY_QUOTA", default=5000)
BRICKOWL_API_URL = env.str("BRICKOWL_API_URL", default="https://api.brickowl.com/v1")
BRICKOWL_API_KEY = env.str("BRICKOWL_API_KEY", default="")

# --- Quotas (ratelimit) ------------------------------------------------------------------------
# Every limit is a list of rules that must all grant. Periods are seconds; fixed windows are
# aligned to 00:00 UTC. See ratelimit/rules.py for the semantics.
DAY = 86_400
BRICKLINK_BACKGROUND_SHARE = env.float("BRICKLINK_BACKGROUND_SHARE", default=0.6)
BRICKLINK_CALLS_PER_SECOND = env.float("BRICKLINK_CALLS_PER_SECOND", default=1.0)
BRICKLINK_BURST = env.int("BRICKLINK_BURST", default=4)
BRICKOWL_CALLS_PER_MINUTE = env.int("BRICKOWL_CALLS_PER_MINUTE", default=600)
# bulk/batch calls have a limit of their own: 100 a minute in the current docs.
BRICKOWL_BATCHES_PER_MINUTE = env.int("BRICKOWL_BATCHES_PER_MINUTE", default=100)
# Background work takes a whole step's tokens before its first call; when there is no room it
# reserves them (ratelimit/budget.py) and waits its turn. How far ahead an account's steps may
# reserve: an hour of BrickLink's pace, ten minutes of BrickOwl's. A daily window is never
# reserved into: a spent day waits for the next (max_reserved 0).
BRICKLINK_MAX_RESERVED_CALLS = env.int("BRICKLINK_MAX_RESERVED_CALLS", default=3600)
BRICKOWL_MAX_RESERVED_CALLS = env.int("BRICKOWL_MAX_RESERVED_CALLS", default=6000)


# A seller's calls are split between the inventory sync and orders, so a big upload's queue
# of reserved calls can never hold back the orders (a sale must reach the other store first).
ORDERS_CALL_SHARE = env.float("ORDERS_CALL_SHARE", default=0.2)


def bricklink_rules(*, per_day: int, reservable: bool) -> list[dict]:
    """BrickLink's quota: the day, and a steady pace with small bursts."""
    pace = {
        "kind": "token_bucket",
        "rate": BRICKLINK_CALLS_PER_SECOND,
        "period": 1,
        "capacity": BRICKLINK_BURST,
    }
    day = {"kind": "fixed_window", "rate": max(1, per_day), "period": DAY}
    if reservable:
        day["max_reserved"] = 0
        pace["max_reserved"] = BRICKLINK_MAX_RESERVED_CALLS
    return [day, pace]


def brickowl_rules(*, per_minute: float, capacity: int) -> list[dict]:
    """Never more than ``per_minute`` in any rolling minute: a bucket of ``capacity`` refilled
    at the rest."""
    return [
        {
            "kind": "token_bucket",
            "rate": max(1, int(per_minute) - capacity),
            "period": 60,
            "capacity": capacity,
            "max_reserved": BRICKOWL_MAX_RESERVED_CALLS,
        }
    ]


# A few calls a minute of margin under BrickOwl's own count (its clock and ours differ).
_OWL_MINUTE = BRICKOWL_CALLS_PER_MINUTE - 6
RATE_LIMITS = {
    "bricklink:global": {
        "description": "The platform's BrickLink account (catalog calls): the daily quota, "
        "and a steady pace with bursts of at most BRICKLINK_BURST.",
        "rules": bricklink_rules(per_day=BRICKLINK_DAILY_QUOTA, reservable=False),
    },
    "bricklink:background": {
        "description": "The share of the platform's day background refreshes may use, "
        "leaving the rest for what users ask for.",
        "rules": [
            {
                "kind": "fixed_window",
                "rate": max(1, int(BRICKLINK_DAILY_QUOTA * BRICKLINK_BACKGROUND_SHARE)),
                "period": DAY,
            }
        ],
    },
    "bricklink:account": {
        "description": "A seller's own BrickLink account, keyed by account: the inventory "
        "sync's share of the day.",
        "rules": bricklink_rules(
            per_day=int(BRICKLINK_DAILY_QUOTA * (1 - ORDERS_CALL_SHARE)), reservable=True
        ),
    },
    "bricklink:orders": {
        "description": "The same account's share of the day for reading its orders.",
        "rules": bricklink_rules(
            per_day=int(BRICKLINK_DAILY_QUOTA * ORDERS_CALL_SHARE), reservable=True
        ),
    },
    "brickowl:account": {
        "description": "A seller's BrickOwl key, keyed by account: the inventory sync's share.",
        "rules": brickowl_rules(per_minute=_OWL_MINUTE * (1 - ORDERS_CALL_SHARE), capacity=10),
    },
    "brickowl:orders": {
        "description": "The same key's share for reading its orders.",
        "rules": brickowl_rules(per_minute=_OWL_MINUTE * ORDERS_CALL_SHARE, capacity=4),
    },
    "brickowl:platform": {
        "description": "The platform's BrickOwl key (catalog look-ups: BOIDs, colors).",
        "rules": brickowl_rules(per_minute=_OWL_MINUTE, capacity=10),
    },
    "brickowl:batch": {
        "description": "bulk/batch calls of a BrickOwl key (keyed by account, or 'platform'): "
        "their own limit, beside the single calls'.",
        "rules": brickowl_rules(per_minute=BRICKOWL_BATCHES_PER_MINUTE - 4, capacity=4),
    },
}

# Every outbound call: connect and read timeouts, a wall-clock deadline, a response size cap.
MARKETPLACE_CONNECT_TIMEOUT = env.float("MARKETPLACE_CONNECT_TIMEOUT", default=3.05)
MARKETPLACE_READ_TIMEOUT = env.float("MARKETPLACE_READ_TIMEOUT", default=10.0)
MARKETPLACE_DEADLINE = env.float("MARKETPLACE_DEADLINE", default=30.0)
MARKETPLACE_MAX_RESPONSE_BYTES = env.int("MARKETPLACE_MAX_RESPONSE_BYTES", default=16 * 1024 * 1024)

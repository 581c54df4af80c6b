"""The outbound HTTP layer both clients share.

Every call has connect and read timeouts, a wall-clock deadline for the whole response,
status line and headers included (a read timeout is per ``recv``, so a server dripping one byte
a second would never trip it: a watchdog thread shuts the socket down at the deadline), a cap
on the response size (a larger ``Content-Length`` is refused before reading anything), and no
redirects. An answer the client cannot decode, whatever it holds, is a
:class:`~marketplaces.errors.TransientError`, never another exception. Transport failures
become :mod:`marketplaces.errors`; messages never include URLs (BrickOwl's key travels in
them) and exceptions are raised ``from None`` so a logged traceback cannot carry one either.

* ``deadline``    - the per-call deadline, its watchdog thread and the adapter that obeys it
* ``session``     - pooled sessions per set of credentials, credential fingerprints
* ``transport``   - one request over the wire: timeouts, size cap, redirects, failures
* ``retry_after`` - how long a marketplace asks us to wait
* ``client``      - :class:`MarketplaceClient`, the base of both clients (decode, log, count)
"""

from .client import UNDECODABLE, MarketplaceClient
from .deadline import DeadlineAdapter
from .retry_after import parse_retry_after, seconds_until_next_utc_midnight
from .session import SessionPool, fingerprint, new_session, sessions
from .transport import SAFE_METHODS, HttpConfig, RawResponse

__all__ = [
    "SAFE_METHODS",
    "UNDECODABLE",
    "DeadlineAdapter",
    "HttpConfig",
    "MarketplaceClient",
    "RawResponse",
    "SessionPool",
    "fingerprint",
    "new_session",
    "parse_retry_after",
    "seconds_until_next_utc_midnight",
    "sessions",
]

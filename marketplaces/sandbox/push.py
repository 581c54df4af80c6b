"""Order pushes: the marketplace telling a store's callback URL that something happened.

BrickLink POSTs to the callback URL registered for the consumer key, in practice with an
EMPTY body; BrickOwl requests ``<url>?order_id=..&store_id=..`` (a GET). Neither promises
delivery, so a push can be switched off (``push_enabled``) or lost at a rate
(``push_drop_rate``, drawn from a seeded generator) to test the polling that must cover it.

A push is decided under the state's lock (:func:`plan`) and sent by a thread of its own
(:func:`send`), so the control call that caused it never waits on the receiver; a receiver that
fails or is not there is logged, and its outcome lands in the push log (``GET /_orders``).
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from marketplaces.sandbox.accounts import BRICKLINK
from marketplaces.sandbox.state import SandboxState, iso_now

logger = logging.getLogger(__name__)

PUSH_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Push:
    method: str
    url: str
    decision: str  # "scheduled", "dropped" or "disabled"
    entry: dict  # its line in the push log, whose outcome the sending thread fills in


def decision_of(push: Push | None) -> str:
    """What a control answer says of an event's push ("none": no push URL)."""
    return push.decision if push is not None else "none"


def plan(
    state: SandboxState, *, provider: str, account: str, order_id: int | str, store_id: str = ""
) -> Push | None:
    """Decide the push of an event on ``order_id`` and log it; None when the account has no
    push URL. Caller holds the lock."""
    base = state.push_urls.get(account)
    if not base:
        return None
    if provider == BRICKLINK:
        method, url = "POST", base
    else:
        query = urlencode({"order_id": order_id, "store_id": store_id})
        method, url = "GET", f"{base}{'&' if '?' in base else '?'}{query}"
    settings = state.settings
    if not settings.push_enabled:
        decision = "disabled"
    elif settings.push_drop_rate and state.push_rng.random() < settings.push_drop_rate:
        decision = "dropped"
    else:
        decision = "scheduled"
    entry = {
        "provider": provider,
        "account": account,
        "order_id": order_id,
        "method": method,
        "url": url,
        "outcome": "sending" if decision == "scheduled" else decision,
        "at": iso_now(),
    }
    state.pushes.append(entry)
    return Push(method, url, decision, entry)


def send(state: SandboxState, push: Push | None) -> None:
    """Send ``push``, if it is to be sent, from a thread of its own; the caller does not hold
    the lock."""
    if push is not None and push.decision == "scheduled":
        threading.Thread(
            target=_deliver, args=(state, push), name="sandbox-push", daemon=True
        ).start()


def _deliver(state: SandboxState, push: Push) -> None:
    # BrickLink's POST carries no body at all (Content-Length: 0), as in practice.
    data = b"" if push.method == "POST" else None
    request = urllib.request.Request(push.url, data=data, method=push.method)  # noqa: S310
    request.add_header("User-Agent", "marketplace-sandbox-push")
    try:
        with urllib.request.urlopen(request, timeout=PUSH_TIMEOUT_SECONDS) as response:  # noqa: S310
            outcome = f"sent {response.status}"
    except urllib.error.HTTPError as error:
        outcome = f"sent {error.code}"
        logger.warning("sandbox push %s %s answered %s", push.method, push.url, error.code)
    except (OSError, ValueError) as error:
        outcome = f"failed: {type(error).__name__}"
        logger.warning("sandbox push %s %s failed: %s", push.method, push.url, error)
    with state.lock:
        push.entry["outcome"] = outcome

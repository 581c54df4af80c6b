"""BrickLink's OAuth 1.0 check, done by oauthlib, with BrickLink's failure reasons.

oauthlib's ``SignatureOnlyEndpoint.validate_request`` answers only yes or no. BrickLink tells
the client why (``SIGNATURE_INVALID``, ``NONCE_USED``, ``TIMESTAMP_REFUSED``, ...), and clients
react differently to each (a used nonce means "re-sign", a bad signature means "fix the
config"), so :class:`BrickLinkSignatureEndpoint` runs the same oauthlib steps one by one and
names the one that failed. The nonce is claimed by the caller, under the state's lock, only
once the signature is known to be good: a forged request cannot burn a client's nonce.
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable
from dataclasses import dataclass

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
from oauthlib.oauth1.rfc5849 import SIGNATURE_HMAC_SHA1, errors

from marketplaces.sandbox.accounts import TIMESTAMP_WINDOW_SECONDS, BrickLinkAccount

_DUMMY_SECRET = "sandbox-dummy-secret"  # noqa: S105 - signs nothing, only keeps timing even


class _Validator(RequestValidator):
    """oauthlib's hooks, opened up for realistic keys over plain http.

    The defaults want 20-30 alphanumeric characters and https; BrickLink keys are hex strings
    of other lengths and the sandbox speaks http.
    """

    def __init__(self, lookup: Callable[[str], BrickLinkAccount | None]) -> None:
        super().__init__()
        self._lookup = lookup

    enforce_ssl = False
    safe_characters = frozenset(string.ascii_letters + string.digits + "-_.~+/=:@!$*")
    client_key_length = (1, 256)
    access_token_length = (1, 256)
    request_token_length = (1, 256)
    nonce_length = (1, 256)
    timestamp_lifetime = TIMESTAMP_WINDOW_SECONDS
    allowed_signature_methods = (SIGNATURE_HMAC_SHA1,)
    dummy_client = "sandbox-dummy-client"
    dummy_access_token = "sandbox-dummy-token"  # noqa: S105

    def validate_client_key(self, client_key, request) -> bool:
        return self._lookup(client_key) is not None

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, **kw) -> bool:
        # Claimed by the caller once the signature is good (see the module docstring).
        return True

    def get_client_secret(self, client_key, request) -> str:
        account = self._lookup(client_key)
        return account.consumer_secret if account else _DUMMY_SECRET

    def get_access_token_secret(self, client_key, token, request) -> str:
        account = self._lookup(client_key)
        if account and account.token_value == token:
            return account.token_secret
        return _DUMMY_SECRET


@dataclass(slots=True)
class Verdict:
    """The outcome: an account and its nonce, or BrickLink's reason for refusing."""

    account: BrickLinkAccount | None = None
    nonce: str = ""
    timestamp: int = 0
    failure: str = ""


class BrickLinkSignatureEndpoint(SignatureOnlyEndpoint):
    """Verifies a request's Authorization header against the registered credentials."""

    def __init__(self, lookup: Callable[[str], BrickLinkAccount | None]) -> None:
        super().__init__(_Validator(lookup))
        self._lookup = lookup

    def verify(self, uri: str, method: str, authorization: str | None) -> Verdict:
        """Check the signature of ``method uri``; JSON bodies are not signed, so none is read."""
        headers = {"Authorization": authorization} if authorization else {}
        try:
            request = self._create_request(uri, method, "", headers)
        except (errors.OAuth1Error, ValueError) as exc:
            return Verdict(failure=f"SIGNATURE_INVALID: {_describe(exc)}")
        try:
            timestamp = int(request.timestamp or "")
        except ValueError:
            return Verdict(failure="TIMESTAMP_REFUSED: oauth_timestamp is not an integer")
        skew = abs(time.time() - timestamp)
        if skew > TIMESTAMP_WINDOW_SECONDS:
            return Verdict(
                failure=f"TIMESTAMP_REFUSED: oauth_timestamp is {int(skew)} seconds off "
                f"(at most {TIMESTAMP_WINDOW_SECONDS} allowed)"
            )
        try:
            self._check_transport_security(request)
            self._check_mandatory_parameters(request)
        except errors.OAuth1Error as exc:
            return Verdict(failure=f"SIGNATURE_INVALID: {_describe(exc)}")
        account = self._lookup(request.client_key)
        if account is None:
            return Verdict(failure="CONSUMER_KEY_UNKNOWN: the consumer key is not registered")
        if request.resource_owner_key != account.token_value:
            return Verdict(failure="TOKEN_VALUE_UNKNOWN: the token does not belong to this key")
        if not self._check_signature(request):
            return Verdict(failure="SIGNATURE_INVALID: the signature does not match the request")
        return Verdict(account=account, nonce=request.nonce, timestamp=timestamp)


def _describe(exc: Exception) -> str:
    description = getattr(exc, "description", None) or str(exc)
    if isinstance(description, tuple):  # oauthlib sometimes passes a (format, args) tuple
        description = " ".join(str(part) for part in description)
    return str(description)

"""What every BrickLink call shares: the OAuth-signed session and the envelope's decoding.

Each group of endpoints (``catalog``, ``inventory``, ``bulk``, ...) is a subclass of
:class:`BrickLinkBase` that adds its calls; :class:`~marketplaces.bricklink.BrickLinkClient`
puts the groups together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self, TypeVar

from django.conf import settings
from requests_oauthlib import OAuth1

from marketplaces.errors import TransientError
from marketplaces.http import (
    HttpConfig,
    MarketplaceClient,
    RawResponse,
    fingerprint,
    new_session,
    sessions,
)

from .credentials import Credentials
from .decode import decode_envelope
from .parsing import PROVIDER

T = TypeVar("T")


class BrickLinkBase(MarketplaceClient):
    provider = PROVIDER

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        http: HttpConfig | None = None,
    ) -> None:
        base_url = (base_url or settings.BRICKLINK_API_URL).rstrip("/")
        key = "bricklink:" + fingerprint(
            base_url,
            credentials.consumer_key,
            credentials.consumer_secret,
            credentials.token_value,
            credentials.token_secret,
        )
        session = sessions.get(
            key,
            lambda: new_session(
                OAuth1(
                    credentials.consumer_key,
                    credentials.consumer_secret,
                    credentials.token_value,
                    credentials.token_secret,
                    signature_method="HMAC-SHA1",
                    signature_type="AUTH_HEADER",
                )
            ),
        )
        super().__init__(
            base_url=base_url, session=session, http=http or HttpConfig.from_settings()
        )
        self.account = fingerprint(credentials.consumer_key)

    @classmethod
    def platform(cls, **kwargs: Any) -> Self:
        """The client for catalog calls, with the platform's own credentials."""
        return cls(Credentials.from_settings(), **kwargs)

    def _request(self, method: str, template: str, parse: Callable[[Any], T], **kwargs: Any) -> T:
        """One call: decode the envelope, then ``parse`` its data into typed results."""

        def decode(raw: RawResponse, method: str, template: str) -> tuple[T, int | None]:
            data, meta_code = decode_envelope(raw, method, template)
            try:
                return parse(data), meta_code
            except TransientError as exc:
                exc.method, exc.path, exc.http_status, exc.meta_code = (
                    method,
                    template,
                    raw.status,
                    meta_code,
                )
                exc.ambiguous = method != "GET"
                raise

        return self._call(method, template, decode, **kwargs)

"""What every BrickOwl call shares: the key, the pooled session and the answer's decoding.

Key auth: ``key=`` in the query on GET and in the form body on POST, so the key travels in
URLs: it must never reach a log line or an error message. Each group of endpoints
(``catalog``, ``inventory``, ...) is a subclass of :class:`BrickOwlBase` that adds its calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self, TypeVar

from django.conf import settings

from marketplaces.http import HttpConfig, MarketplaceClient, fingerprint, new_session, sessions

from .decode import decoder
from .parsing import PROVIDER

T = TypeVar("T")


class BrickOwlBase(MarketplaceClient):
    provider = PROVIDER

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        http: HttpConfig | None = None,
    ) -> None:
        base_url = (base_url or settings.BRICKOWL_API_URL).rstrip("/")
        session = sessions.get("brickowl:" + fingerprint(base_url), new_session)
        super().__init__(
            base_url=base_url, session=session, http=http or HttpConfig.from_settings()
        )
        self._key = api_key
        self.account = fingerprint(api_key)

    def __repr__(self) -> str:
        return f"BrickOwlClient(base_url={self.base_url!r})"

    @classmethod
    def platform(cls, **kwargs: Any) -> Self:
        """The client for catalog look-ups, with the platform's own key."""
        return cls(settings.BRICKOWL_API_KEY, **kwargs)

    def _get(self, template: str, parse: Callable[[Any], T], params: dict | None = None) -> T:
        return self._call(
            "GET", template, decoder(parse), params={**(params or {}), "key": self._key}
        )

    def _post(self, template: str, parse: Callable[[Any], T], form: dict[str, Any]) -> T:
        return self._call("POST", template, decoder(parse), data={**form, "key": self._key})

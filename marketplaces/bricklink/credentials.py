"""A BrickLink store's OAuth 1.0 credentials: four secrets, never printed."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Credentials:
    consumer_key: str
    consumer_secret: str
    token_value: str
    token_secret: str

    def __repr__(self) -> str:  # never print secrets, even in a debugger or a traceback
        return f"Credentials(consumer_key={self.consumer_key[:4]}…)"

    @property
    def configured(self) -> bool:
        return all((self.consumer_key, self.consumer_secret, self.token_value, self.token_secret))

    @classmethod
    def from_settings(cls) -> Credentials:
        """The platform's own credentials, used for catalog calls."""
        return cls(
            consumer_key=settings.BRICKLINK_CONSUMER_KEY,
            consumer_secret=settings.BRICKLINK_CONSUMER_SECRET,
            token_value=settings.BRICKLINK_TOKEN_VALUE,
            token_secret=settings.BRICKLINK_TOKEN_SECRET,
        )

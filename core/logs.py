"""Logging's last line of defence: no secret leaves a process in a log line.

The clients never log keys, tokens, signatures or URL queries (marketplaces/http/); this
filter, on every handler (settings ``LOGGING``), redacts what slips through anyway — an
exception whose message quotes a URL, a header dict, a settings value — in the message, the
traceback, the stack and string ``extra`` fields.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[REDACTED]"

# A name that says its value is a secret: OAuth 1 parameters (oauth_token, oauth_signature,
# oauth_consumer_key...), our settings (SECRET_KEY, FIELD_ENCRYPTION_KEY, BRICKLINK_TOKEN_SECRET,
# BRICKOWL_API_KEY...), the connection fields (consumer_secret, token_value...), passwords.
_SENSITIVE_WORDS = "secret|token|signature|password|passwd|api[_-]?key|consumer_key|encryption_key"
_SENSITIVE_NAME = rf"[\w-]*(?:{_SENSITIVE_WORDS})[\w-]*"
_SENSITIVE_NAME_RE = re.compile(rf"^{_SENSITIVE_NAME}$", re.IGNORECASE)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization headers, whatever their scheme (Token, Bearer, Basic, OAuth ...).
    (
        re.compile(r"(\b(?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n]+", re.I),
        rf"\1{REDACTED}",
    ),
    # A bearer or API token standing alone ("Token 9944b09...", "Bearer eyJ...").
    (re.compile(r"\b(Bearer|Token)\s+[A-Za-z0-9._~+/=-]{16,}"), rf"\1 {REDACTED}"),
    # name=value, name: value, "name": "value" for a secret-looking name (a value may be a
    # comma-separated list, as rotating FIELD_ENCRYPTION_KEYs are).
    (
        re.compile(
            rf"\b({_SENSITIVE_NAME})(['\"]?\s*[:=]\s*['\"]?)(?:[^'\"&,;\s]|,(?=[^\s'\"]))+", re.I
        ),
        rf"\1\2{REDACTED}",
    ),
    # BrickOwl's key: a query or form parameter called just "key", or a quoted "key" field.
    (re.compile(r"((?:^|[?&;\s'\"(])key=)[^&;\s'\"]+", re.I | re.M), rf"\1{REDACTED}"),
    (re.compile(r"(['\"]key['\"]\s*:\s*['\"])[^'\"]+", re.I), rf"\1{REDACTED}"),
    # Credentials in a URL: scheme://user:password@host.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@", re.I), rf"\1{REDACTED}@"),
    # A store's push URL carries its secret in the path: /hooks/<provider>/<secret>/.
    (re.compile(r"(/hooks/[a-z]+/)[^/?\s'\"]+", re.I), rf"\1{REDACTED}"),
    # The shape of a Fernet key (FIELD_ENCRYPTION_KEY): 32 bytes of url-safe base64.
    (re.compile(r"(?<![\w-])[A-Za-z0-9_-]{43}=(?![\w=-])"), REDACTED),
]

# Settings whose values never appear in a log line, whatever surrounds them.
SECRET_SETTINGS = (
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "BRICKLINK_CONSUMER_KEY",
    "BRICKLINK_CONSUMER_SECRET",
    "BRICKLINK_TOKEN_VALUE",
    "BRICKLINK_TOKEN_SECRET",
    "BRICKOWL_API_KEY",
    "METRICS_TOKEN",
)

_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "correlation_id",
}


def _configured_secrets() -> list[str]:
    from django.conf import settings

    if not settings.configured:
        return []
    values: list[str] = []
    for name in SECRET_SETTINGS:
        # Several comma-separated Fernet keys rotate: each one is a secret.
        values += str(getattr(settings, name, "") or "").split(",")
    # Too short a value would redact ordinary words; real secrets are long.
    return [value.strip() for value in values if len(value.strip()) >= 8]


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every known secret shape, and every configured secret, replaced."""
    for value in _configured_secrets() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrites a record that carries a secret; leaves every other record as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _configured_secrets()
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            # Arguments that do not fit the format: keep both, never raise in the caller.
            message = f"{record.msg} {record.args!r}"
            record.msg, record.args = message, ()
        clean = redact(message, secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            clean = redact(text, secrets)
            record.exc_text = clean
            if clean != text:
                # Formatters re-render exc_info when they have it; the redacted text must win.
                record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        for name, value in list(vars(record).items()):
            if name in _RECORD_ATTRS or name.startswith("_"):
                continue
            if isinstance(value, str) and value:
                sensitive = _SENSITIVE_NAME_RE.match(name)
                setattr(record, name, REDACTED if sensitive else redact(value, secrets))
        return True

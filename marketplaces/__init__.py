"""Outbound HTTP clients for BrickLink and BrickOwl, and a sandbox that speaks both. No ORM here."""

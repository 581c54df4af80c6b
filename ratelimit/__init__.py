"""Quotas shared by every worker on every machine, kept in the database."""

"""Persistence: scan runs, events, alerts and parse errors in SQLite (default) or PostgreSQL."""

"""Outbound webhooks: signing here; delivery lives with the integrations app's tasks."""

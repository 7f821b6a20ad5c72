"""Event outbox and live notifications."""

from notifications.models import Event
from notifications.outbox import emit

__all__ = ["Event", "emit"]

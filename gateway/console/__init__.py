"""The staff console: server-rendered pages in Khmer and English over the hub's services."""

from gateway.console.pages import console_mount

__all__ = ["console_mount"]

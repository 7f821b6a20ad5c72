"""Survivors' consent: the pure policy `decide` (grants, withdrawal and the disclosure log
come with the cases-and-consent work)."""

from consent.rules import DataCategory, Decision, DenyReason, Grant, Purpose, Recipient, decide

__all__ = ["DataCategory", "Decision", "DenyReason", "Grant", "Purpose", "Recipient", "decide"]

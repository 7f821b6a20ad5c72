"""Cases: the survivor's record, its sealed data, and who may see which field."""

from cases.rules import SENSITIVE_FIELDS, CaseStatus

__all__ = ["SENSITIVE_FIELDS", "CaseStatus"]

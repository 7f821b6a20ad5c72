"""Referrals as FHIR R4 ``ServiceRequest`` + ``Task``, consent as FHIR ``Consent``, for
partners with FHIR systems. Pure: plain values in, resources validated by the
``fhir.resources`` R4B models out (R4B keeps R4's shape for these three resources).

No survivor data goes in: the patient is a pseudonymous reference (see cases/htcds.py
``pseudonym``), organisations are the hub's ids, and a referral's reason and notes (sealed
free text) are left out. What the resources carry is workflow and consent metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

HUB_SYSTEM = "urn:referral-hub"
SERVICE_SYSTEM = f"{HUB_SYSTEM}:service-category"
PURPOSE_SYSTEM = f"{HUB_SYSTEM}:consent-purpose"
CATEGORY_SYSTEM = f"{HUB_SYSTEM}:data-category"

# Referral status -> (ServiceRequest.status, Task.status).
STATUS: dict[str, tuple[str, str]] = {
    "SENT": ("active", "requested"),
    "ACKNOWLEDGED": ("active", "received"),
    "ACCEPTED": ("active", "accepted"),
    "DECLINED": ("revoked", "rejected"),
    "ON_HOLD": ("on-hold", "on-hold"),
    "IN_PROGRESS": ("active", "in-progress"),
    "COMPLETED": ("completed", "completed"),
    "FAILED": ("completed", "failed"),
    "CANCELLED": ("revoked", "cancelled"),
    "EXPIRED": ("revoked", "cancelled"),
}
PRIORITY = {"ROUTINE": "routine", "URGENT": "urgent", "EMERGENCY": "stat"}


@dataclass(frozen=True, slots=True)
class ReferralFacts:
    id: str
    status: str
    urgency: str
    services: Sequence[str]
    sender_organization_id: str
    receiver_organization_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    id: str
    version: int
    purposes: Sequence[str]
    categories: Sequence[str]
    recipient_organization_ids: Sequence[str]
    recipient_kinds: Sequence[str]
    valid_from: datetime
    valid_until: datetime | None
    withdrawn_at: datetime | None
    recorded_by_organization_id: str
    recorded_at: datetime


def _org(organization_id: str) -> dict[str, str]:
    return {"reference": f"Organization/{organization_id}"}


def _patient(pseudonym: str) -> dict[str, Any]:
    # An identifier only: no Patient resource with a name or birth date travels.
    return {"identifier": {"system": f"{HUB_SYSTEM}:pseudonym", "value": pseudonym}}


def referral_resources(referral: ReferralFacts, pseudonym: str) -> list[dict[str, Any]]:
    """The referral as a ServiceRequest and the Task that tracks it, both validated."""
    request_status, task_status = STATUS[referral.status]
    request = ServiceRequest.model_validate(
        {
            "resourceType": "ServiceRequest",
            "id": referral.id,
            "identifier": [{"system": f"{HUB_SYSTEM}:referral", "value": referral.id}],
            "status": request_status,
            "intent": "order",
            "priority": PRIORITY.get(referral.urgency, "routine"),
            "category": [
                {"coding": [{"system": SERVICE_SYSTEM, "code": s}]} for s in referral.services
            ],
            "subject": _patient(pseudonym),
            "authoredOn": referral.created_at.isoformat(),
            "requester": _org(referral.sender_organization_id),
            "performer": [_org(referral.receiver_organization_id)],
        }
    )
    task = Task.model_validate(
        {
            "resourceType": "Task",
            "id": f"{referral.id}-task",
            "status": task_status,
            "businessStatus": {"text": referral.status},
            "intent": "order",
            "focus": {"reference": f"ServiceRequest/{referral.id}"},
            "for": _patient(pseudonym),
            "authoredOn": referral.created_at.isoformat(),
            "lastModified": referral.updated_at.isoformat(),
            "requester": _org(referral.sender_organization_id),
            "owner": _org(referral.receiver_organization_id),
        }
    )
    return [
        request.model_dump(mode="json", by_alias=True),
        task.model_dump(mode="json", by_alias=True),
    ]


def consent_resource(consent: ConsentFacts, pseudonym: str, at: datetime) -> dict[str, Any]:
    """One consent version as a FHIR Consent: who may receive which categories for which
    purposes, from when to when; inactive once withdrawn or expired."""
    ended = (consent.withdrawn_at is not None and consent.withdrawn_at <= at) or (
        consent.valid_until is not None and consent.valid_until <= at
    )
    period: dict[str, str] = {"start": consent.valid_from.isoformat()}
    end = consent.withdrawn_at or consent.valid_until
    if end is not None:
        period["end"] = end.isoformat()
    actors = [
        {
            "role": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "code": "IRCP",
                    }
                ]
            },
            "reference": _org(org_id),
        }
        for org_id in consent.recipient_organization_ids
    ]
    resource = Consent.model_validate(
        {
            "resourceType": "Consent",
            "id": f"{consent.id}-v{consent.version}",
            "status": "inactive" if ended else "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": _patient(pseudonym),
            "dateTime": consent.recorded_at.isoformat(),
            "organization": [_org(consent.recorded_by_organization_id)],
            "policyRule": {"text": "Referral Hub consent"},
            "provision": {
                "type": "permit",
                "period": period,
                "actor": actors or None,
                "purpose": [{"system": PURPOSE_SYSTEM, "code": p} for p in consent.purposes],
                "class": [{"system": CATEGORY_SYSTEM, "code": c} for c in consent.categories]
                + [
                    {"system": f"{HUB_SYSTEM}:recipient-kind", "code": k}
                    for k in consent.recipient_kinds
                ],
            },
        }
    )
    dumped: dict[str, Any] = resource.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def bundle(resources: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A collection Bundle of ``resources``, validated as a whole."""
    validated = Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in resources],
        }
    )
    dumped: dict[str, Any] = validated.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped

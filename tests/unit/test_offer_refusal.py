"""Whether a receiver can take the services a referral asks for: the pure rule the send
applies to the offers its one SELECT found."""

from __future__ import annotations

from cases.referral_rules import offer_refusal
from orgs.rules import ServiceCategory

LEGAL = ServiceCategory.LEGAL_AID
SHELTER = ServiceCategory.SHELTER


def test_a_receiver_offering_every_service_asked_for_can_take_the_referral() -> None:
    assert offer_refusal([LEGAL, SHELTER], {"LEGAL_AID", "SHELTER"}, []) is None


def test_a_missing_service_is_named_once_whatever_else_is_wrong() -> None:
    refusal = offer_refusal([SHELTER, LEGAL, SHELTER], {"LEGAL_AID"}, ["LEGAL_AID"])
    assert refusal == "the receiver does not offer: SHELTER"


def test_services_not_accepting_referrals_are_named_in_order() -> None:
    refusal = offer_refusal([SHELTER, LEGAL], {"LEGAL_AID", "SHELTER"}, ["SHELTER", "LEGAL_AID"])
    assert refusal == "the receiver is not accepting referrals for: LEGAL_AID, SHELTER"


def test_nothing_offered_names_every_service_asked_for() -> None:
    assert offer_refusal([SHELTER, LEGAL], set(), []) == (
        "the receiver does not offer: LEGAL_AID, SHELTER"
    )

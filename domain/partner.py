"""A partner organisation a case can be handed on to (another network, an NGO at the border, a
shelter operator), registered with the channel on which it takes referrals."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import CoordinationAggregate
from domain.base import InvalidCommand, Meta, PersonalData
from domain.roles import Authority
from domain.volunteer import ensure_staff


class InvalidPartner(InvalidCommand):
    """A partner needs a name, a kind and a contact channel."""


class Partner(CoordinationAggregate):
    """An organisation outside the network that takes referrals; its contact stays sealed
    (a desk's address is often one person's phone)."""

    @classmethod
    def register(cls, *, partner_id: UUID, name: str, kind: str, contact_channel: str,
                 contact: str, by: Authority, meta: Meta) -> Partner:
        """A supervisor or admin registers an organisation and how it is reached."""
        ensure_staff(by, "register partner organisations")
        if not (name.strip() and kind.strip() and contact_channel.strip()):
            raise InvalidPartner("a partner needs a name, a kind and a contact channel")
        return cls(id=partner_id, name=name, kind=kind, contact_channel=contact_channel,
                   contact=PersonalData.of(partner_id, contact=contact),
                   registered_by=by.actor, meta=meta)

    @event("PartnerRegistered")
    def __init__(self, id: UUID, name: str, kind: str, contact_channel: str,
                 contact: PersonalData, registered_by: str, meta: Meta) -> None:
        self.name, self.kind, self.contact_channel = name, kind, contact_channel
        self.contact = contact
        self.registered_at = meta.at

    def change_contact(self, *, contact_channel: str, contact: str, by: Authority,
                       meta: Meta) -> None:
        """A supervisor or admin records a new way of reaching the organisation."""
        ensure_staff(by, "change a partner's contact")
        if not contact_channel.strip():
            raise InvalidPartner("a partner needs a contact channel")
        self._record_contact_changed(contact_channel=contact_channel,
                                     contact=PersonalData.of(self.id, contact=contact),
                                     meta=meta)

    @event("PartnerContactChanged")
    def _record_contact_changed(self, contact_channel: str, contact: PersonalData,
                                meta: Meta) -> None:
        self.contact_channel, self.contact = contact_channel, contact

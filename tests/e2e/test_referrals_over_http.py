"""Handing a case on over HTTP, on the embedded store and on PostgreSQL: consent first, the
referral sent, the partner's own service (a partner token) reading only its referrals'
packages and answering only those, every package on record, nothing outside the consent in
a package, withdrawal stopping further sharing, and closing as referred only through an
accepted referral."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from command_api_driver import Api, Member, eventually

from services.clock import now
from services.settings import Settings

SECRET_NAME = "Olena Kovalenko"
SECRET_PLACE = "Sumska street 12, flat 4"
SECRET_HEALTH = "insulin twice a day"
HANDLE = "@olena_kv_77"


def partner(api: Api, name: str = "Border Aid") -> tuple[uuid.UUID, str]:
    """A registered partner and a token for its own service."""
    partner_id = uuid.uuid4()
    api.accepted("partners/register", api.admin_token, partner_id=partner_id, name=name,
                 kind="ngo", contact_channel="email", contact="desk@example.org")
    return partner_id, api.runtime.tokens.issue("", [], partner_id=partner_id)


def get(api: Api, path: str, token: str, **params: Any) -> httpx.Response:
    head = api.runtime.app.recorder.max_notification_id() or 0
    return api.client.get(path, params={"min_position": head, **params},
                          headers={"Authorization": f"Bearer {token}"})


def referred_case(api: Api, holder: Member, partner_id: uuid.UUID,
                  scope: list[str]) -> tuple[uuid.UUID, uuid.UUID]:
    case_id = api.open_case(name=SECRET_NAME, contact_handle=HANDLE,
                            exact_location=SECRET_PLACE, health_details=SECRET_HEALTH,
                            adults=2, children_ages=[4])
    api.accepted("cases/take", holder.token, case_id=case_id)
    referral_id = uuid.uuid4()
    api.accepted("referrals/record-consent", holder.token, referral_id=referral_id,
                 case_id=case_id, partner_id=partner_id, scope=scope,
                 until=(now() + timedelta(days=7)).isoformat(),
                 statement="agreed on the phone with her daughter present")
    return case_id, referral_id


def package(api: Api, referral_id: uuid.UUID, token: str, fmt: str = "json") -> httpx.Response:
    return api.client.get(f"/referrals/{referral_id}/package", params={"format": fmt},
                          headers={"Authorization": f"Bearer {token}"})


class ReferralsOverHttp:
    def test_a_partner_reads_only_what_the_consent_covers_and_answers_its_own_referral(
            self, api: Api, volunteer: Member, supervisor: Member) -> None:
        partner_id, partner_token = partner(api)
        case_id, referral_id = referred_case(api, volunteer, partner_id, ["contact", "household"])

        not_sent = package(api, referral_id, partner_token)
        api.accepted("referrals/send", volunteer.token, referral_id=referral_id)
        listed = get(api, "/referrals", partner_token)
        shared = package(api, referral_id, partner_token)
        printed = package(api, referral_id, partner_token, "html")
        api.accepted("referrals/answer", partner_token, referral_id=referral_id,
                     answer="accepted")

        assert (not_sent.status_code, not_sent.json()["rule"]) == (409, "ReferralNotSent")
        assert [(r["referral_id"], r["case_id"]) for r in listed.json()] == [
            (str(referral_id), None)]
        assert shared.status_code == 200, shared.text
        body = shared.json()
        assert set(body["shared"]) == {"contact", "household"}
        assert body["shared"]["contact"] == {"contact_channel": "telegram",
                                             "contact_handle": HANDLE}
        assert body["shared"]["household"]["children_ages"] == [4]
        assert printed.headers["content-type"].startswith("text/html")
        assert shared.headers["cache-control"] == printed.headers["cache-control"] == "no-store"
        assert HANDLE in printed.text
        for text in (shared.text, printed.text):
            for secret in (SECRET_NAME, SECRET_PLACE, SECRET_HEALTH, str(case_id),
                           "daughter"):
                assert secret not in text
        shown = get(api, f"/cases/{case_id}/referrals", supervisor.token).json()
        assert [(r["status"], r["exports"], r["scope"]) for r in shown] == [
            ("accepted", 2, ["contact", "household"])]

    def test_every_package_handed_out_is_on_record_before_it_is_shown(
            self, api: Api, volunteer: Member) -> None:
        partner_id, partner_token = partner(api)
        case_id, referral_id = referred_case(api, volunteer, partner_id, ["journey"])
        api.accepted("referrals/send", volunteer.token, referral_id=referral_id)

        assert package(api, referral_id, partner_token).status_code == 200
        assert package(api, referral_id, volunteer.token, "html").status_code == 200

        views = [e for e in api.stored_events() if type(e).__name__ == "PersonalDataViewed"
                 and e.view == "referral_package"]
        assert [(v.viewer, v.basis) for v in views] == [
            (f"partner:{partner_id}", "partner_referral"),
            (str(volunteer.id), "referral_handover")]
        assert all(v.subject_ids == [api.aggregate(case_id).person_id] for v in views)
        assert api.aggregate(referral_id).exports == 2

    def test_a_partner_token_is_limited_to_its_own_referrals(
            self, api: Api, volunteer: Member) -> None:
        ours, _ = partner(api)
        _, other_token = partner(api, "Other Shelter")
        case_id, referral_id = referred_case(api, volunteer, ours, ["contact"])
        api.accepted("referrals/send", volunteer.token, referral_id=referral_id)

        someone_elses = package(api, referral_id, other_token)
        answer = api.send("referrals/answer", other_token, referral_id=referral_id,
                          answer="accepted")
        board = get(api, "/board", other_token)
        directory = get(api, "/resources/directory", other_token)
        case = get(api, f"/cases/{case_id}", other_token, purpose="x")
        take = api.send("cases/take", other_token, case_id=case_id)
        listed = get(api, "/referrals", other_token)

        assert (someone_elses.status_code, someone_elses.json()["rule"]) == (
            403, "NotThePartnersReferral")
        assert (answer.status_code, answer.json()["rule"]) == (403, "NotThePartnersReferral")
        for refused in (board, directory, case, take):
            assert (refused.status_code, refused.json()["rule"]) == (
                403, "PartnerTokenLimited"), refused.text
        assert listed.json() == []
        assert api.aggregate(referral_id).exports == 0

    def test_withdrawing_consent_stops_sharing_and_is_shown_on_the_case(
            self, api: Api, volunteer: Member, supervisor: Member) -> None:
        partner_id, partner_token = partner(api)
        case_id, referral_id = referred_case(api, volunteer, partner_id, ["contact"])
        api.accepted("referrals/send", volunteer.token, referral_id=referral_id)
        api.accepted("referrals/answer", supervisor.token, referral_id=referral_id,
                     answer="accepted")

        api.accepted("referrals/withdraw-consent", volunteer.token, referral_id=referral_id,
                     reason="she found her own way")
        refused = package(api, referral_id, partner_token)
        shown = get(api, f"/cases/{case_id}/referrals", volunteer.token).json()

        on_the_case = eventually(
            lambda: get(api, f"/cases/{case_id}", volunteer.token, purpose="casework").json(),
            lambda detail: detail["referrals"][0]["consent_withdrawn_at"] is not None)

        assert (refused.status_code, refused.json()["rule"]) == (409, "ConsentNotCurrent")
        assert on_the_case["referrals"][0]["consent_current"] is False
        assert shown[0]["consent_current"] is False
        assert shown[0]["consent_withdrawn_at"] is not None
        assert api.aggregate(referral_id).exports == 0

    def test_a_case_closes_as_referred_only_through_an_accepted_referral(
            self, api: Api, volunteer: Member) -> None:
        partner_id, partner_token = partner(api)
        case_id, referral_id = referred_case(api, volunteer, partner_id, ["contact"])
        api.accepted("referrals/send", volunteer.token, referral_id=referral_id)

        unnamed = api.send("cases/close", volunteer.token, case_id=case_id,
                           outcome="referred_elsewhere")
        not_yet = api.send("cases/close", volunteer.token, case_id=case_id,
                           outcome="referred_elsewhere", referral_id=referral_id)
        api.accepted("referrals/answer", partner_token, referral_id=referral_id,
                     answer="accepted")
        api.accepted("cases/close", volunteer.token, case_id=case_id,
                     outcome="referred_elsewhere", referral_id=referral_id)

        assert (unnamed.status_code, unnamed.json()["rule"]) == (409, "ReferralNotAccepted")
        assert (not_yet.status_code, not_yet.json()["rule"]) == (409, "ReferralNotAccepted")
        assert api.aggregate(case_id).outcome.value == "referred_elsewhere"

    def test_nothing_is_shared_of_an_erased_person_and_the_consent_stays_sealed(
            self, api: Api, volunteer: Member, supervisor: Member) -> None:
        partner_id, partner_token = partner(api)
        case_id, referral_id = referred_case(api, volunteer, partner_id, ["identity"])
        api.accepted("referrals/send", volunteer.token, referral_id=referral_id)

        api.accepted("cases/erase-personal-data", supervisor.token, case_id=case_id)
        refused = package(api, referral_id, partner_token)
        stored = next(e for e in api.stored_events() if type(e).__name__ == "ConsentRecorded"
                      and e.originator_id == referral_id)
        raw = b"".join(n.state for n in api.runtime.app.recorder.select_notifications(
            start=1, limit=1_000_000) if n.originator_id == referral_id)

        assert (refused.status_code, refused.json()["rule"]) == (409, "PersonErased")
        assert stored.personal.fields is None
        assert api.runtime.app.sealer.reveal(stored.personal) is None
        assert b"daughter" not in raw

    def test_consent_comes_first_and_names_known_things(
            self, api: Api, volunteer: Member) -> None:
        partner_id, _ = partner(api)
        case_id = api.taken_case(volunteer)

        unknown = api.send("referrals/record-consent", volunteer.token,
                           referral_id=uuid.uuid4(), case_id=case_id, partner_id=partner_id,
                           scope=["bank_account"], until=(now() + timedelta(days=1)).isoformat(),
                           statement="yes")
        past = api.send("referrals/record-consent", volunteer.token,
                        referral_id=uuid.uuid4(), case_id=case_id, partner_id=partner_id,
                        scope=["contact"], until=(now() - timedelta(days=1)).isoformat(),
                        statement="yes")
        nobody = api.send("referrals/send", volunteer.token, referral_id=uuid.uuid4())

        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"].startswith(
            "scope")
        assert (past.status_code, past.json()["rule"]) == (422, "InvalidConsent")
        assert nobody.status_code == 404


class TestOnSQLite(ReferralsOverHttp):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestOnPostgres(ReferralsOverHttp):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings

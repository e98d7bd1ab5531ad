"""Every page of the console, filled with a small network's day, scanned by axe-core (no
violation of serious or critical impact) and photographed at 360 and 1280 px into
SCREENSHOTS (docs/console/ holds the ones the README shows)."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from console_rig import Member, Network, screenshot, signed_in
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.browser

BLOCKING = ("serious", "critical")


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of serious or critical impact, at both widths."""
    found: list[dict[str, Any]] = []
    for width, height in ((360, 780), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        result = Axe().run(page)
        found += [{"width": width, "id": v["id"], "impact": v["impact"],
                   "nodes": [n["target"] for n in v["nodes"]][:5]}
                  for v in result.response["violations"] if v["impact"] in BLOCKING]
    page.set_viewport_size({"width": 360, "height": 780})
    return found


@pytest.fixture(scope="module")
def day(network: Network) -> dict[str, Any]:
    """A supervisor with cases of every urgency, one flagged by a recalled transport,
    volunteers on shift, resources of several kinds in every state of verification."""
    supervisor = network.register("supervisor", "volunteer")
    helpers = [network.register("volunteer") for _ in range(3)]
    checker = network.register("fact_checker")
    for member in (supervisor, *helpers):
        network.command("volunteers/start-shift", member.token)
    bus = network.report(supervisor, "transport", details="minibus, 8 seats",
                         place="Central station")
    shelter = network.report(helpers[0], "shelter", capacity=60, place="School No. 5",
                             region="Lviv")
    network.report(helpers[1], "food_point", details="hot meals 9-18", place="Market")
    network.report(helpers[2], "medicine", details="insulin", region="Dnipro")
    for resource in (bus, shelter):
        network.command("resources/verify", checker.token, resource_id=resource)
    cases = []
    for i, answers in enumerate([{"safe_now": False, "children_ages": [3, 7]},
                                 {"safe_now": False, "mobility_needs": True},
                                 {"safe_now": True, "pets": 1}, {"safe_now": True},
                                 {"safe_now": True, "needs_food": True}]):
        case_id = network.open_case(**answers)
        cases.append(case_id)
        if i < 4:
            network.command("cases/take", (supervisor, *helpers)[i].token, case_id=case_id)
    network.command("cases/give-advice", supervisor.token, case_id=cases[0],
                    text="Stay in the shelter until 6:00, the road is shelled",
                    resource_ids=[shelter])
    network.command("cases/arrange-transport", supervisor.token, case_id=cases[0],
                    resource_ids=[bus], description="minibus from the station at 7:00")
    network.command("cases/record-departure", supervisor.token, case_id=cases[0])
    network.command("resources/mark-unsafe", supervisor.token, resource_id=bus,
                    reason="shelling near the station")
    return {"supervisor": supervisor, "checker": checker, "case": cases[0],
            "auditor": network.issuer.issue("auditor-1", ["auditor"]),
            "admin": Member("admin", network.admin)}


class TestEveryPage:
    def check(self, page: Page, name: str) -> None:
        screenshot(page, name)
        assert blocking_violations(page) == [], name

    def test_the_sign_in_page(self, context: BrowserContext, network: Network) -> None:
        page = context.new_page()
        page.goto(f"{network.base_url}/console/")
        expect(page.get_by_label("Access token")).to_be_visible()
        self.check(page, "sign-in")

    def test_the_live_board(self, context: BrowserContext, network: Network,
                            day: dict[str, Any]) -> None:
        page = signed_in(context, network, day["supervisor"].token, "#/board")
        expect(page.locator(f'[data-case-id="{day["case"]}"]')).to_have_attribute(
            "data-flagged", "true")
        self.check(page, "board")

    def test_a_case(self, context: BrowserContext, network: Network,
                    day: dict[str, Any]) -> None:
        page = signed_in(context, network, day["supervisor"].token, f"#/case/{day['case']}")
        page.get_by_role("button", name="Show the journey").click()
        expect(page.get_by_test_id("journey")).to_contain_text("TransportArranged")
        self.check(page, "case")

    def test_the_resources(self, context: BrowserContext, network: Network,
                           day: dict[str, Any]) -> None:
        page = signed_in(context, network, day["admin"].token, "#/resources")
        expect(page.get_by_test_id("resources").locator("li.resource").first).to_be_visible()
        self.check(page, "resources")

    def test_the_workload(self, context: BrowserContext, network: Network,
                          day: dict[str, Any]) -> None:
        page = signed_in(context, network, day["supervisor"].token, "#/workload")
        expect(page.locator("figure.chart")).to_have_count(2)
        self.check(page, "workload")

    def test_the_audit(self, context: BrowserContext, network: Network,
                       day: dict[str, Any]) -> None:
        page = signed_in(context, network, day["auditor"], "#/audit")
        page.get_by_label("Case id").fill(day["case"])
        page.get_by_role("button", name="Load").click()
        page.get_by_role("button", name="Compare").click()
        page.get_by_role("button", name="Verify the chain").click()
        expect(page.get_by_test_id("chain")).to_contain_text("Intact")
        self.check(page, "audit")

"""The incident page in a real browser: a lead acknowledges and posts the listening message; axe is happy."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright
from pydantic import SecretStr
from sqlalchemy import select

from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Incident, Reply
from queue_ui.app import create_app
from tests.conftest import TEST_PASSWORD
from tests.listener.smtp_server import free_port
from tests.queue_ui.conftest import NOW, SECRET
from tests.queue_ui.test_incidents_pages import make_incident

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(engine, settings) -> Iterator[str]:
    app = create_app(settings, engine, clock=lambda: NOW, session_secret=SECRET)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join()


@pytest.fixture
def settings() -> Settings:
    settings = Settings()
    settings.secrets.session_secret = SecretStr(SECRET)
    return settings


def test_a_lead_works_an_incident_in_the_browser(engine, settings, live_url, make_user, chromium):
    incident_id = make_incident(engine, settings)
    lead = make_user("lead", initials="JB")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page()
        page.goto(f"{live_url}/incidents/{incident_id}")
        page.get_by_label("Email address").fill(lead.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("GP letters sent to the wrong addresses")
        # The banner on every page names the open incident.
        expect(page.locator(".lp-incident-banner")).to_contain_text("GP letters sent to the wrong addresses")

        violations = Axe().run(page).response["violations"]
        assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == []

        page.get_by_role("button", name="Acknowledge 1 alert").click()
        expect(page.locator("#incident-state")).to_contain_text("Acknowledged")

        message = page.get_by_label("Listening message")
        expect(message).to_have_value(f"{settings.incidents.listening_message} ^JB")
        page.get_by_label("Also send it as the reply to each of the 2 open items in this incident").check()
        page.get_by_role("button", name="Approve and post").click()
        expect(page.locator("#listening-sent")).to_contain_text("approved")
        browser.close()

    with write_transaction(engine) as session:
        assert session.get(Incident, incident_id).acknowledged_by_id == lead.id
        assert len(session.scalars(select(Reply)).all()) == 3


def _sign_in(page, url, user) -> None:
    page.goto(url)
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _serious(page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [v["id"] for v in violations if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width,height", [(1366, 900), (390, 844)])
def test_a_lead_resolves_with_a_summary_past_the_warnings_then_reopens(
    engine, settings, live_url, make_user, chromium, width, height
):
    incident_id = make_incident(engine, settings)
    lead = make_user("lead", initials="JB")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": width, "height": height})
        _sign_in(page, f"{live_url}/incidents/{incident_id}", lead)
        page.get_by_role("button", name="Resolve: back to listening").click()
        expect(page.locator(".nhsuk-error-summary")).to_contain_text("Write a summary")

        page.get_by_label("Summary: what happened and what was done").fill("Letters recalled; apology sent")
        page.get_by_role("button", name="Resolve: back to listening").click()
        expect(page.locator("#resolve-warnings")).to_contain_text("No considered response has been written.")
        expect(page.locator("#resolve-warnings")).to_contain_text("2 items are still open")
        assert _serious(page) == []
        page.get_by_role("button", name="Yes, resolve the incident").click()
        expect(page.locator("#resolution")).to_contain_text("Letters recalled; apology sent")
        expect(page.locator("#resolution")).to_contain_text("No considered response has been written.")
        assert _serious(page) == []

        page.get_by_label("Why open it again? (recorded)").fill("More letters went out today")
        page.get_by_role("button", name="Open the incident again").click()
        expect(page.locator("#incident-state")).to_contain_text("More letters went out today")
        expect(page.get_by_role("button", name="Resolve: back to listening")).to_be_visible()
        browser.close()

    with write_transaction(engine) as session:
        assert session.get(Incident, incident_id).status == "listening"

"""Reports and FOI pages: managers only, numbers that lead to their items, CSV downloads, audited exports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from listener.reports.filters import ReportFilters
from listener.reports.responses import response_report
from listener.settings import Settings
from listener.store.db import session_factory, write_transaction
from listener.store.models import AuditEvent
from queue_ui.app import create_app
from tests.conftest import TEST_PASSWORD
from tests.listener import report_data as data

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
SECRET = "reports-pages-test-secret-0123456789abcdef"


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.secrets.session_secret = SecretStr(SECRET)
    return s


@pytest.fixture
def app(engine, settings):
    return create_app(settings, engine, clock=lambda: NOW, session_secret=SECRET)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def signed_in(app, user) -> TestClient:
    client = TestClient(app)
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "email": user.email,
            "password": TEST_PASSWORD,
            "csrf_token": _csrf(page.text),
            "next": "/reports",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def planted(engine, make_user):
    """Items in the first half of March 2026 for two agents, answered in and out of time."""
    alex = make_user("agent", name="Alex Agent")
    bo = make_user("agent", name="Bo <b>Agent</b>")
    ids = {"alex_in_time": [], "alex_late": [], "bo": [], "open": []}
    with write_transaction(engine) as s:
        pat = data.author(s)
        for day in range(2, 7):  # Monday 2 to Friday 6 March
            created = datetime(2026, 3, day, 10, 0, tzinfo=UTC)
            m = data.mention(s, pat, created, label="negative" if day % 2 else "positive", compound=0.3)
            ids["alex_in_time"].append(
                data.item(
                    s,
                    m,
                    due_at=created + timedelta(hours=2),
                    assignee=alex,
                    status="replied",
                    first_response_at=created + timedelta(hours=1),
                ).id
            )
            m = data.mention(
                s,
                pat,
                created + timedelta(hours=1),
                source="facebook:page:104729318865221",
                platform="facebook",
            )
            ids["alex_late"].append(
                data.item(
                    s,
                    m,
                    due_at=created + timedelta(hours=2),
                    assignee=alex,
                    status="replied",
                    first_response_at=created + timedelta(hours=5),
                ).id
            )
            m = data.mention(s, pat, created + timedelta(hours=2), text='=HYPERLINK("http://evil")')
            ids["bo"].append(
                data.item(
                    s,
                    m,
                    due_at=created + timedelta(hours=4),
                    assignee=bo,
                    status="closed",
                    first_response_at=created + timedelta(hours=3),
                    closed_at=created + timedelta(hours=4),
                ).id
            )
        m = data.mention(s, pat, datetime(2026, 3, 19, 10, tzinfo=UTC))
        ids["open"].append(data.item(s, m, due_at=datetime(2026, 3, 21, 10, tzinfo=UTC)).id)
    return {"alex": alex, "bo": bo, **ids}


RANGE = {"from": "2026-03-01", "to": "2026-03-20"}


PATHS = [
    "/reports",
    "/reports/items",
    "/reports/mentions",
    "/reports/response.csv",
    "/reports/volume.csv",
    "/reports/incidents.csv",
    "/reports/items.csv",
    "/reports/mentions.csv",
    "/reports/foi",
]


@pytest.mark.parametrize(
    ("role", "status"), [("agent", 403), ("lead", 403), ("manager", 200), ("admin", 200)]
)
def test_reports_are_for_managers_and_above(app, make_user, role, status):
    client = signed_in(app, make_user(role))
    assert {path: client.get(path).status_code for path in PATHS} == dict.fromkeys(PATHS, status)


def test_signed_out_people_are_sent_to_sign_in(app):
    response = TestClient(app).get("/reports?from=2026-03-01", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=%2Freports")


def item_links(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/items/(\d+)"', html)}


def test_the_numbers_on_the_page_lead_to_their_items(app, engine, make_user, planted):
    client = signed_in(app, make_user("manager"))
    page = client.get("/reports", params={**RANGE, "by": "agent"})
    assert page.status_code == 200
    html = page.text
    assert "Bo &lt;b&gt;Agent&lt;/b&gt;" in html and "<b>Agent</b>" not in html
    # Follow Alex's "missed SLA" figure to its items.
    alex = planted["alex"].id
    href = unescape(
        re.search(rf'href="(/reports/items\?[^"]*agent={alex}[^"]*measure=breached)"', html).group(1)
    )
    listed = client.get(href)
    assert item_links(listed.text) == set(planted["alex_late"])
    assert "5 items that missed the SLA" in listed.text
    # And the open item's "not yet due" figure in the total row.
    href = unescape(
        re.search(
            r'href="(/reports/items\?from=2026-03-01&amp;to=2026-03-20&amp;measure=pending)"', html
        ).group(1)
    )
    assert item_links(client.get(href).text) == set(planted["open"])


def test_the_page_shows_the_figures_of_the_report(app, engine, make_user, settings, planted):
    client = signed_in(app, make_user("manager"))
    html = client.get("/reports", params={**RANGE, "by": "platform"}).text
    with session_factory(engine)() as s:
        report = response_report(
            s, settings, ReportFilters(date(2026, 3, 1), date(2026, 3, 20)), by="platform", now=NOW
        )
    x = next(g for g in report.groups if g.key == "x")
    assert (x.items, x.within_sla, x.breached, x.pending) == (11, 10, 0, 1)
    assert f'{x.items}<span class="nhsuk-u-visually-hidden"> items: x</span>' in html
    facebook = next(g for g in report.groups if g.key == "facebook")
    assert (facebook.items, facebook.breached) == (5, 5)
    # Shares within SLA: x 10 of 10 decided (the open item is not yet due), facebook none of 5.
    shares = re.findall(r'numeric">(\d+%)</td>', html)
    assert shares == ["0%", "100%", "67%"]


def test_the_page_has_three_described_charts_and_csv_links(app, make_user, planted):
    html = signed_in(app, make_user("manager")).get("/reports", params=RANGE).text
    charts = re.findall(r'<svg[^>]*role="img"[^>]*aria-labelledby="([^"]+)"', html)
    assert len(charts) == 3
    for ids in charts:
        title_id, desc_id = ids.split()
        assert f'<title id="{title_id}">' in html and f'<desc id="{desc_id}">' in html
    for path in ("/reports/response.csv", "/reports/volume.csv"):
        assert f'href="{path}?' in html


def test_the_response_csv_holds_the_table(app, make_user, planted):
    client = signed_in(app, make_user("manager"))
    response = client.get("/reports/response.csv", params={**RANGE, "by": "agent"})
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        'attachment; filename="response-times-by-agent-2026-03-01-to-2026-03-20.csv"'
        == response.headers["content-disposition"]
    )
    rows = {r["group"]: r for r in csv.DictReader(io.StringIO(response.text))}
    alex = rows[str(planted["alex"].id)]
    assert (alex["items"], alex["within_sla"], alex["breached"], alex["sla_share"]) == ("10", "5", "5", "0.5")
    # Five answers after 1 h, five after 4 h (posted 11:00, answered 15:00): the median is 2.5 h.
    assert alex["first_response_median_seconds"] == "9000.0"
    assert rows["total"]["items"] == "16"


def test_the_items_csv_guards_against_formulas_and_lists_every_item(app, make_user, planted):
    client = signed_in(app, make_user("manager"))
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/items.csv", params=RANGE).text)))
    assert {int(r["item"]) for r in rows} == {
        i for k in ("alex_in_time", "alex_late", "bo", "open") for i in planted[k]
    }
    assert any(r["agent"] == "Bo <b>Agent</b>" for r in rows)


def test_volume_figures_lead_to_their_mentions(app, make_user, planted):
    client = signed_in(app, make_user("manager"))
    html = client.get("/reports", params=RANGE).text
    href = unescape(
        re.search(
            r'href="(/reports/mentions\?from=2026-03-03&amp;to=2026-03-03&amp;label=negative)"', html
        ).group(1)
    )
    listed = client.get(href).text
    assert "1 mentions from 03 Mar 2026" in listed
    volume = list(csv.DictReader(io.StringIO(client.get("/reports/volume.csv", params=RANGE).text)))
    assert sum(int(v["mentions"]) for v in volume) == 16


def test_bad_filters_are_explained_not_fatal(app, make_user, planted):
    page = signed_in(app, make_user("manager")).get("/reports", params={"from": "2026-02-30", "agent": "bob"})
    assert page.status_code == 200
    assert "There is a problem" in page.text and "Enter a real date" in page.text
    assert "Choose an agent from the list" in page.text


def test_the_foi_export_downloads_and_is_audited_against_the_manager(app, engine, make_user, planted):
    manager = make_user("manager")
    client = signed_in(app, manager)
    form = client.get("/reports/foi")
    response = client.post(
        "/reports/foi",
        data={
            "csrf_token": _csrf(form.text),
            "date_from": "2026-03-02",
            "date_to": "2026-03-02",
            "format": "json",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith('attachment; filename="foi-export-')
    records = [json.loads(line) for line in response.text.splitlines()]
    assert len(records) == 3 and records[2]["text"] == '=HYPERLINK("http://evil")'
    response = client.post(
        "/reports/foi", data={"csrf_token": _csrf(form.text), "search": "HYPERLINK", "format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["text"] for r in rows if r["entry"] == "mention"] == ['\'=HYPERLINK("http://evil")'] * 5
    with session_factory(engine)() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "foi.export")).all()
    assert [(e.user_id, e.after["mentions"], e.after["format"]) for e in events] == [
        (manager.id, 3, "json"),
        (manager.id, 5, "csv"),
    ]


def test_the_foi_export_needs_a_token_a_manager_and_a_request(app, engine, make_user, planted):
    agent = signed_in(app, make_user("agent"))
    page = agent.get("/reports/foi")
    assert page.status_code == 403
    assert agent.post("/reports/foi", data={"csrf_token": _csrf(page.text), "search": "x"}).status_code == 403
    manager = signed_in(app, make_user("manager"))
    assert manager.post("/reports/foi", data={"search": "x"}).status_code == 403  # no CSRF token
    form = manager.get("/reports/foi")
    empty = manager.post("/reports/foi", data={"csrf_token": _csrf(form.text)})
    assert empty.status_code == 422 and "Give a date range, search terms, or both" in empty.text
    backwards = manager.post(
        "/reports/foi",
        data={"csrf_token": _csrf(form.text), "date_from": "2026-03-05", "date_to": "2026-03-01"},
    )
    assert "The start date must be on or before the end date" in backwards.text
    with session_factory(engine)() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "foi.export")) is None

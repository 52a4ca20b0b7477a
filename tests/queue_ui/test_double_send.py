"""A double click on Send, on PostgreSQL: one reply is queued, the other request gets a 409 (never a 500).

The issue's reproduction: two simultaneous ``POST /api/items/{id}/send`` with the same session
and CSRF token queued two replies per item (8 items gave 14 posts). SQLite's write lock hides
it, so the app here runs on PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.models import Reply
from tests.queue_ui.conftest import UiClient

pytestmark = pytest.mark.postgres
GOOD = "Hi Pat, sorry to hear that. Please send us a direct message so we can look into it. ^AB"
ITEMS = 8


@pytest.fixture
def engine(pg_url):
    """The app, users and items of this module on PostgreSQL."""
    eng = make_engine(pg_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def test_two_sends_at_once_from_one_session_queue_one_reply(app, client_as, seed, engine):
    client = client_as("agent")
    items = [seed(f"question {n}").item_id for n in range(ITEMS)]
    for item_id in items:
        assert client.api("POST", f"/api/items/{item_id}/claim").status_code == 200
    tabs = []
    for _ in range(2):  # a second tab: the same cookies, the same CSRF token
        tab = UiClient(app, cookies=client.cookies)
        tab.csrf = client.csrf
        tabs.append(tab)

    for item_id in items:
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def click(
            tab: UiClient,
            item_id: int = item_id,
            barrier: threading.Barrier = barrier,
            statuses: list[int] = statuses,
        ) -> None:
            barrier.wait()
            statuses.append(tab.api("POST", f"/api/items/{item_id}/send", json={"text": GOOD}).status_code)

        threads = [threading.Thread(target=click, args=(tab,)) for tab in tabs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409], (item_id, statuses)

    with write_transaction(engine) as session:
        queued = session.scalar(select(func.count()).where(Reply.status == "approved"))
    assert queued == ITEMS

"""Bulk close in a real browser at both widths: tick items, close them with a reason; axe finds nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from listener.store.db import write_transaction
from listener.store.models import QueueItem
from tests.queue_ui import test_browser
from tests.queue_ui.test_browser import assert_accessible

# The queue browser tests' fixtures, under their names (pytest finds fixtures by module attribute).
browser, base_url, open_page = test_browser.browser, test_browser.base_url, test_browser.open_page

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width,height", [(1366, 900), (390, 844)])
def test_an_agent_closes_near_identical_posts_in_one_go(open_page, make_user, seed, engine, width, height):
    same = [
        seed(f"Is the Riverside scanner broken again? ({n})", handle=f"person{n}").item_id for n in range(3)
    ]
    other = seed("A real question about my referral", handle="someone").item_id
    watched = open_page(make_user("agent"))
    page = watched.page
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/queue")
    for item_id in same:
        page.locator(f"label[for=select-{item_id}]").click()
    expect(page.locator(f"#select-{other}")).not_to_be_checked()
    page.locator("#bulk-actions summary").click()
    page.get_by_label("Reason for closing with no reply").fill("Answered in the pinned post")
    assert_accessible(page)
    page.get_by_role("button", name="Close ticked items: no reply needed").click()
    expect(page.get_by_text("Closed as no reply needed: 3 items.")).to_be_visible()
    expect(page.locator(f"#item-link-{other}")).to_be_visible()
    for item_id in same:
        expect(page.locator(f"#item-link-{item_id}")).to_have_count(0)
    assert_accessible(page)
    assert watched.problems == []
    with write_transaction(engine) as session:
        closed = session.scalars(select(QueueItem.id).where(QueueItem.status == "no_reply_needed")).all()
    assert sorted(closed) == sorted(same)

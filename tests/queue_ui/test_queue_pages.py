"""The queue page: tabs and counts, filters kept across refreshes, SLA countdowns in words, inert text."""

from __future__ import annotations

import re
from datetime import timedelta

from listener.store.db import write_transaction
from listener.store.models import QueueItem


def test_the_queue_lists_items_by_priority_then_due_time(client_as, seed):
    client = client_as("agent")
    later = seed("Normal and later", priority=3, due_in=timedelta(hours=3))
    urgent = seed("Urgent one", priority=1, due_in=timedelta(hours=5))
    sooner = seed("Normal and sooner", priority=3, due_in=timedelta(hours=1))
    html = client.get("/queue").text
    order = [int(i) for i in re.findall(r'id="item-link-(\d+)"', html)]
    assert order == [urgent.item_id, sooner.item_id, later.item_id]


def test_tabs_show_their_counts_and_the_current_tab(client_as, seed):
    client = client_as("agent")
    seed()
    seed(assignee=client.user, status="claimed")
    html = client.get("/queue?tab=mine").text
    assert re.search(r'id="tab-new"[^>]*>\s*New <span class="lp-count">\(1<', html)
    assert re.search(r'id="tab-mine"[^>]*aria-current="page">\s*Mine <span class="lp-count">\(1<', html)


def test_sla_countdown_is_said_in_words_not_only_colour(client_as, seed):
    client = client_as("agent")
    seed("late one", due_in=timedelta(minutes=-65))
    seed("soon one", due_in=timedelta(minutes=25))
    seed("later one", due_in=timedelta(hours=4))
    html = client.get("/queue").text
    assert "Overdue by 1 h 5 min" in html and "Due in 25 min" in html and "Due in 4 h" in html
    overdue = re.search(r'<strong class="nhsuk-tag nhsuk-tag--red lp-sla">(.*?)</strong>', html, re.S).group(
        1
    )
    assert '<svg class="lp-icon"' in overdue, "an icon as well as the colour"


def test_filters_apply_and_the_refresh_keeps_them(client_as, seed):
    client = client_as("agent")
    fb = seed("on facebook", platform="facebook", source="facebook:page:1", label="positive")
    seed("on x")
    html = client.get("/queue?platform=facebook&sentiment=positive").text
    assert re.findall(r'id="item-link-(\d+)"', html) == [str(fb.item_id)]
    refresh = re.search(r'hx-get="(/queue/results\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "platform=facebook" in refresh and "sentiment=positive" in refresh and "tab=new" in refresh
    fragment = client.get(refresh)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert re.findall(r'id="item-link-(\d+)"', fragment.text) == [str(fb.item_id)]


def test_unknown_filter_values_are_ignored(client_as, seed):
    client = client_as("agent")
    item = seed()
    html = client.get("/queue?platform=myspace&priority=abc&due=never&tab=bogus&incident=x").text
    assert f'id="item-link-{item.item_id}"' in html


def test_paging_moves_on_and_the_next_link_keeps_the_filters(client_as, seed):
    client = client_as("agent")
    for n in range(55):
        seed(f"post {n}", platform="facebook", source="facebook:page:1", due_in=timedelta(minutes=n))
    first = client.get("/queue?platform=facebook").text
    next_link = re.search(r'href="(/queue\?[^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
    assert "platform=facebook" in next_link
    second = client.get(next_link).text
    first_ids = set(re.findall(r'id="item-link-(\d+)"', first))
    second_ids = set(re.findall(r'id="item-link-(\d+)"', second))
    assert len(first_ids) == 50 and len(second_ids) == 5 and not first_ids & second_ids


def test_hostile_post_text_is_shown_as_text(client_as, seed):
    client = client_as("agent")
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> <a href="javascript:alert(3)">x</a>'
    item = seed(hostile + " \u202eevil\u200b")
    for path in ["/queue", f"/items/{item.item_id}"]:
        html = client.get(path).text
        assert "<script>alert(1)" not in html and "<img src=x" not in html and 'href="javascript:' not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_closed_items_are_listed_newest_first(client_as, seed):
    client = client_as("agent")
    old = seed("old", status="replied")
    new = seed("new", status="no_reply_needed")
    html = client.get("/queue?tab=closed").text
    assert re.findall(r'id="item-link-(\d+)"', html) == [str(new.item_id), str(old.item_id)]


def test_the_queue_counts_every_open_tab_with_a_cap(client_as, seed, engine):
    client = client_as("agent")
    item = seed()
    with write_transaction(engine) as session:
        session.get_one(QueueItem, item.item_id).status = "closed"
    html = client.get("/queue?tab=closed").text
    assert re.search(r'Closed <span class="lp-count">\(1<', html)


def test_the_help_page_lists_the_keyboard_shortcuts(client_as):
    html = client_as("agent").get("/help").text
    assert "<kbd>j</kbd>" in html and "<kbd>k</kbd>" in html

"""Notes, tags and bulk actions in the queue UI."""

from __future__ import annotations

import re

from sqlalchemy import select

from listener.store.db import write_transaction
from listener.store.models import QueueItem


def test_notes_and_tags_on_the_item_page(client_as, seed):
    client = client_as("agent", name="Ann Agent")
    item = seed()
    assert client.form(f"/items/{item.item_id}/notes", {"text": " "}).status_code == 422
    assert (
        client.form(f"/items/{item.item_id}/notes", {"text": "Rang the clinic <b>back</b>"}).status_code
        == 303
    )
    assert client.form(f"/items/{item.item_id}/tags", {"tag": "Parking"}).status_code == 303
    page = client.get(f"/items/{item.item_id}").text
    notes = re.search(r'id="item-notes">(.*?)</ul>', page, re.S).group(1)
    assert "Rang the clinic &lt;b&gt;back&lt;/b&gt;" in notes and "Ann Agent" in notes
    assert re.search(r'id="item-tags">.*parking', page, re.S)
    assert 'class="nhsuk-tag nhsuk-tag--white lp-item-tag">parking<' in client.get("/queue").text
    assert client.form(f"/items/{item.item_id}/tags/remove", {"tag": "parking"}).status_code == 303
    assert "No tags yet." in client.get(f"/items/{item.item_id}").text


def test_tagging_an_item_a_colleague_holds_is_refused(client_as, seed):
    holder, other = client_as("agent"), client_as("agent")
    item = seed(assignee=holder.user, status="claimed")
    refused = other.form(f"/items/{item.item_id}/tags", {"tag": "parking"})
    assert refused.status_code == 409 and "Already claimed by" in refused.text


def test_bulk_close_says_what_was_done_and_what_was_not(client_as, seed, engine):
    agent, colleague = client_as("agent"), client_as("agent", name="Cal Colleague")
    free = [seed(f"Same complaint {n}").item_id for n in range(3)]
    held = seed("Held", assignee=colleague.user, status="claimed").item_id
    done = agent.form(
        "/queue/bulk", {"item_ids": [*map(str, free), str(held)], "action": "no_reply", "reason": "Duplicate"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/queue?tab=new"
    page = agent.get("/queue").text
    assert "Closed as no reply needed: 3 items." in page
    assert f"Not done on 1: item {held}: Already claimed by Cal Colleague." in page
    with write_transaction(engine) as session:
        statuses = dict(session.execute(select(QueueItem.id, QueueItem.status)).tuples().all())
    assert [statuses[i] for i in free] == ["no_reply_needed"] * 3

    nothing = agent.form("/queue/bulk", {"item_ids": [str(held)], "action": "no_reply", "reason": ""})
    assert nothing.status_code == 303
    assert "Nothing was done: Give a reason for closing without a reply." in agent.get("/queue").text


def test_ticked_rows_stay_ticked_across_the_refresh(client_as, seed):
    client = client_as("agent")
    first, second = seed().item_id, seed().item_id
    html = client.get("/queue").text
    assert 'hx-include="#queue-table input[name=item_ids]:checked"' in html
    fragment = client.get(f"/queue/results?tab=new&item_ids={second}").text
    assert re.search(rf'id="select-{second}"[^>]*checked', fragment)
    assert not re.search(rf'id="select-{first}"[^>]*checked', fragment)


def test_the_search_box_finds_posts_and_keeps_the_tab_and_filters(client_as, seed):
    client = client_as("agent")
    scan = seed("My scan at Riverside was cancelled", label="negative").item_id
    seed("Letters to the wrong address", label="negative")
    seed("Thank you for cancelling nothing", label="positive")
    html = client.get("/queue?search=cancelled&sentiment=negative").text
    assert re.findall(r'id="item-link-(\d+)"', html) == [str(scan)]
    form = re.search(r'<form action="/queue" method="get" role="search".*?</form>', html, re.S).group(0)
    assert 'name="sentiment" value="negative"' in form and 'value="cancelled"' in form
    refresh = re.search(r'hx-get="(/queue/results\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "search=cancelled" in refresh
    assert re.findall(r'id="item-link-(\d+)"', client.get("/queue?search=%22%28*").text) == []

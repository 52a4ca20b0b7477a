"""Never silent: a returned reply shows the lead's note, leads see what waits for them, new items are said."""

from __future__ import annotations

import re

from sqlalchemy import select

from listener.store.db import write_transaction
from listener.store.models import Reply

GOOD = "Thanks for getting in touch, we are looking into this for you now. ^AB"


def _refresh_url(html: str) -> str:
    return re.search(r'hx-get="(/queue/results\?[^"]+)"', html).group(1).replace("&amp;", "&")


def test_a_returned_reply_shows_the_leads_note_and_is_in_returned_to_me(
    client_as, seed, open_incident, engine
):
    agent, other, lead = client_as("agent"), client_as("agent"), client_as("lead", name="Jo Bloggs")
    item = seed(incident_id=open_incident())
    agent.form(f"/items/{item.item_id}/reply", {"text": GOOD, "action": "send"})
    with write_transaction(engine) as session:
        reply_id = session.scalars(select(Reply.id)).one()

    # Leads see the waiting reply in the header of every page; agents do not.
    for path in ("/help", "/incidents", f"/items/{item.item_id}"):
        assert "1 reply waiting for your approval" in lead.get(path).text, path
    assert 'id="waiting-approval"' not in agent.get("/help").text

    note = "Please add the phone number for the booking line"
    returned = lead.form(f"/items/{item.item_id}/replies/{reply_id}/return", {"note": note})
    assert returned.status_code == 303
    assert 'id="waiting-approval"' not in lead.get("/help").text

    page = agent.get(f"/items/{item.item_id}").text
    callout = re.search(r'id="returned-note">(.*?)</div>', page, re.S).group(1)
    assert "Returned to you by Jo Bloggs" in callout and note in callout
    queue = agent.get("/queue?tab=returned").text
    assert re.search(r'id="tab-returned"[^>]*>\s*Returned to me <span class="lp-count">\(1<', queue)
    assert re.findall(r'id="item-link-(\d+)"', queue) == [str(item.item_id)]
    assert re.findall(r'id="item-link-(\d+)"', other.get("/queue?tab=returned").text) == []

    # Sent again: no longer returned, and waiting for the lead again.
    resent = agent.form(f"/items/{item.item_id}/reply", {"text": GOOD, "action": "send"})
    assert resent.status_code == 303, resent.text[-3000:]
    assert re.findall(r'id="item-link-(\d+)"', agent.get("/queue?tab=returned").text) == []
    assert 'id="returned-note"' not in agent.get(f"/items/{item.item_id}").text
    assert "1 reply waiting for your approval" in lead.get("/help").text


def test_new_items_in_the_watched_tab_are_said_in_a_live_region(client_as, seed):
    client = client_as("agent")
    first = seed("First post")
    html = client.get("/queue").text
    region = re.search(r'<div id="queue-announcements"[^>]*>', html).group(0)
    assert 'aria-live="polite"' in region and 'role="status"' in region
    refresh = _refresh_url(html)
    assert f"seen={first.item_id}" in refresh

    quiet = client.get(refresh).text
    assert re.search(r'<div id="queue-announcements" hx-swap-oob="innerHTML"></div>', quiet)

    seed("Second post")
    seed("Third post")
    seed("Claimed elsewhere", status="claimed", assignee=client_as("agent").user)  # not in the New tab
    fragment = client.get(refresh).text
    said = re.search(r'<div id="queue-announcements" hx-swap-oob="innerHTML">(.*?)</div>', fragment).group(1)
    assert said == "2 new items in New."
    # The next refresh starts from what this one saw: nothing new to say.
    after = client.get(_refresh_url(fragment)).text
    assert re.search(r'<div id="queue-announcements" hx-swap-oob="innerHTML"></div>', after)

"""Words, not ids: sources by their names, platforms by name, audit events as sentences."""

from __future__ import annotations

import re

from listener.settings import AccountSettings, Settings, SourceSettings
from listener.store.db import write_transaction
from listener.store.models import AuditEvent, Source
from queue_ui.words import audit_sentence, source_name

FEED = "rss:https://www.coventrytelegraph.net/news/?service=rss"


def _settings() -> Settings:
    settings = Settings()
    settings.accounts = [
        AccountSettings(platform="facebook", handle="1047", name="NHS Coventry and Warwickshire")
    ]
    settings.sources = [SourceSettings(key=FEED, name="Coventry Telegraph")]
    return settings


def test_sources_are_named_as_people_say_them():
    settings = _settings()
    assert source_name("x:mentions:@NHSCovWarks", settings) == "@NHSCovWarks on X"
    assert source_name("x:search:riverside scan", settings) == "X search for “riverside scan”"
    assert source_name("facebook:page:1047", settings) == "NHS Coventry and Warwickshire on Facebook"
    assert source_name("facebook:page:999", settings) == "page 999 on Facebook"
    assert source_name(FEED, settings) == "Coventry Telegraph news feed"
    assert source_name("rss:https://www.bbc.co.uk/news/rss.xml", settings) == "bbc.co.uk news feed"


def test_audit_events_are_sentences():
    names = {1: "Ann Agent", 2: "Bo Agent"}

    def said(action, **kw):
        return audit_sentence(
            AuditEvent(actor="a@example.nhs.uk", action=action, object_type="queue_item", **kw), names
        )

    assert (
        said("item.assign", user_id=1, object_id="12", after={"assignee_id": 2})
        == "Ann Agent assigned item 12 to Bo Agent."
    )
    assert (
        said("item.no_reply_needed", user_id=2, object_id="7", after={"reason": "Spam {x}"})
        == "Bo Agent closed item 7 with no reply needed: “Spam {x}”."
    )
    assert said("incident.opened", object_id="3", after={"level": "crisis"}).startswith(
        "a@example.nhs.uk opened"
    )
    assert audit_sentence(
        AuditEvent(actor="worker", action="reply.sent", object_type="reply", object_id="9"), names
    ) == ("The worker sent reply 9.")
    # Without the detail a sentence needs, or an action with no sentence: said plainly, never an error.
    assert said("item.tagged", user_id=1, object_id="5") == "Ann Agent: item tagged (queue_item 5)."
    assert said("something.new_here", object_id="5") == "a@example.nhs.uk: something new here (queue_item 5)."


def test_the_item_page_audit_log_and_source_menu_say_words(client_as, seed, engine):
    with write_transaction(engine) as session:
        session.add(Source(key="x:mentions:@NHSCovWarks", platform="x"))
    agent = client_as("agent", name="Ann Agent")
    item = seed()
    agent.form(f"/items/{item.item_id}/claim")
    page = agent.get(f"/items/{item.item_id}").text
    assert "on X, from @NHSCovWarks on X" in page and " on x " not in page
    manager = client_as("manager")
    audit = manager.get("/audit").text
    assert f"Ann Agent claimed item {item.item_id}." in audit
    queue = agent.get("/queue").text
    assert re.search(r'<option value="x:mentions:@NHSCovWarks"\s*>@NHSCovWarks on X</option>', queue)

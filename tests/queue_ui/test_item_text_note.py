"""The item page says when a post's text was changed on arrival (characters no database stores)."""

from __future__ import annotations

from listener.store.db import write_transaction
from listener.store.models import Mention


def test_the_item_page_says_what_was_changed_in_the_text(client_as, seed, engine):
    client = client_as("agent")
    item = seed("Why was my appointment \ufffd cancelled?")
    plain = seed("An ordinary post")
    with write_transaction(engine) as session:
        session.get_one(
            Mention, item.mention_id
        ).text_note = "1 character could not be shown and was replaced with �"

    html = client.get(f"/items/{item.item_id}").text
    assert "Changed on arrival:" in html and "1 character could not be shown and was replaced" in html
    assert "Changed on arrival:" not in client.get(f"/items/{plain.item_id}").text

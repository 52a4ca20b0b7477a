"""The FOI export: every mention asked for, with its replies, notes and decisions; audited; no secrets."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from listener.reports.foi import FoiQuery, count_matching, iter_records, record_export, write_export
from listener.store import audit
from listener.store.db import session_factory, write_transaction
from listener.store.models import AuditEvent, Note, Reply
from listening_post.cli.main import main
from tests.listener import report_data as data

TZ = "Europe/London"
HOSTILE = "=cmd|' /C calc'!A0, \"quoted\"\nsecond line 😡"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def planted(any_engine):
    """Three mentions in June 2026 (summer time) with replies, notes and audited decisions; one in May."""
    engine = any_engine
    agent, lead = data.user(engine, "Alex Agent", initials="AA"), data.user(engine, "Lee Lead", "lead")
    with write_transaction(engine) as s:
        pat = data.author(s, "pat", name="Pat Example")
        first = data.mention(
            s,
            pat,
            utc(2026, 6, 1, 9),
            text="My Appointment was cancelled again",
            url="https://x.com/pat/status/1",
            raw={"secret_field": "raw payload"},
        )
        second = data.mention(s, pat, utc(2026, 6, 2, 22, 30), text=HOSTILE)  # 23:30 BST on 2 June
        third = data.mention(s, pat, utc(2026, 6, 3, 12), text="100% rude receptionist at the surgery")
        data.mention(s, pat, utc(2026, 5, 31, 22, 59), text="appointment in May")  # 23:59 BST, 31 May
        item = data.item(
            s,
            first,
            due_at=utc(2026, 6, 1, 10),
            assignee=agent,
            status="replied",
            first_response_at=utc(2026, 6, 1, 9, 40),
        )
        data.item(s, second, due_at=utc(2026, 6, 3, 10))
        reply = Reply(
            queue_item_id=item.id,
            platform="x",
            source_key=first.source_key,
            in_reply_to="1",
            text="Sorry to hear this, please DM us. AA",
            status="sent",
            author_id=agent.id,
            idempotency_key="k1",
            created_at=utc(2026, 6, 1, 9, 30),
            sent_at=utc(2026, 6, 1, 9, 40),
        )
        s.add(reply)
        s.flush()
        note = Note(
            queue_item_id=item.id,
            user_id=lead.id,
            text="Checked with the practice",
            created_at=utc(2026, 6, 1, 9, 35),
        )
        s.add(note)
        s.flush()
        audit.record(s, actor=agent, action="item.claim", object_type="queue_item", object_id=item.id)
        audit.record(
            s,
            actor=agent,
            action="reply.draft",
            object_type="reply",
            object_id=reply.id,
            after={"text": reply.text, "api_token": "tok-123-secret"},
        )
        audit.record(s, actor=lead, action="note.add", object_type="note", object_id=note.id)
        audit.record(
            s,
            actor="worker",
            action="mention.hidden",
            object_type="mention",
            object_id=third.id,
            before={"nested": [{"password": "hunter2"}]},
        )
        audit.record(s, actor=lead, action="user.add", object_type="user", object_id=agent.id)
    return {"first": first.id, "second": second.id, "third": third.id, "reply": reply.id, "note": note.id}


def export(engine, query: FoiQuery, fmt: str) -> str:
    out = io.StringIO()
    with session_factory(engine)() as s:
        write_export(s, out, query=query, fmt=fmt, timezone=TZ)
    return out.getvalue()


def records(engine, query: FoiQuery) -> list[dict]:
    with session_factory(engine)() as s:
        return list(iter_records(s, query, timezone=TZ))


def from_csv(text: str) -> list[dict]:
    """Rebuild the records from the CSV: one row per entry, detail as JSON, one guard apostrophe dropped."""
    rebuilt: dict[int, dict] = {}
    lists = {"reply": "replies", "note": "notes", "decision": "decisions"}
    for raw in csv.DictReader(io.StringIO(text, newline="")):
        row = {k: v[1:] if v.startswith("'") else v for k, v in raw.items()}
        detail = json.loads(row["detail"])
        mention_id = int(row["mention_id"])
        if row["entry"] == "mention":
            rebuilt[mention_id] = {
                **detail,
                "id": mention_id,
                "created_at": row["at"],
                "text": row["text"],
                "platform": row["platform"],
                "replies": [],
                "notes": [],
                "decisions": [],
            }
        else:
            at_key, text_key = ("at", "action") if row["entry"] == "decision" else ("created_at", "text")
            rebuilt[mention_id][lists[row["entry"]]].append(
                {**detail, "id": int(row["entry_id"]), at_key: row["at"], text_key: row["text"]}
            )
    return list(rebuilt.values())


JUNE = FoiQuery(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))


def test_each_mention_comes_with_its_replies_notes_and_decisions(any_engine, planted):
    found = {r["id"]: r for r in records(any_engine, JUNE)}
    assert list(found) == [planted["first"], planted["second"], planted["third"]]
    first = found[planted["first"]]
    assert first["text"] == "My Appointment was cancelled again"
    assert first["author"] == {"handle": "pat", "name": "Pat Example"}
    assert first["queue_item"]["assignee"] == "Alex Agent (AA)"
    assert [r["id"] for r in first["replies"]] == [planted["reply"]]
    assert first["replies"][0]["status"] == "sent"
    assert [(n["text"], n["author"]) for n in first["notes"]] == [
        ("Checked with the practice", "Lee Lead (AB)")
    ]
    assert [d["action"] for d in first["decisions"]] == ["item.claim", "reply.draft", "note.add"]
    assert found[planted["third"]]["decisions"][0]["action"] == "mention.hidden"
    assert found[planted["third"]]["queue_item"] is None and found[planted["third"]]["replies"] == []


def test_no_secret_and_no_raw_payload_leaves_in_an_export(any_engine, planted):
    text = export(any_engine, JUNE, "json") + export(any_engine, JUNE, "csv")
    assert "raw payload" not in text and "secret_field" not in text
    assert "tok-123-secret" not in text and "hunter2" not in text
    assert "argon2" not in text  # password hashes
    assert "user.add" not in text  # audit events about other things
    draft = next(d for r in records(any_engine, JUNE) for d in r["decisions"] if d["action"] == "reply.draft")
    assert draft["after"] == {"text": "Sorry to hear this, please DM us. AA", "api_token": "[withheld]"}


def test_json_lines_parse_back_to_the_same_records(any_engine, planted):
    lines = export(any_engine, JUNE, "json").splitlines()
    assert len(lines) == 3
    assert [json.loads(line) for line in lines] == records(any_engine, JUNE)
    assert json.loads(lines[1])["text"] == HOSTILE


def test_csv_parses_back_to_the_same_records(any_engine, planted):
    text = export(any_engine, JUNE, "csv")
    assert from_csv(text) == records(any_engine, JUNE)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["mention_id", "entry", "entry_id", "at", "platform", "who", "text", "status", "detail"]
    hostile = next(r for r in rows if r[6].startswith("'=cmd"))
    assert hostile[5] == "pat"


def test_dates_are_local_days_and_both_ends_count(any_engine, planted):
    assert [r["id"] for r in records(any_engine, FoiQuery(date_to=date(2026, 5, 31)))] == [
        r["id"] for r in records(any_engine, FoiQuery()) if r["text"] == "appointment in May"
    ]
    only_second = records(any_engine, FoiQuery(date_from=date(2026, 6, 2), date_to=date(2026, 6, 2)))
    assert [r["id"] for r in only_second] == [planted["second"]]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("appointment", ["may", "first"]),
        ("APPOINTMENT cancelled", ["first"]),
        ('"rude receptionist"', ["third"]),
        ('"receptionist rude"', []),
        ("100%", ["third"]),
        ("100_", []),
        ("   ", ["may", "first", "second", "third"]),
    ],
)
def test_search_terms_must_all_appear(any_engine, planted, search, expected):
    ids = {**planted, "may": None}
    found = records(any_engine, FoiQuery(search=search))
    names = [next((k for k, v in ids.items() if v == r["id"]), "may") for r in found]
    assert names == expected


def test_an_unbalanced_quote_is_a_clear_error(engine, planted, capsys):
    assert main(["export", "--db", data.db_url(engine), "--search", '"rude']) == 2
    assert "No closing quotation" in capsys.readouterr().err


def test_the_export_command_writes_and_audits(any_engine, planted, capsys):
    url = data.db_url(any_engine)
    assert (
        main(["export", "--db", url, "--from", "2026-06-01", "--to", "2026-06-30", "--search", "appointment"])
        == 0
    )
    out = capsys.readouterr().out
    assert [json.loads(line)["id"] for line in out.splitlines()] == [planted["first"]]
    assert main(["export", "--db", url, "--format", "csv"]) == 0
    assert len(from_csv(capsys.readouterr().out)) == 4
    with session_factory(any_engine)() as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "foi.export").order_by(AuditEvent.id)
        ).all()
    assert [(e.actor, e.after) for e in events] == [
        (
            "cli",
            {
                "from": "2026-06-01",
                "to": "2026-06-30",
                "search": "appointment",
                "format": "json",
                "mentions": 1,
            },
        ),
        ("cli", {"from": None, "to": None, "search": None, "format": "csv", "mentions": 4}),
    ]


def test_an_export_is_recorded_against_the_person(any_engine, planted, make_user):
    manager = make_user("manager")
    with write_transaction(any_engine) as s:
        count = count_matching(s, JUNE, timezone=TZ)
        record_export(s, actor=manager, query=JUNE, fmt="csv", mentions=count)
    with session_factory(any_engine)() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "foi.export"))
    assert (event.user_id, event.actor, event.after["mentions"]) == (manager.id, manager.email, 3)


def test_large_exports_page_through_every_mention(any_engine, monkeypatch):
    monkeypatch.setattr("listener.reports.foi.BATCH", 7)
    with write_transaction(any_engine) as s:
        person = data.author(s)
        start = utc(2026, 6, 1, 12)
        for n in range(30):
            # Pairs share a timestamp: paging must neither skip nor repeat either of them.
            data.mention(s, person, start + timedelta(minutes=n // 2), text=f"post {n}")
    found = records(any_engine, FoiQuery())
    assert [r["text"] for r in found] == [f"post {n}" for n in range(30)]

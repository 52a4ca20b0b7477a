"""`listening-post replay`: the whole pipeline on a simulated clock, each mention stored once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from listener.intake.pipeline import build_stage
from listener.intake.replay import Replay
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Alert, Incident, Mention, QueueItem
from listening_post.cli.main import main
from tests.listener.smtp_server import SmtpServer, text_of

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"
CRISIS = STREAMS / "crisis.jsonl"
CALM = STREAMS / "calm.jsonl"


@pytest.fixture(scope="module")
def stage():
    return build_stage(Settings())


def _replay(engine, stage, path: Path, *, lines=None, emit=None, batch=50):
    out, warnings = [], []
    replay = Replay(engine, Settings(), stage, emit=emit or out.append, warn=warnings.append, batch=batch)
    replay.run(lines if lines is not None else path.read_bytes().splitlines())
    return out, warnings


def _count(engine, model) -> int:
    with write_transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_stream_with_a_crisis_opens_exactly_one_incident(engine, stage):
    out, warnings = _replay(engine, stage, CRISIS)
    incident_lines = [line for line in out if line["type"] == "incident"]
    assert [line["id"] for line in incident_lines] == [1] * len(incident_lines)
    opened = incident_lines[0]
    assert opened["level"] == "crisis"
    assert {"sole_subject", "legal"} <= set(opened["criteria"])
    assert "brambleford" in opened["subject"]
    assert opened["at"] >= "2026-03-03T18:00:00Z" and opened["at"] < "2026-03-03T18:45:00Z"

    first_alert = next(line for line in out if line["type"] == "alert")
    assert first_alert == {
        "type": "alert",
        "incident": 1,
        "at": opened["at"],
        "level": "crisis",
        "to": "leads",
    }
    # Nobody acknowledges in a replay: ten simulated minutes later it goes to the escalation list.
    escalation = [line for line in out if line["type"] == "alert" and line["to"] == "escalation"]
    assert len(escalation) == 1

    summary = out[-1]
    assert summary == {
        "type": "summary",
        "mentions": 292,
        "new": 287,
        "duplicates": 2,
        "rejected": 3,
        "queue_items": 287,
        "incidents": 1,
        "alerts": 2,
    }
    assert warnings == [
        "line 223: not a JSON object (the line is not valid JSON)",
        "line 244: not a JSON object (got a JSON list)",
        "line 292: text: Field required",
    ]
    with write_transaction(engine) as session:
        incident = session.scalars(select(Incident)).one()
        assert "media" in incident.criteria  # the local paper reported it after the incident opened
        assert incident.mentions_count >= 40
        linked = session.scalar(select(func.count()).where(QueueItem.incident_id == incident.id))
        assert linked == incident.mentions_count


def test_everyday_traffic_opens_no_incident(engine, stage):
    out, warnings = _replay(engine, stage, CALM)
    assert [line["type"] for line in out] == ["summary"]
    assert out[0]["new"] == 274 and warnings == []


def test_the_same_file_twice_adds_nothing(any_engine, stage):
    engine = any_engine  # SQLite, and PostgreSQL when the CI gives one
    _replay(engine, stage, CRISIS)
    before = (_count(engine, Mention), _count(engine, Incident), _count(engine, Alert))
    out, _ = _replay(engine, stage, CRISIS)
    assert [line["type"] for line in out] == ["summary"]
    assert out[0] | {"type": "summary"} == {
        "type": "summary",
        "mentions": 292,
        "new": 0,
        "duplicates": 289,
        "rejected": 3,
        "queue_items": 0,
        "incidents": 0,
        "alerts": 0,
    }
    assert (_count(engine, Mention), _count(engine, Incident), _count(engine, Alert)) == before


class Killed(Exception):
    pass


def test_a_replay_killed_midway_and_run_again_stores_everything_once(engine, stage):
    def die_at_first_alert(line):
        if line["type"] == "alert":
            raise Killed()

    with pytest.raises(Killed):
        _replay(engine, stage, CRISIS, emit=die_at_first_alert)
    stored_before = _count(engine, Mention)
    assert 0 < stored_before < 287

    out, _ = _replay(engine, stage, CRISIS)
    assert _count(engine, Mention) == 287
    assert _count(engine, Incident) == 1
    with write_transaction(engine) as session:
        keys = session.scalars(select(Alert.dedupe_key)).all()
        assert len(keys) == len(set(keys)) == 2  # the leads' alert and its escalation, once each
    summary = out[-1]
    assert summary["new"] + stored_before == 287
    assert summary["incidents"] == 0  # it opened before the kill


def test_the_cli_prints_json_lines_and_reports_rejected_lines(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'replay.db'}"
    assert main(["replay", str(CRISIS), "--db", db]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [set(line) for line in lines if line["type"] == "incident"][0] == {
        "type",
        "id",
        "at",
        "level",
        "criteria",
        "subject",
        "mentions",
    }
    assert lines[-1]["type"] == "summary" and lines[-1]["incidents"] == 1
    assert captured.err.count("listening-post replay: line ") == 3

    assert main(["replay", str(CRISIS), "--db", db]) == 0
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["type"] for line in again] == ["summary"] and again[0]["new"] == 0


def test_a_missing_file_is_one_clear_line(tmp_path, capsys):
    assert main(["replay", str(tmp_path / "nope.jsonl")]) == 2
    assert capsys.readouterr().err.strip() == f"listening-post: {tmp_path / 'nope.jsonl'}: file not found"


def test_the_alert_email_of_a_replayed_crisis_arrives_with_the_criteria(tmp_path, capsys):
    smtp = SmtpServer()
    smtp.start()
    try:
        config = tmp_path / "alerts.toml"
        config.write_text(
            f'[alerts]\nleads = ["{smtp.url()}"]\nescalation = ["{smtp.url("deputy@example.nhs.uk")}"]\n'
        )
        db = f"sqlite:///{tmp_path / 'replay.db'}"
        assert main(["replay", str(CRISIS), "--db", db, "--config", str(config), "--send-alerts"]) == 0
    finally:
        smtp.stop()
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["to"] for line in out if line["type"] == "alert"] == ["leads", "escalation"]
    first, escalation = smtp.messages
    assert first["To"] == "lead@example.nhs.uk"
    assert first["Subject"].startswith("Crisis: brambleford surgery")
    body = text_of(first)
    assert "One subject is the only thing people are talking about negatively" in body
    assert "Legal in nature, or with negative legal connotations" in body
    assert "http://127.0.0.1:8000/incidents/1" in body
    assert escalation["To"] == "deputy@example.nhs.uk"
    assert escalation["Subject"].startswith("Not acknowledged after 10 min")

"""`listening-post score FILE|-`: JSON lines in, one scored JSON line out per mention."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from listening_post.cli.main import main
from listening_post.cli.score import SCORE_FIELDS


def write_lines(tmp_path: Path, *lines: str | bytes) -> Path:
    path = tmp_path / "mentions.jsonl"
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict], str]:
    code = main(["score", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_each_mention_gets_its_id_and_every_score_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(
        tmp_path,
        json.dumps({"id": "m1", "text": "Cancelled my appointment again, the receptionist was rude"}),
        json.dumps({"id": 2, "text": "Thank you NHS, brilliant care ❤️"}),
    )
    code, rows, err = run([str(path)], capsys)
    assert code == 0 and err == ""
    assert [r["id"] for r in rows] == ["m1", 2]
    assert all(list(r) == ["id", *SCORE_FIELDS] for r in rows)
    assert rows[0]["label"] == "negative" and rows[0]["compound"] < 0
    assert rows[1]["label"] == "positive" and rows[1]["priority"] == 4
    assert rows[0]["reasons"][0].startswith("high: ")


def test_personal_data_is_reported_by_position_not_repeated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "My NHS number is 943 476 5919"
    _, rows, _ = run([str(write_lines(tmp_path, json.dumps({"id": 1, "text": text})))], capsys)
    assert rows[0]["personal_data"] == [{"kind": "nhs_number", "start": 17, "end": 29}]
    assert "943 476 5919" not in json.dumps(rows[0])


def test_author_reach_and_media_fields_are_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lines(
        tmp_path,
        json.dumps(
            {"id": 1, "text": "Long waits again", "author": {"handle": "someone", "followers": 25000}}
        ),
        json.dumps({"id": 2, "text": "Long waits again", "handle": "@LocalPaper"}),
        json.dumps({"id": 3, "text": "Long waits again", "author": "localpaper", "reposts": 4}),
        json.dumps({"id": 4, "text": "Clinic story", "kind": "news", "url": "https://example.org/a"}),
    )
    code, rows, _ = run([str(path), "--media-handle", "LocalPaper"], capsys)
    assert code == 0
    assert rows[0]["reach"] == 25000 and rows[0]["reasons"][0] == "urgent: negative, high reach"
    assert rows[1]["media_reason"] == "media account @localpaper"
    assert rows[2]["media"] is True and rows[2]["reach"] == 4
    assert rows[3]["media_reason"] == "news item"


def test_media_list_from_the_settings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(
        '[media]\nhandles = ["WardWatch"]\ndomains = ["wardwatch.example"]\ninclude_default_list = false\n'
    )
    path = write_lines(
        tmp_path,
        json.dumps({"id": 1, "text": "Story", "author": {"handle": "wardwatch"}}),
        json.dumps({"id": 2, "text": "See https://news.wardwatch.example/story"}),
    )
    _, rows, _ = run([str(path), "--config", str(config)], capsys)
    assert [r["media"] for r in rows] == [True, True]


def test_bad_lines_are_reported_and_the_rest_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(
        tmp_path,
        json.dumps({"id": 1, "text": "fine"}),
        "not json",
        "[1, 2]",
        json.dumps({"text": "no id"}),
        json.dumps({"id": 5, "text": None}),
        b"\xff\xfe broken bytes",
        "",
        json.dumps({"id": 8, "text": "x", "followers": -3}),
        json.dumps({"id": 9, "text": "x", "author": 7}),
        json.dumps({"id": 10, "text": "x", "kind": 3}),
        json.dumps({"id": 11, "text": "y" * 100_001}),
        json.dumps({"id": 12, "text": "also fine"}),
    )
    code, rows, err = run([str(path)], capsys)
    assert code == 1
    assert [r["id"] for r in rows] == [1, 12]
    assert err.splitlines() == [
        "line 2: not valid JSON (Expecting value)",
        "line 3: not a JSON object",
        "line 4: no id",
        "line 5: text missing or not a string",
        "line 6: not UTF-8",
        "line 8: followers must be a whole number, 0 or more",
        "line 9: author must be an object or a handle",
        "line 10: kind must be a string",
        "line 11: text longer than 100,000 characters",
    ]


def test_an_empty_file_scores_nothing_and_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert run([str(path)], capsys) == (0, [], "")


def test_standard_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    line = json.dumps({"id": "s", "text": "When does the clinic open?"}) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(line.encode())))
    code, rows, _ = run(["-"], capsys)
    assert code == 0
    assert rows[0]["id"] == "s" and rows[0]["is_question"] is True


def test_a_missing_file_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, rows, err = run([str(tmp_path / "nope.jsonl")], capsys)
    assert code == 2 and rows == []
    assert err.strip() == f"listening-post: {tmp_path / 'nope.jsonl'}: No such file or directory"


def test_hostile_text_is_scored_and_written_back_as_valid_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = [
        "<script>alert('x')</script> rude",
        "\u202eright to left\u202c and \u200bzero width",
        'line\nbreaks\r\nand "quotes"',
        "💩" * 3000,
        "a" * 10_000,
    ]
    path = write_lines(tmp_path, *(json.dumps({"id": i, "text": t}) for i, t in enumerate(texts)))
    code, rows, _ = run([str(path)], capsys)
    assert code == 0
    assert [r["id"] for r in rows] == list(range(len(texts)))

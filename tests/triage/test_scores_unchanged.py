"""Speed work must not move a score: every field of ``listening-post score`` on a fixed set.

``fixtures/score_inputs.jsonl`` holds texts of our own (lexicon phrases, emoji, accents,
curly quotes, handles, personal data, a long text); ``fixtures/score_expected.jsonl`` what
the scorer said about them. After a deliberate change to the lexicon, look at the
difference, then write the file again with ``.venv/bin/python -m tests.triage.test_scores_unchanged``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from listener.intake.triage_setup import build_scorer
from listening_post.cli.score import score_stream

FIXTURES = Path(__file__).parent / "fixtures"
INPUTS = FIXTURES / "score_inputs.jsonl"
EXPECTED = FIXTURES / "score_expected.jsonl"


def scored_lines() -> list[str]:
    scorer = build_scorer(media_domains=["coventrytelegraph.net"])
    out = io.StringIO()
    with INPUTS.open("rb") as fh:
        assert score_stream(fh, out, io.StringIO(), scorer) == 0
    return out.getvalue().splitlines()


def test_every_score_field_is_as_recorded() -> None:
    expected = EXPECTED.read_text(encoding="utf-8").splitlines()
    got = scored_lines()
    assert len(got) == len(expected)
    for line, want in zip(got, expected, strict=True):
        assert json.loads(line) == json.loads(want)


if __name__ == "__main__":
    EXPECTED.write_text("\n".join(scored_lines()) + "\n", encoding="utf-8")

"""Property tests: whatever the internet sends, the parsers, the reply checker and triage answer with a
result or their typed error — never another exception — and never drop or alter an item silently.

Each property runs a bounded number of examples (no deadline: a slow example is not a failure here).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connectors.base import Checkpoint, ConnectorError, Mention, ParseResult, PayloadError
from connectors.facebook.parse import parse_graph_response
from connectors.fake_server import Failure
from connectors.replay import InvalidLine, parse_line
from connectors.rss import RssConnector
from connectors.rss.fake import FakeNewsFeed
from connectors.x.parse import parse_tweets_response
from listener.intake.triage_setup import build_scorer
from listener.paths import load_config_toml
from listening_post.cli.main import main
from listening_post.cli.spikes import RowError, detect_rows
from tests.reliability import strategies as s
from triage.lint import RULE_IDS, LintConfig, check_reply
from triage.personal_data import find_personal_data
from triage.scoring import Scorer

# Bounded: the file runs in about ten seconds on a quiet machine. The explicit examples pin the bugs found.
FEW = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PD_KINDS = {"nhs_number", "phone", "email", "postcode", "date_of_birth"}
OVERFLOWING_TIME = "0001-01-01T00:00:00+05:00"  # year 1 in Asia: before the start of time in UTC


def assert_well_formed(result: ParseResult, platform: str) -> None:
    for m in result.mentions:
        assert isinstance(m, Mention) and m.platform == platform
        assert isinstance(m.text, str) and isinstance(m.external_id, str) and m.external_id
        assert m.created_at.utcoffset() is not None and m.created_at.tzinfo == UTC
    assert all(isinstance(reason, str) and reason for reason in result.rejected)


def data_items(body: Any) -> list[Any] | None:
    """The ``data`` list of a body that is a JSON object with one, else None."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return body["data"]
    return None


@FEW
@given(s.bodies(s.tweets_responses))
@example({"data": [{"id": "1", "text": "x", "created_at": OVERFLOWING_TIME}]})
@example({"data": [{"id": "99999999999999999999", "text": "an id past 64 bits"}]})
def test_x_payload_parser_returns_mentions_or_a_payload_error(body: Any) -> None:
    try:
        result = parse_tweets_response(body, source="x:mentions:@NHSCovWarks")
    except PayloadError as error:
        assert error.message
        return
    assert_well_formed(result, "x")
    items = data_items(body)
    if items is not None:
        # Nothing is dropped silently: every item of the page is either a mention or a stated rejection.
        assert len(result.mentions) + len(result.rejected) == len(items)


@FEW
@given(s.bodies(s.graph_edges))
@example({"data": [{"id": "1_2", "created_time": "9999-12-31T23:59:59-0500", "message": "x"}]})
def test_graph_payload_parser_returns_mentions_or_a_payload_error(body: Any) -> None:
    try:
        result = parse_graph_response(body, source="facebook:page:1")
    except PayloadError as error:
        assert error.message
        return
    assert_well_formed(result, "facebook")
    items = data_items(body)
    if items is not None:
        assert len(result.mentions) + len(result.rejected) >= len(items)
    for m in result.mentions:
        # Nested connections carry paging links with the page token: they are never kept in the raw payload.
        assert "paging" not in m.raw and "comments" not in m.raw


@FEW
@given(
    st.one_of(
        s.stream_records.map(lambda r: json.dumps(r, ensure_ascii=False)),
        s.stream_records.map(lambda r: json.dumps(r).encode()),
        s.json_values.map(json.dumps),
        st.text(max_size=60),
        st.binary(max_size=60),
    )
)
@example(
    json.dumps(
        {
            "platform": "x",
            "id": "1",
            "created_at": OVERFLOWING_TIME,
            "text": "t",
            "author": {"id": "1", "handle": "h", "name": "n", "followers": 1},
            "source": "x:mentions:@NHSCovWarks",
        }
    )
)
def test_stream_line_parser_returns_a_mention_or_invalid_line(line: str | bytes) -> None:
    try:
        mention = parse_line(line)
    except InvalidLine as error:
        assert error.reason and "\n" not in error.reason
        return
    assert mention.created_at.tzinfo == UTC


@FEW
@given(s.hostile_text, st.sampled_from(["x", "facebook", "rss", "replay"]))
def test_a_valid_stream_line_keeps_its_text_exactly_but_what_no_database_stores(
    text: str, platform: str
) -> None:
    record = {
        "platform": platform,
        "id": "42",
        "created_at": "2026-03-02T09:15:00Z",
        "text": text,
        "author": {"id": "7", "handle": "pat", "name": "Pat", "followers": 3},
        "source": "x:mentions:@NHSCovWarks",
    }
    storable = text.replace("\x00", "")  # hostile_text has no surrogates: see test_safe_text for those
    for line in (json.dumps(record), json.dumps(record, ensure_ascii=False).encode()):
        mention = parse_line(line)
        assert mention.text == storable and (mention.text_note is None) == (storable == text)


@pytest.fixture(scope="module")
def news_feed() -> Iterator[FakeNewsFeed]:
    with FakeNewsFeed() as fake:
        fake.add_feed("hostile", title="Coventry Telegraph", link="https://www.coventrytelegraph.net")
        yield fake  # type: ignore[misc]


@FEW
@given(document=s.feed_documents, keywords=st.sampled_from([[], ["NHS"], ["script"]]))
def test_feed_parsing_returns_news_or_a_connector_error(
    news_feed: FakeNewsFeed, document: str | bytes, keywords: list[str]
) -> None:
    news_feed.inject(Failure(status=200, body=document, content_type="application/rss+xml"), path=r"/feeds/")
    connector = RssConnector(keywords=keywords, timeout=10)
    try:
        mentions, checkpoint = connector.fetch(f"rss:{news_feed.feed_url('hostile')}", Checkpoint())
    except ConnectorError as error:
        assert error.message
        return
    for m in mentions:
        assert m.kind == "news" and m.created_at.tzinfo == UTC and isinstance(m.text, str) and m.text
    json.dumps(checkpoint.cursor)  # the cursor is stored as JSON


@pytest.fixture(scope="module")
def lint_rules() -> LintConfig:
    return LintConfig.from_dict(load_config_toml("lint.toml"))


@MANY
@given(text=s.hostile_text, platform=st.sampled_from(["x", "facebook"]), signs=st.booleans())
def test_reply_checker_answers_any_text(
    lint_rules: LintConfig, text: str, platform: str, signs: bool
) -> None:
    result = check_reply(text, platform=platform, rules=lint_rules, signs_replies=signs)
    assert result.ok == (not any(f.severity == "block" for f in result.findings))
    for finding in result.findings:
        assert finding.rule in RULE_IDS and finding.message
        assert 0 <= finding.start <= finding.end <= len(text), finding


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return build_scorer(media_handles=["CovTelegraph"], media_domains=["coventrytelegraph.net"])


@MANY
@given(s.hostile_text)
def test_scorer_answers_any_text_within_its_ranges(scorer: Scorer, text: str) -> None:
    score = scorer.score_text(text)
    assert -1.0 <= score.compound <= 1.0
    assert all(0.0 <= v <= 1.0 for v in (score.pos, score.neg, score.neu, score.emotive))
    assert score.label in {"positive", "neutral", "negative"}
    assert score.priority in {1, 2, 3, 4}
    assert score.reasons and all(isinstance(r, str) for r in score.reasons)
    for finding in score.personal_data:
        assert text[finding.start : finding.end] == finding.text


@MANY
@given(s.hostile_text)
def test_personal_data_finder_reports_spans_of_the_text(text: str) -> None:
    findings = find_personal_data(text)
    for finding in findings:
        assert finding.kind in PD_KINDS
        assert 0 <= finding.start < finding.end <= len(text)
        assert text[finding.start : finding.end] == finding.text


@MANY
@given(st.lists(s.spike_rows, max_size=12), st.integers(min_value=0, max_value=12))
@example(["2026-03-02T09:00:00Z,3", f"{OVERFLOWING_TIME},4", "9999-12-31T23:00:00-05:00,5"], 2)
def test_spike_reader_is_causal_and_reports_bad_rows(rows: list[str], cut: int) -> None:
    full = list(detect_rows(rows))
    for item in full:
        assert isinstance(item, RowError) or (isinstance(item, list) and len(item) == 5), item
        if isinstance(item, RowError):
            assert item.reason and item.line >= 1
    # A row's output depends only on the rows at or before it.
    prefix = list(detect_rows(rows[:cut]))
    assert full[: len(prefix)] == prefix


@pytest.fixture(scope="module")
def spike_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spikes") / "counts.csv"


@settings(FEW, max_examples=25)
@given(
    st.one_of(
        st.binary(max_size=200), st.lists(s.spike_rows, max_size=10).map(lambda r: "\n".join(r).encode())
    )
)
def test_spikes_command_ends_with_a_status_never_a_traceback(spike_file: Path, content: bytes) -> None:
    spike_file.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["spikes", str(spike_file)])
    assert status in (0, 1, 2)
    assert out.getvalue().startswith("timestamp,value,expected,score,alert") or status == 2
    assert all(line.startswith("listening-post") for line in err.getvalue().splitlines())

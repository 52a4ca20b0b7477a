"""Report figures against figures worked out here, independently, from the rows the test inserted."""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from listener.queue.business_hours import BusinessClock
from listener.reports.business_time import BusinessTimeline, percentile
from listener.reports.csv_out import write_csv
from listener.reports.drilldown import drill_down, mention_rows
from listener.reports.filters import GROUPINGS, MEASURES, ReportFilters
from listener.reports.incidents import incident_report
from listener.reports.responses import RESPONSE_COLUMNS, response_report
from listener.reports.volume import volume_report
from listener.settings import Settings
from listener.store.db import session_factory, write_transaction
from listener.store.models import Incident, User
from listening_post.cli.main import main
from tests.listener import report_data as data

LONDON = ZoneInfo("Europe/London")
ENGLAND = holidays.country_holidays("GB", subdiv="ENG", years=range(2025, 2028))
NOW = datetime(2026, 4, 12, 12, 0, tzinfo=UTC)
SETTINGS = Settings()
SOURCES = {
    "x:mentions:@NHSCovWarks": ("x", "x:@NHSCovWarks"),
    "facebook:page:104729318865221": ("facebook", "facebook:104729318865221"),
    "x:search:ICB": ("x", "other"),
}


def business_seconds(start: datetime, end: datetime) -> float:
    """09:00-17:00 London time, Monday to Friday, not on England's bank holidays — written out here."""
    total = 0.0
    day = start.astimezone(LONDON).date()
    while day <= end.astimezone(LONDON).date():
        if day.weekday() < 5 and day not in ENGLAND:
            opens = datetime(day.year, day.month, day.day, 9, tzinfo=LONDON)
            closes = datetime(day.year, day.month, day.day, 17, tzinfo=LONDON)
            overlap = (min(closes, end) - max(opens, start)).total_seconds()
            total += max(0.0, overlap)
        day += timedelta(days=1)
    return total


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- business time edge cases: seconds worked out by hand ---------------------------------

EDGE_CASES = [
    # (created, answered, business seconds, why)
    (utc(2026, 3, 3, 10, 0), utc(2026, 3, 3, 10, 20), 1200, "same morning"),
    (utc(2026, 3, 2, 16, 30), utc(2026, 3, 3, 9, 30), 3600, "overnight: 30 min each side"),
    (utc(2026, 3, 2, 20, 0), utc(2026, 3, 3, 8, 59), 0, "posted and answered out of hours"),
    (utc(2026, 3, 6, 16, 0), utc(2026, 3, 9, 10, 0), 7200, "over a weekend"),
    (utc(2026, 3, 7, 12, 0), utc(2026, 3, 7, 14, 0), 0, "on a Saturday"),
    # Clocks go forward on Sunday 29 March: Monday opens at 09:00 BST = 08:00 UTC.
    (utc(2026, 3, 27, 16, 0), utc(2026, 3, 30, 8, 30), 5400, "over the change to summer time"),
    # Good Friday 3 April and Easter Monday 6 April are bank holidays.
    (utc(2026, 4, 2, 15, 0), utc(2026, 4, 7, 8, 0), 3600, "over Easter"),
    # Christmas 2026: Friday 25, Saturday 26, Sunday 27, Monday 28 (Boxing Day observed).
    (utc(2026, 12, 24, 16, 0), utc(2026, 12, 29, 10, 0), 7200, "over Christmas"),
    (utc(2026, 12, 28, 10, 0), utc(2026, 12, 28, 12, 0), 0, "on the substitute Boxing Day"),
]


@pytest.mark.parametrize(
    ("created", "answered", "seconds", "why"), EDGE_CASES, ids=[c[3] for c in EDGE_CASES]
)
def test_first_response_is_counted_in_business_hours(engine, created, answered, seconds, why):
    with write_transaction(engine) as s:
        mention = data.mention(s, data.author(s), created)
        data.item(
            s, mention, due_at=created + timedelta(days=30), first_response_at=answered, status="replied"
        )
    filters = ReportFilters(created.date() - timedelta(days=1), created.date() + timedelta(days=1))
    with session_factory(engine)() as s:
        [row] = drill_down(s, SETTINGS, filters, measure="answered", now=NOW)
        report = response_report(s, SETTINGS, filters, by="platform", now=NOW)
    assert business_seconds(created, answered) == seconds
    assert row.response_seconds == seconds
    assert report.total.first_response_median_seconds == seconds


@hsettings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
    st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC)),
)
def test_the_timeline_agrees_with_the_business_clock(start, span, other):
    clock = BusinessClock(SETTINGS.sla.business_hours, "Europe/London")
    timeline = BusinessTimeline(clock)
    # An index already built around another day (earlier or later) must not change the answer.
    timeline.seconds_between(other, other + timedelta(days=1))
    assert timeline.seconds_between(start, start + span) == pytest.approx(
        clock.seconds_between(start, start + span), abs=1e-6
    )
    assert timeline.seconds_between(start, start + span) == pytest.approx(
        business_seconds(start, start + span), abs=1e-6
    )


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=2, max_size=50))
def test_percentiles_match_the_statistics_module(values):
    assert percentile(values, 0.5) == pytest.approx(statistics.median(values))
    assert percentile(values, 0.9) == pytest.approx(statistics.quantiles(values, n=10, method="inclusive")[8])


# --- a month of items, worked out independently -------------------------------------------


@dataclass
class Planted:
    item_id: int
    agent: str
    agent_name: str
    source: str
    created: datetime
    due: datetime
    first_response: datetime | None
    closed: datetime | None
    status: str

    @property
    def platform(self) -> str:
        return SOURCES[self.source][0]

    def key(self, by: str) -> str:
        return {
            "agent": self.agent,
            "account": SOURCES[self.source][1],
            "platform": self.platform,
            "source": self.source,
            "day": self.created.astimezone(LONDON).date().isoformat(),
            "tag": "untagged",  # nothing in this month is tagged (tags: test_notes_tags_bulk.py)
        }[by]

    def measure(self, name: str) -> bool:
        answered = self.first_response is not None
        in_time = answered and self.first_response <= self.due
        settled = not answered and self.status in ("closed", "no_reply_needed")
        open_late = not answered and not settled and self.due < NOW
        return {
            "items": True,
            "answered": answered,
            "closed": self.closed is not None,
            "within_sla": in_time,
            "breached": (answered and not in_time) or open_late,
            "pending": not answered and not settled and not open_late,
            "no_reply_needed": settled,
        }[name]


def quantile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[q - 1]


def expected_figures(rows: list[Planted]) -> dict:
    responses = [business_seconds(r.created, r.first_response) for r in rows if r.first_response]
    closes = [business_seconds(r.created, r.closed) for r in rows if r.closed]
    counts = {m: sum(r.measure(m) for r in rows) for m in MEASURES}
    decided = counts["within_sla"] + counts["breached"]
    return {
        **counts,
        "first_response_median_seconds": statistics.median(responses) if responses else None,
        "first_response_p90_seconds": quantile(responses, 9),
        "close_median_seconds": statistics.median(closes) if closes else None,
        "close_p90_seconds": quantile(closes, 9),
        "sla_share": counts["within_sla"] / decided if decided else None,
    }


def figures_of(group) -> dict:
    return {
        **{m: getattr(group, m) for m in MEASURES},
        "first_response_median_seconds": group.first_response_median_seconds,
        "first_response_p90_seconds": group.first_response_p90_seconds,
        "close_median_seconds": group.close_median_seconds,
        "close_p90_seconds": group.close_p90_seconds,
        "sla_share": group.sla_share,
    }


def approx(figures: dict) -> dict:
    return {k: (v if v is None else pytest.approx(v, abs=1e-6)) for k, v in figures.items()}


RANGE = ReportFilters(date(2026, 3, 1), date(2026, 4, 11))


@pytest.fixture
def month(any_engine) -> list[Planted]:
    """80 items over March and early April 2026 (summer time, Easter), at any hour; two outside the range."""
    engine = any_engine
    alex, bo = data.user(engine, "Alex Agent"), data.user(engine, "Bo Agent")
    rng = random.Random(9)
    planted = []
    with write_transaction(engine) as s:
        people = {"x": data.author(s, "pat"), "facebook": data.author(s, "sam", platform="facebook")}
        for n in range(80):
            created = utc(2026, 3, 1) + timedelta(minutes=rng.randrange(0, 41 * 24 * 60))
            source = rng.choice(list(SOURCES))
            assignee = rng.choice([alex, bo, None])
            due = created + timedelta(hours=rng.choice([1, 2, 8, 30]))
            first = created + timedelta(minutes=rng.randrange(1, 4 * 24 * 60)) if rng.random() < 0.7 else None
            closed = first + timedelta(hours=rng.randrange(0, 50)) if first and rng.random() < 0.5 else None
            status = (
                "closed"
                if closed
                else "replied"
                if first
                else rng.choice(["new", "claimed", "no_reply_needed"])
            )
            if status == "no_reply_needed":
                closed = created + timedelta(hours=3)
            if n == 0:  # the first minute of the range (local midnight, GMT)
                created = utc(2026, 3, 1, 0, 0)
            mention = data.mention(s, people[SOURCES[source][0]], created, source=source)
            row = data.item(
                s,
                mention,
                due_at=due,
                assignee=assignee,
                status=status,
                first_response_at=first,
                closed_at=closed,
            )
            planted.append(
                Planted(
                    item_id=row.id,
                    agent=str(assignee.id) if assignee else "unassigned",
                    agent_name=assignee.name if assignee else "Unassigned",
                    source=source,
                    created=created,
                    due=due,
                    first_response=first,
                    closed=closed,
                    status=status,
                )
            )
        # Outside the range: the last minute of February, and 00:30 BST on 12 April (23:30 UTC on the 11th).
        for created in (utc(2026, 2, 28, 23, 59), utc(2026, 4, 11, 23, 30)):
            mention = data.mention(s, people["x"], created)
            data.item(
                s,
                mention,
                due_at=created + timedelta(hours=8),
                assignee=alex,
                status="replied",
                first_response_at=created + timedelta(hours=1),
            )
    return planted


@pytest.mark.parametrize("by", GROUPINGS)
def test_group_figures_equal_the_figures_worked_out_from_the_rows(any_engine, month, by):
    groups: dict[str, list[Planted]] = defaultdict(list)
    for row in month:
        groups[row.key(by)].append(row)
    with session_factory(any_engine)() as s:
        report = response_report(s, SETTINGS, RANGE, by=by, now=NOW)
    assert {g.key for g in report.groups} == set(groups)
    for group in report.groups:
        assert figures_of(group) == approx(expected_figures(groups[group.key])), group.key
    assert figures_of(report.total) == approx(expected_figures(month))
    assert report.total.items == 80
    if by == "agent":
        assert {g.label for g in report.groups} == {"Alex Agent", "Bo Agent", "Unassigned"}
    if by == "day":
        assert [g.key for g in report.groups] == sorted(groups)


@pytest.mark.parametrize("by", ["agent", "account", "day"])
def test_every_figure_drills_down_to_the_items_behind_it(any_engine, month, by):
    with session_factory(any_engine)() as s:
        report = response_report(s, SETTINGS, RANGE, by=by, now=NOW)
        for group in report.groups:
            narrowed = RANGE.narrowed(by, group.key)
            for measure in MEASURES:
                items = drill_down(s, SETTINGS, narrowed, measure=measure, now=NOW)
                expected = {r.item_id for r in month if r.key(by) == group.key and r.measure(measure)}
                assert {i.item_id for i in items} == expected
                assert len(items) == getattr(group, measure)


def test_filters_narrow_the_report(any_engine, month):
    with session_factory(any_engine)() as s:
        unassigned = response_report(
            s, SETTINGS, RANGE.narrowed("agent", "unassigned"), by="platform", now=NOW
        )
        facebook = response_report(s, SETTINGS, RANGE.narrowed("platform", "facebook"), by="agent", now=NOW)
        others = response_report(s, SETTINGS, RANGE.narrowed("account", "other"), by="source", now=NOW)
        urgent = response_report(
            s, SETTINGS, ReportFilters(RANGE.date_from, RANGE.date_to, priority=1), by="agent", now=NOW
        )
    assert unassigned.total.items == sum(r.agent == "unassigned" for r in month)
    assert facebook.total.items == sum(r.platform == "facebook" for r in month)
    assert [g.key for g in others.groups] == ["x:search:ICB"]
    assert urgent.total.items == 0 and urgent.groups == []


def test_the_report_as_csv_parses_back_to_the_same_figures(any_engine, month):
    with session_factory(any_engine)() as s:
        report = response_report(s, SETTINGS, RANGE, by="agent", now=NOW)
    out = io.StringIO()
    write_csv(out, RESPONSE_COLUMNS, [g.as_dict() for g in report.groups])
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["group"] for row in parsed] == [g.key for g in report.groups]
    for row, group in zip(parsed, report.groups, strict=True):
        assert int(row["items"]) == group.items
        assert float(row["first_response_median_seconds"]) == pytest.approx(
            group.first_response_median_seconds, abs=0.06
        )


def test_text_cells_cannot_run_as_spreadsheet_formulas():
    out = io.StringIO()
    write_csv(
        out,
        ["label", "items"],
        [{"label": '=HYPERLINK("http://evil")', "items": -3}, {"label": "'quoted", "items": None}],
    )
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1] == ['\'=HYPERLINK("http://evil")', "-3"]
    assert rows[2] == ["''quoted", ""]


def test_the_report_command_prints_the_same_figures(any_engine, month, capsys):
    url = data.db_url(any_engine)
    assert (
        main(["report", "--db", url, "--from", "2026-03-01", "--to", "2026-04-11", "--by", "platform"]) == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    groups = {line["group"]: line for line in lines if line["type"] == "group"}
    assert lines[-1]["type"] == "total" and lines[-1]["items"] == 80
    for platform in ("x", "facebook"):
        rows = [r for r in month if r.platform == platform]
        expected = expected_figures(rows)
        assert groups[platform]["items"] == len(rows)
        assert groups[platform]["answered"] == expected["answered"]
        assert groups[platform]["within_sla"] == expected["within_sla"]
        assert groups[platform]["first_response_median_seconds"] == pytest.approx(
            expected["first_response_median_seconds"], abs=0.06
        )
        assert groups[platform]["first_response_p90_seconds"] == pytest.approx(
            expected["first_response_p90_seconds"], abs=0.06
        )

    assert (
        main(
            [
                "report",
                "--db",
                url,
                "--from",
                "2026-03-01",
                "--to",
                "2026-04-11",
                "--by",
                "day",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    parsed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert parsed[-1]["group"] == "total"
    assert sum(int(r["items"]) for r in parsed[:-1]) == 80


def test_the_report_command_refuses_a_bad_date(engine, capsys):
    assert main(["report", "--db", data.db_url(engine), "--from", "2026-02-30"]) == 2
    assert "--from '2026-02-30': not a date" in capsys.readouterr().err
    assert main(["report", "--db", data.db_url(engine), "--from", "2026-03-05", "--to", "2026-03-01"]) == 2


# --- volume, sentiment and incidents ------------------------------------------------------


def test_volume_and_sentiment_per_local_day(any_engine):
    planted = [
        (utc(2026, 3, 29, 10, 0), "negative", -0.5),
        (utc(2026, 3, 29, 22, 59), "positive", 0.6),  # 23:59 BST: still the 29th
        (utc(2026, 3, 29, 23, 0), "negative", -0.7),  # 00:00 BST on the 30th
        (utc(2026, 3, 30, 12, 0), "neutral", 0.0),
        (utc(2026, 3, 31, 23, 30), "negative", -0.2),  # 1 April locally: outside the range
    ]
    with write_transaction(any_engine) as s:
        person = data.author(s)
        for created, label, compound in planted:
            data.mention(s, person, created, label=label, compound=compound)
        data.mention(s, person, utc(2026, 3, 28, 12), is_own=True, label="positive", compound=0.9)
    filters = ReportFilters(date(2026, 3, 28), date(2026, 3, 31))
    with session_factory(any_engine)() as s:
        days = {v.day: v for v in volume_report(s, SETTINGS, filters)}
        negatives_30th = mention_rows(s, SETTINGS, filters.narrowed("day", "2026-03-30"), label="negative")
    assert list(days) == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30), date(2026, 3, 31)]
    assert (days[date(2026, 3, 28)].mentions, days[date(2026, 3, 28)].positive) == (1, 1)
    assert (days[date(2026, 3, 29)].mentions, days[date(2026, 3, 29)].negative) == (2, 1)
    assert days[date(2026, 3, 29)].mean_compound == pytest.approx(0.05)
    assert (days[date(2026, 3, 30)].mentions, days[date(2026, 3, 30)].negative) == (2, 1)
    assert days[date(2026, 3, 31)].mentions == 0 and days[date(2026, 3, 31)].mean_compound is None
    assert [m.created_at for m in negatives_30th] == [utc(2026, 3, 29, 23, 0)]


def test_incidents_with_their_time_to_alert_and_to_listening_message(any_engine):
    opened = utc(2026, 3, 7, 21, 0)  # a Saturday night: alerting is not limited to business hours
    with write_transaction(any_engine) as s:
        for key, alert, listening in (("a", timedelta(minutes=2), timedelta(minutes=25)), ("b", None, None)):
            s.add(
                Incident(
                    episode_key=key,
                    subject=f"Subject {key}",
                    level="crisis",
                    opened_at=opened,
                    level_changed_at=opened,
                    first_alert_at=alert and opened + alert,
                    listening_message_at=listening and opened + listening,
                    mentions_count=12,
                )
            )
        s.add(
            Incident(
                episode_key="old",
                subject="Old",
                level="watch",
                opened_at=utc(2026, 2, 1),
                level_changed_at=utc(2026, 2, 1),
            )
        )
    with session_factory(any_engine)() as s:
        rows = incident_report(s, SETTINGS, ReportFilters(date(2026, 3, 1), date(2026, 3, 31)))
    assert [r.subject for r in rows] == ["Subject a", "Subject b"]
    assert rows[0].time_to_alert_seconds == 120 and rows[0].time_to_listening_seconds == 1500
    assert rows[1].time_to_alert_seconds is None
    assert rows[0].as_dict()["mentions"] == 12


def test_an_agent_filter_must_be_a_user_id(engine):
    with session_factory(engine)() as s, pytest.raises(ValueError, match="agent must be a user id"):
        response_report(
            s, SETTINGS, ReportFilters(date(2026, 3, 1), date(2026, 3, 2), agent="bob"), by="day", now=NOW
        )


def test_agent_names_come_from_the_users_table(any_engine, month):
    with session_factory(any_engine)() as s:
        names = {str(u.id): u.name for u in s.query(User)}
        report = response_report(s, SETTINGS, RANGE, by="agent", now=NOW)
    for group in report.groups:
        assert group.label == names.get(group.key, "Unassigned")


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1",
        "-1+cmd",
        "@SUM(A1)",
        " =HYPERLINK(1)",
        "\n=1",
        "\r\n=1",
        "\t=1",
        "\u00a0=1",  # no-break space
        "\u200b=1",  # zero-width space
        "\ufeff=1",  # byte order mark
        "\u3000=1",  # ideographic space
        "\uff1d1+1",  # full-width equals
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
        "  \uff1dHYPERLINK(1)",
        "\t",
        "\n",
    ],
)
def test_every_formula_start_is_guarded_after_trimming(text):
    from listener.reports.csv_out import csv_text

    assert csv_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Thanks, 5 stars", "email me at a@b.org", " spaced out", "", "100%"])
def test_ordinary_text_is_left_alone(text):
    from listener.reports.csv_out import csv_text

    assert csv_text(text) == text

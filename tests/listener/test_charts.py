"""SVG charts: well-formed, titled, described in words, axes labelled, series told apart without colour."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from queue_ui.charts import Series, bar_chart, line_chart, nice_ticks

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def bars(**kw) -> str:
    return bar_chart(
        title="Mentions per day",
        description="Mentions each day by sentiment.",
        categories=["1 Mar", "2 Mar", "3 Mar"],
        series=[
            Series("Negative", [3, 0, 5]),
            Series("Neutral", [2, 4, None]),
            Series("Positive", [1, 1, 1]),
        ],
        x_label="Day",
        y_label="Mentions",
        **kw,
    )


@pytest.mark.parametrize("stacked", [True, False])
def test_a_bar_chart_has_a_title_a_text_alternative_and_labelled_axes(stacked):
    root = parse(bars(stacked=stacked))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"svg:title[@id='{title_id}']", NS).text == "Mentions per day"
    desc = root.find(f"svg:desc[@id='{desc_id}']", NS).text
    assert desc.startswith("Mentions each day by sentiment.")
    assert "Negative: 1 Mar 3; 2 Mar 0; 3 Mar 5." in desc and "Neutral: 1 Mar 2; 2 Mar 4." in desc
    labels = texts(root)
    assert {"Day", "Mentions", "Negative", "Neutral", "Positive"} <= set(labels)
    assert "0" in labels  # the y axis starts at zero


def test_each_series_has_its_own_fill_pattern_not_only_a_colour():
    root = parse(bars(stacked=True))
    patterns = root.findall(".//svg:pattern", NS)
    assert len(patterns) == 3
    # Solid, then hatched, then dotted: the marks inside the patterns differ.
    marks = [tuple(child.tag for child in p)[1:] for p in patterns]
    assert len(set(marks)) == 3
    fills = {
        r.get("fill")
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if "url(" in (r.get("fill") or "")
    }
    assert fills == {f"url(#{p.get('id')})" for p in patterns}


def test_bars_carry_their_values_as_direct_labels():
    root = parse(bars(stacked=False))
    labels = texts(root)
    assert labels.count("5") >= 1 and labels.count("4") >= 1
    tooltips = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "Negative, 3 Mar: 5" in tooltips


def test_text_from_posts_is_escaped():
    svg = bar_chart(
        title="<script>alert(1)</script>",
        description="d & e",
        categories=["<b>"],
        series=[Series('"><img src=x>', [1])],
        x_label="x",
        y_label="y",
    )
    root = parse(svg)  # would not parse if the markup had broken out
    assert "<script>" not in svg and "<img" not in svg
    assert root.find("svg:title", NS).text == "<script>alert(1)</script>"


def test_a_line_chart_breaks_at_missing_values_and_uses_distinct_markers_and_dashes():
    svg = line_chart(
        title="First response",
        description="Median and 90th percentile in business hours.",
        categories=["1 Mar", "2 Mar", "3 Mar", "4 Mar"],
        series=[Series("Median", [1.5, None, 2.0, 2.5]), Series("90th percentile", [3.0, 4.0, 5.0, 6.0])],
        x_label="Day",
        y_label="Business hours",
    )
    root = parse(svg)
    paths = [p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("fill") == "none"]
    median = [p for p in paths if p.get("stroke") == paths[0].get("stroke")]
    assert len(median) == 2  # the gap on 2 March splits the line
    dashes = {p.get("stroke-dasharray") for p in paths}
    assert len(dashes) == 2
    assert "Median: 1 Mar 1.5; 3 Mar 2; 4 Mar 2.5." in root.find("svg:desc", NS).text
    assert {"Median", "90th percentile", "Business hours", "Day"} <= set(texts(root))


def test_many_days_show_a_readable_number_of_axis_labels_and_a_summary():
    days = [f"{d} Jan" for d in range(1, 91)]
    svg = bar_chart(
        title="t",
        description="d",
        categories=days,
        series=[Series("Mentions", list(range(90)))],
        x_label="Day",
        y_label="Mentions",
    )
    root = parse(svg)
    assert sum(label in days for label in texts(root)) <= 12
    assert "Mentions: from 0 (1 Jan) to 89 (90 Jan)." in root.find("svg:desc", NS).text


def test_empty_data_still_draws_axes():
    root = parse(bar_chart(title="t", description="d", categories=[], series=[], x_label="Day", y_label="n"))
    assert {"Day", "n"} <= set(texts(root))


@pytest.mark.parametrize(
    ("top", "expected"),
    [(0, [0, 1]), (7, [0, 2, 4, 6, 8]), (0.9, [0, 0.2, 0.4, 0.6, 0.8, 1.0]), (120, [0, 50, 100, 150])],
)
def test_ticks_are_round_numbers_reaching_the_top(top, expected):
    assert nice_ticks(top) == pytest.approx(expected)

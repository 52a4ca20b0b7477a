"""Every route's path and query parameters, fuzzed (hypothesis): no input makes any page or API answer 500.

Ids past what the databases hold (2^31 for PostgreSQL's integer, 2^63 for SQLite's), crafted
queue cursors, dates in year 9999 or 0, and junk text. A signed-in admin sends them, so the
requests reach the handlers; every answer, errors included, carries the security headers.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from listener.settings import Settings
from queue_ui.app import create_app
from tests.queue_ui.conftest import SECRET, UiClient, sign_in

NASTY_INTS = [0, -1, 2**31 - 1, 2**31, 2**53, 2**63 - 1, 2**63, 2**64, 10**30]
NASTY_TEXT = [
    "",
    " ",
    "9999-12-31",
    "0000-01-01",
    "10000-01-01",
    "2026-02-30",
    "9999-12-31T23:59:59",
    "abc",
    "%00",
    "\x00",
    "../../etc/passwd",
    "eyJhIjoxfQ",  # base64 JSON, the shape of a cursor
    "MjAyNi0wMy0wNHwx",  # base64 "2026-03-04|1"
    "OTk5OS0xMi0zMVQyMzo1OTo1OSsxNDowMHw5OTk5OTk5OTk5OTk5OTk5OTk5OQ",
    "!!!notbase64",
    "1e309",
    "NaN",
]


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# Queue cursors that decode but hold what no page ever wrote.
CRAFTED_CURSORS = [
    _cursor(v)
    for v in (
        [1, "2026-03-04T10:00:00+00:00", 2**64],
        [2**63, "2026-03-04T10:00:00+00:00", 1],
        [1, "2026-03-04T10:00:00", 1],  # no time zone
        [1, "9999-12-31T23:59:59-14:00", 1],  # past the end of time once in UTC
        [1, "0001-01-01T00:00:00+14:00", 1],
        [2**31],
        [-(2**63) - 1],
        [1, None, 1],
        [1.5e308, "2026-03-04T10:00:00+00:00", 1],
        {"a": 1},
    )
]
VALUE = st.one_of(
    st.sampled_from(CRAFTED_CURSORS),
    st.sampled_from([str(n) for n in NASTY_INTS]),
    st.sampled_from(NASTY_TEXT),
    st.integers().map(str),
    st.dates().map(str),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
)
COMMON_QUERY = {"date_from", "date_to", "after", "before", "cursor", "page", "by", "platform", "source"}
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


def _walk(dependant: Dependant) -> list[Dependant]:
    return [dependant, *(d for sub in dependant.dependencies for d in _walk(sub))]


def _get_routes(app: FastAPI) -> list[tuple[str, list[str], list[str]]]:
    found = []
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if not isinstance(original, APIRoute) or "GET" not in route.methods:
            continue
        path_params = sorted({p.name for d in _walk(original.dependant) for p in d.path_params})
        query = sorted({p.alias for d in _walk(original.dependant) for p in d.query_params})
        found.append((route.path, path_params, query))
    return found


@pytest.fixture
def admin_client(engine: Engine, clock, seed, make_user) -> UiClient:
    seed()
    app = create_app(Settings(), engine, clock=clock, session_secret=SECRET)
    return sign_in(app, make_user("admin"))


def _fill(path: str, values: dict[str, str]) -> str:
    from urllib.parse import quote

    return re.sub(r"\{([^}:]+)(:[^}]+)?\}", lambda m: quote(values[m.group(1)], safe=""), path)


def test_no_route_answers_500_to_any_path_or_query_value(admin_client: UiClient) -> None:
    routes = _get_routes(admin_client.app)
    assert len(routes) > 25, "the route table could not be read"
    client = UiClient(admin_client.app, raise_server_exceptions=False)
    client.cookies = admin_client.cookies

    for path, path_params, own_query in routes:
        if path.startswith("/static"):
            continue
        # Some handlers read request.query_params themselves: the common names go to every route.
        query = sorted(set(own_query) | COMMON_QUERY)

        @given(
            values=st.fixed_dictionaries({name: VALUE for name in path_params}),
            params=st.dictionaries(st.sampled_from(query), VALUE, max_size=4),
        )
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(values: dict[str, str], params: dict[str, Any]) -> None:
            url = _fill(path, values)  # noqa: B023 - check() runs within this iteration
            response = client.get(url, params=params, follow_redirects=False)
            where = f"GET {url} {params} -> {response.status_code}"
            assert response.status_code < 500, where
            for header in SECURITY_HEADERS:
                assert header in response.headers, f"{where}: no {header}"

        check()


def test_every_parameter_of_every_route_takes_every_nasty_value(admin_client: UiClient) -> None:
    """The fixed list, one parameter at a time: random draws can miss the one value that breaks."""
    client = UiClient(admin_client.app, raise_server_exceptions=False)
    client.cookies = admin_client.cookies
    nasty = [*map(str, NASTY_INTS), *NASTY_TEXT, *CRAFTED_CURSORS]
    for path, path_params, query in _get_routes(admin_client.app):
        if path.startswith("/static"):
            continue
        for name in [*path_params, *query]:
            for value in nasty:
                if name in path_params:
                    url, params = _fill(path, {p: (value if p == name else "1") for p in path_params}), {}
                else:
                    url, params = _fill(path, dict.fromkeys(path_params, "1")), {name: value}
                response = client.get(url, params=params, follow_redirects=False)
                where = f"GET {url} {params} -> {response.status_code}"
                assert response.status_code < 500, where
                assert "content-security-policy" in response.headers, where


def test_a_server_error_still_carries_the_security_headers_and_a_plain_page(engine: Engine, clock) -> None:
    app = create_app(Settings(), engine, clock=clock, session_secret=SECRET)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/api/boom")
    def api_boom() -> None:
        raise RuntimeError("secret internals")

    client = UiClient(app, raise_server_exceptions=False)
    page, api = client.get("/boom"), client.get("/api/boom")
    assert page.status_code == api.status_code == 500
    for response in (page, api):
        for header in SECURITY_HEADERS:
            assert header in response.headers
        assert "secret internals" not in response.text
    assert "Something went wrong" in page.text and "nhsuk" in page.text
    assert "Try again" in api.json()["detail"]
    with pytest.raises(RuntimeError):  # still raised, so the server logs it and tests see it
        UiClient(app).get("/boom")

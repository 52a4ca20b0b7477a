"""The JSON API against its own OpenAPI schema (schemathesis, in-process): no input makes it answer 500.

Every operation of ``/api/openapi.json`` gets generated requests — valid ones and invalid ones —
from a signed-in agent carrying the session's CSRF token, and the same requests from nobody. A
bounded number of examples per operation keeps the file well under a minute.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine

from listener.settings import Settings
from listener.store.models import User
from queue_ui.app import SESSION_COOKIE, create_app
from tests.queue_ui.conftest import SECRET, sign_in

EXAMPLES = 30
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


@pytest.fixture
def api_app(engine: Engine, clock, seed: Callable[..., object]) -> FastAPI:
    for n in range(5):  # small ids exist, so some generated requests reach a real item
        seed(f"Question {n} about the walk-in centre")
    return create_app(Settings(), engine, clock=clock, session_secret=SECRET)


def test_the_api_never_answers_with_a_server_error(api_app: FastAPI, make_user: Callable[..., User]) -> None:
    client = sign_in(api_app, make_user("agent"))
    headers = {"X-CSRF-Token": client.csrf}
    cookies = {SESSION_COOKIE: client.cookies[SESSION_COOKIE]}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api_app, headers=headers, cookies=cookies)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9, "the schema lost operations"
    answered: set[int] = set()

    for operation in operations:
        cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in MODES))

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers=headers, cookies=cookies, checks=[not_a_server_error])
            answered.add(response.status_code)
            # Nobody signed in gets a refusal: 401, or a 4xx for a request that could not be read at all.
            anonymous = case.call()
            assert 400 <= anonymous.status_code < 500, (case.operation.label, anonymous.status_code)

        check()
    # The agent's requests got through sign-in and CSRF: some succeeded, some were refused as invalid.
    assert 200 in answered and 422 in answered, answered

"""Reliability fixtures: the queue UI's (app, signed-in clients, seeded items) are reused as they are."""

from tests.queue_ui.conftest import (  # noqa: F401 - fixtures, registered by import
    anonymous,
    app,
    cheap_password_hashing,
    client_as,
    clock,
    open_incident,
    seed,
    ui_settings,
)

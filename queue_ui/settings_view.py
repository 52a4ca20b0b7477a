"""The settings a request should use: the file's, with the admin's overrides applied."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from listener.overrides import effective_settings
from listener.settings import Settings


def effective(request: Request, session: Session) -> Settings:
    cached = getattr(request.state, "effective_settings", None)
    if cached is None:
        cached = effective_settings(session, request.app.state.settings)
        request.state.effective_settings = cached
    return cached

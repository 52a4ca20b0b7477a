"""The optional second factor: time-based one-time codes (RFC 6238) from an authenticator app.

Offered to leads and admins, who can post for the board in a crisis.
"""

from __future__ import annotations

from datetime import datetime

import pyotp

ROLES_WITH_TWO_FACTOR = frozenset({"lead", "admin"})
ISSUER = "Listening Post"


def allowed(role: str) -> bool:
    return role in ROLES_WITH_TWO_FACTOR


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, email: str) -> str:
    """The otpauth:// address an authenticator app reads (typed in, or from a QR code elsewhere)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def verify(secret: str, code: str, *, now: datetime) -> bool:
    """True when ``code`` is the code for ``now`` (or the 30 seconds either side, for slow typists)."""
    code = code.strip().replace(" ", "")
    if not secret or not code.isdigit() or len(code) != 6:
        return False
    return pyotp.TOTP(secret).verify(code, for_time=now, valid_window=1)

"""One typed settings object, loaded from a TOML file, with secrets from the environment.

The TOML file never holds secrets. Each secret is read from ``LISTENING_POST_<NAME>`` or
from the file named by ``LISTENING_POST_<NAME>_FILE`` (container secrets), and is masked
whenever settings are shown.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from listener.errors import UserError

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GeneralSettings(_Section):
    organisation: str = "NHS Coventry and Warwickshire ICB"
    data_dir: Path = Path("./data")
    timezone: str = "Europe/London"
    base_url: str = "http://127.0.0.1:8000"
    # Names and keywords of the board: news items are kept only when they mention one of these.
    keywords: list[str] = Field(default_factory=lambda: ["Coventry and Warwickshire ICB", "NHS Coventry"])

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"{value!r} is not a time zone name such as Europe/London") from exc
        return value


class DatabaseSettings(_Section):
    url: str | None = None  # default: sqlite file under general.data_dir
    # PostgreSQL: give up on a server that accepts but never answers, instead of hanging for ever.
    connect_timeout_seconds: int = Field(default=10, gt=0)
    statement_timeout_seconds: int = Field(default=60, gt=0)


class AccountSettings(_Section):
    platform: Literal["x", "facebook", "instagram", "linkedin", "bluesky"]
    # X: handle without @; Facebook: page id; Instagram: @username; LinkedIn: organisation id;
    # Bluesky: the full handle (name.bsky.social)
    handle: str
    name: str = ""
    signs_replies: bool = True  # replies end with the agent's initials (policy 7.0)
    user_id: str | None = None  # X numeric user id (found at first poll when absent); Instagram IG user id


class SourceSettings(_Section):
    # x:mentions:@handle | x:search:<query> | facebook:page:<id> | instagram:account:<ig user id> |
    # linkedin:organization:<id> | bluesky:mentions:@handle | bluesky:search:<query> | rss:<url> |
    # replay:<file>
    key: str
    name: str = ""  # how people call it, e.g. "Coventry Telegraph" (shown as "Coventry Telegraph news feed")
    interval_seconds: int = Field(default=120, ge=10)
    enabled: bool = True
    api_base_url: str | None = None  # only for fakes and proxies; real platforms by default

    @field_validator("key")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        prefixes = (
            "x:mentions:@",
            "x:search:",
            "facebook:page:",
            "instagram:account:",
            "linkedin:organization:",
            "bluesky:mentions:@",
            "bluesky:search:",
            "rss:",
            "replay:",
        )
        if not value.startswith(prefixes):
            raise ValueError(f"must start with one of {', '.join(prefixes)}")
        return value


class PollingSettings(_Section):
    default_interval_seconds: int = Field(default=120, ge=10)
    jitter_seconds: int = Field(default=15, ge=0)
    lease_seconds: int = Field(default=300, ge=30)
    request_timeout_seconds: float = Field(default=20, gt=0)


class TriageSettings(_Section):
    # Processes that score a poll's mentions: unset, one per spare core (none on a one-core
    # box: the worker scores in its own process); 1 always scores in the worker's process.
    scoring_processes: int | None = Field(default=None, ge=1, le=64)


class FacebookSettings(_Section):
    # The Graph API version every call names; Meta retires each about two years after release.
    graph_api_version: str = "v21.0"

    @field_validator("graph_api_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        if not re.fullmatch(r"v\d{1,3}\.\d{1,2}", value):
            raise ValueError("must look like v21.0")
        return value


class LinkedInSettings(_Section):
    # The LinkedIn-Version (YYYYMM) every call names. LinkedIn releases one a month and retires
    # each about a year later; a retired one stops the LinkedIn sources with "needs attention".
    api_version: str = "202610"

    @field_validator("api_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        if not re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])", value):
            raise ValueError("must look like 202610 (YYYYMM)")
        return value


class BusinessHours(_Section):
    start: time = time(9, 0)
    end: time = time(17, 0)
    days: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]  # pydantic copies the default per instance
    bank_holidays: str = "England"  # a subdivision of the holidays package's GB calendar


class SlaSettings(_Section):
    # First-response targets in business minutes, by priority (1 urgent .. 4 low).
    urgent_minutes: int = Field(default=60, gt=0)
    high_minutes: int = Field(default=120, gt=0)
    normal_minutes: int = Field(default=480, gt=0)
    low_minutes: int = Field(default=960, gt=0)
    warn_before_minutes: int = Field(default=30, ge=0)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)

    def target_minutes(self, priority: int) -> int:
        return {1: self.urgent_minutes, 2: self.high_minutes, 3: self.normal_minutes}.get(
            priority, self.low_minutes
        )


class MediaSettings(_Section):
    handles: list[str] = Field(default_factory=list)  # media accounts (without @)
    domains: list[str] = Field(default_factory=list)  # news sites
    include_default_list: bool = True  # also use config/media.toml (the area's outlets)


class AlertSettings(_Section):
    # apprise URLs; write secrets as ${ENV_VAR} and they are filled from the environment at send time.
    leads: list[str] = Field(default_factory=list)
    escalation: list[str] = Field(default_factory=list)
    admins: list[str] = Field(default_factory=list)
    escalate_after_minutes: int = Field(default=10, gt=0)
    retry_minutes: int = Field(default=2, gt=0)
    max_attempts: int = Field(default=10, gt=0)


class RetentionSettings(_Section):
    days: int = Field(default=365, gt=0)
    run_at: time = time(2, 30)


class IncidentSettings(_Section):
    stakeholders: list[str] = Field(
        default_factory=lambda: ["Head of Communications", "Director of Corporate Affairs"]
    )
    listening_message: str = (  # policy 7.2, word for word
        "Thank you for bringing this to our attention, we are investigating "
        "and will respond as soon as we are able."
    )


class UiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    https: bool = False  # behind a TLS proxy: cookies are marked Secure
    session_hours: int = Field(default=10, gt=0)
    max_failed_logins: int = Field(default=5, gt=0)  # per account and address, then it locks there
    lockout_minutes: int = Field(default=15, gt=0)  # the first lock; each further one doubles
    max_sign_ins_per_address: int = Field(default=20, gt=0)  # failures per address per 5 minutes
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For is believed. Empty: none.
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network") from exc
        return value


class Secrets(BaseModel):
    """Read from the environment only. Absent secrets switch their feature off."""

    session_secret: SecretStr | None = None
    x_bearer_token: SecretStr | None = None
    x_consumer_key: SecretStr | None = None
    x_consumer_secret: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_access_token_secret: SecretStr | None = None
    facebook_page_token: SecretStr | None = None
    facebook_app_secret: SecretStr | None = None
    instagram_verify_token: SecretStr | None = None  # the token Meta echoes when the webhook is set up
    linkedin_access_token: SecretStr | None = None
    bluesky_app_password: SecretStr | None = None  # an app password (Settings > Privacy and security)
    smtp_password: SecretStr | None = None

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Secrets:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = f"LISTENING_POST_{name.upper()}"
            if env.get(key):
                values[name] = env[key]
            elif env.get(f"{key}_FILE"):
                path = Path(env[f"{key}_FILE"])
                try:
                    values[name] = path.read_text().strip()
                except OSError as exc:
                    raise UserError(f"{key}_FILE: cannot read {path}: {exc.strerror}") from exc
        return cls(**values)


class Settings(_Section):
    general: GeneralSettings = Field(default_factory=GeneralSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    accounts: list[AccountSettings] = Field(default_factory=list)
    sources: list[SourceSettings] = Field(default_factory=list)
    polling: PollingSettings = Field(default_factory=PollingSettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    facebook: FacebookSettings = Field(default_factory=FacebookSettings)
    linkedin: LinkedInSettings = Field(default_factory=LinkedInSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    crisis: dict[str, Any] = Field(default_factory=dict)  # triage.crisis.CrisisConfig fields
    spikes: dict[str, Any] = Field(default_factory=dict)  # triage.spikes.SpikeConfig fields
    secrets: Secrets = Field(default_factory=Secrets, exclude=True)
    source_file: Path | None = Field(default=None, exclude=True)

    def database_url(self, override: str | None = None) -> str:
        url = override or os.environ.get("LISTENING_POST_DATABASE_URL") or self.database.url
        if url:
            return url
        return f"sqlite:///{(self.general.data_dir / 'listening-post.db').resolve()}"


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")


def load_settings(path: str | Path | None, *, environ: dict[str, str] | None = None) -> Settings:
    """Load and validate; every problem becomes one UserError line naming file, key and reason."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise UserError(f"{path}: file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{path}: not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
        except OSError as exc:
            raise UserError(f"{path}: cannot read: {exc.strerror}") from exc
        if "secrets" in data:
            raise UserError(
                f"{path}: secrets: not allowed in the file; set LISTENING_POST_* environment variables"
            )
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _location(err["loc"]) or "(top level)"
        reason = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise UserError(f"{path}: {where}: {reason}{more}") from exc
    settings.secrets = Secrets.from_environ(environ)
    settings.source_file = Path(path) if path is not None else None
    if path is not None and not settings.general.data_dir.is_absolute():
        settings.general.data_dir = (Path(path).parent / settings.general.data_dir).resolve()
    return settings


def mask(value: str) -> str:
    """Show a secret as its first and last character, like apprise does (``t...n``)."""
    if len(value) <= 4:
        return "****"
    return f"{value[0]}...{value[-1]}"


def masked_view(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets masked, for `config check` and the admin page."""
    view = settings.model_dump(mode="json")
    view["secrets"] = {
        name: (mask(secret.get_secret_value()) if secret is not None else None)
        for name, secret in settings.secrets
    }
    view["alerts"] = {
        key: ([mask_url(u) for u in value] if isinstance(value, list) else value)
        for key, value in view["alerts"].items()
    }
    if view["database"]["url"]:
        view["database"]["url"] = mask_database_url(view["database"]["url"])
    return view


def mask_database_url(url: str) -> str:
    """A database URL with its password hidden (``postgresql://lp:***@db/lp``)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return mask(url)  # not a URL SQLAlchemy reads: show none of it


def mask_url(url: str) -> str:
    """Hide the credentials part of an apprise URL (``scheme://user:pass@host`` -> ``scheme://u...r:****@host``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return mask(url)
    split = re.search(r"[/?]", rest)
    authority, tail = (rest[: split.start()], rest[split.start() :]) if split else (rest, "")
    creds, at, host = authority.rpartition("@")
    if at:
        user, _, _ = creds.partition(":")
        return f"{scheme}://{mask(user)}:****@{host}{tail}"
    # Token services (Slack, Teams webhooks) carry the secret in the host and path: mask it all.
    return f"{scheme}://{mask(rest)}"

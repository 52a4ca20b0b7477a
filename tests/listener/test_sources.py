"""Sources: the settings' [[sources]] as rows, and a connector for each from the settings and secrets."""

from __future__ import annotations

from sqlalchemy import select

from connectors.bluesky import BlueskyConnector
from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.linkedin import LinkedInConnector
from connectors.rss import RssConnector
from connectors.x import XConnector
from listener.intake.session_files import SessionFile
from listener.intake.sources import build_connectors, clear_attention, sync_sources
from listener.settings import Secrets, Settings
from listener.store.db import write_transaction
from listener.store.models import AuditEvent, Source

X_MENTIONS = "x:mentions:@NHSCovWarks"
X_SEARCH = 'x:search:"Coventry and Warwickshire ICB"'
PAGE = "facebook:page:104729318865221"
FEED = "rss:https://news.example/feed"
INSTAGRAM = "instagram:account:17841400000000001"
LINKEDIN = "linkedin:organization:2414183"


def settings(sources: list[dict], **secrets: str) -> Settings:
    s = Settings.model_validate({"sources": sources})
    s.secrets = Secrets(**secrets)
    return s


def rows(engine) -> dict[str, Source]:
    with write_transaction(engine) as s:
        return {r.key: r for r in s.scalars(select(Source))}


def test_sync_adds_updates_and_disables_but_never_deletes(engine):
    with write_transaction(engine) as s:
        enabled = sync_sources(s, settings([{"key": X_MENTIONS}, {"key": FEED, "interval_seconds": 600}]))
    assert enabled == [X_MENTIONS, FEED]
    assert {k: (r.platform, r.interval_seconds, r.enabled) for k, r in rows(engine).items()} == {
        X_MENTIONS: ("x", 120, True),
        FEED: ("rss", 600, True),
    }
    with write_transaction(engine) as s:
        s.scalars(select(Source).where(Source.key == X_MENTIONS)).one().needs_attention = True
        enabled = sync_sources(s, settings([{"key": X_MENTIONS, "interval_seconds": 60}, {"key": PAGE}]))
    after = rows(engine)
    assert enabled == [X_MENTIONS, PAGE]
    assert (after[X_MENTIONS].interval_seconds, after[X_MENTIONS].needs_attention) == (60, True)
    assert after[FEED].enabled is False and after[PAGE].platform == "facebook"


def test_clearing_attention_polls_again_at_once_and_is_audited(engine):
    with write_transaction(engine) as s:
        sync_sources(s, settings([{"key": X_MENTIONS}]))
        source = s.scalars(select(Source)).one()
        source.needs_attention, source.attention_reason, source.errors = True, "token revoked", 4
    with write_transaction(engine) as s:
        clear_attention(s, X_MENTIONS, actor="admin@example.nhs.uk")
    source = rows(engine)[X_MENTIONS]
    assert (source.needs_attention, source.attention_reason, source.errors, source.next_poll_at) == (
        False,
        None,
        0,
        None,
    )
    with write_transaction(engine) as s:
        event = s.scalars(select(AuditEvent)).one()
        assert (event.action, event.actor, event.before["reason"]) == (
            "source.attention_cleared",
            "admin@example.nhs.uk",
            "token revoked",
        )


def test_each_source_gets_its_platforms_connector_shared_per_host():
    built = build_connectors(
        settings(
            [
                {"key": X_MENTIONS, "api_base_url": "http://127.0.0.1:9"},
                {"key": X_SEARCH, "api_base_url": "http://127.0.0.1:9"},
                {"key": PAGE},
                {"key": FEED},
                {"key": "rss:https://paused.example/feed", "enabled": False},
            ],
            x_bearer_token="AAAAAAAAAAAAAAAAAAAAAbearer",
            facebook_page_token="EAAGpagetoken",
        )
    )
    assert set(built.by_source) == {X_MENTIONS, X_SEARCH, PAGE, FEED} and built.unavailable == {}
    assert built.by_source[X_MENTIONS] is built.by_source[X_SEARCH]
    assert isinstance(built.by_source[X_MENTIONS], XConnector)
    assert built.by_source[X_MENTIONS].base_url == "http://127.0.0.1:9"
    assert isinstance(built.by_source[PAGE], FacebookConnector)
    assert isinstance(built.by_source[FEED], RssConnector)
    assert built.by_platform["x"] is built.by_source[X_MENTIONS]  # replies go where the source polls


def test_a_missing_secret_leaves_the_source_unpolled_with_the_reason():
    built = build_connectors(
        settings([{"key": X_MENTIONS}, {"key": PAGE}, {"key": FEED}, {"key": "replay:day.jsonl"}])
    )
    assert set(built.by_source) == {FEED}
    assert "listening-post replay" in built.unavailable["replay:day.jsonl"]
    assert "LISTENING_POST_X_BEARER_TOKEN" in built.unavailable[X_MENTIONS]
    assert "LISTENING_POST_FACEBOOK_PAGE_TOKEN" in built.unavailable[PAGE]
    assert built.by_platform == {}  # replies wait, saying which platform has no connector


def test_replies_can_go_out_for_a_platform_that_is_not_polled():
    built = build_connectors(settings([], x_bearer_token="AAAAAAAAAAAAAAAAAAAAAbearer"))
    assert built.by_source == {} and isinstance(built.by_platform["x"], XConnector)


def test_the_facebook_connector_calls_the_configured_graph_api_version():
    default = build_connectors(settings([{"key": PAGE}], facebook_page_token="EAAGpagetoken"))
    assert default.by_source[PAGE].graph.version == "v21.0"
    chosen = Settings.model_validate({"sources": [{"key": PAGE}], "facebook": {"graph_api_version": "v23.0"}})
    chosen.secrets = Secrets(facebook_page_token="EAAGpagetoken")
    built = build_connectors(chosen)
    assert built.by_source[PAGE].graph.version == "v23.0"
    assert built.by_platform["facebook"] is built.by_source[PAGE]  # the outbox posts with the same version


def test_instagram_polls_with_the_facebook_page_token_and_linkedin_with_its_own():
    chosen = Settings.model_validate(
        {
            "sources": [{"key": INSTAGRAM}, {"key": LINKEDIN}],
            "facebook": {"graph_api_version": "v23.0"},
            "linkedin": {"api_version": "202609"},
        }
    )
    chosen.secrets = Secrets(facebook_page_token="EAAGpagetoken", linkedin_access_token="AQXlinkedintoken")
    built = build_connectors(chosen)
    instagram, linkedin = built.by_source[INSTAGRAM], built.by_source[LINKEDIN]
    assert isinstance(instagram, InstagramConnector) and instagram.client.version == "v23.0"
    assert isinstance(linkedin, LinkedInConnector) and linkedin.client.version == "202609"
    assert built.by_platform["instagram"] is instagram and built.by_platform["linkedin"] is linkedin


def test_linkedin_without_its_token_is_unpolled_with_the_reason():
    built = build_connectors(settings([{"key": LINKEDIN}, {"key": INSTAGRAM}]))
    assert "LISTENING_POST_LINKEDIN_ACCESS_TOKEN" in built.unavailable[LINKEDIN]
    assert "LISTENING_POST_FACEBOOK_PAGE_TOKEN" in built.unavailable[INSTAGRAM]
BSKY_MENTIONS = "bluesky:mentions:@nhscovwarks.bsky.social"
BSKY_SEARCH = "bluesky:search:NHS Coventry"


def test_bluesky_sources_share_one_connector_that_keeps_its_session_in_the_data_dir(tmp_path):
    configured = Settings.model_validate(
        {
            "general": {"data_dir": str(tmp_path)},
            "accounts": [{"platform": "bluesky", "handle": "nhscovwarks.bsky.social"}],
            "sources": [{"key": BSKY_MENTIONS}, {"key": BSKY_SEARCH}],
        }
    )
    configured.secrets = Secrets(bluesky_app_password="abcd-efgh-ijkl-mnop")
    built = build_connectors(configured)
    connector = built.by_source[BSKY_MENTIONS]
    assert isinstance(connector, BlueskyConnector) and built.by_source[BSKY_SEARCH] is connector
    assert built.by_platform["bluesky"] is connector
    assert connector.handle == "nhscovwarks.bsky.social"
    assert connector.store.path == tmp_path / "sessions" / "bluesky-nhscovwarks.bsky.social.session"


def test_bluesky_without_an_app_password_is_not_polled_and_says_which_secret():
    built = build_connectors(settings([{"key": BSKY_MENTIONS}]))
    assert "LISTENING_POST_BLUESKY_APP_PASSWORD" in built.unavailable[BSKY_MENTIONS]
    assert "bluesky" not in built.by_platform


def test_a_session_file_round_trips_and_only_its_owner_can_read_it(tmp_path):
    store = SessionFile.for_account(tmp_path, "bluesky", "@NHS.bsky.social")
    assert store.load() is None
    store.save("handle:::did:::access:::refresh:::https://pds")
    store.save("second")
    assert store.load() == "second"
    assert store.path.name == "bluesky-nhs.bsky.social.session"
    assert store.path.stat().st_mode & 0o077 == 0
    assert [p.name for p in store.path.parent.iterdir()] == [store.path.name]

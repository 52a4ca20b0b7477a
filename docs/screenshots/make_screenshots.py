"""Take the README's screenshots of the queue and item pages.

    .venv/bin/python docs/screenshots/make_screenshots.py [--chromium /usr/bin/chromium]

Builds a throwaway SQLite database with a handful of made-up posts (no real people),
serves the queue UI on a loopback port and saves PNGs beside this script.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from listener.accounts import users
from listener.settings import Settings
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.models import Author, Incident, Mention, QueueItem, Score
from queue_ui.app import create_app
from queue_ui.serve import serve_in_thread

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 3, 4, 11, 20, tzinfo=UTC)
PASSWORD = "screenshots only, not a real password"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# (platform, handle, name, text, label, priority, minutes until due, flags)
POSTS = [
    (
        "x",
        "warks_mum3",
        "Jo Harper",
        "Waited 3 weeks for a call back from the GP surgery about my son's referral. "
        "Still nothing. @NHSCovWarks",
        "negative",
        2,
        -25,
        {
            "is_complaint": True,
            "reasons": ["negative: 'still nothing'", "complaint: waiting for a call back"],
        },
    ),
    (
        "x",
        "sam_in_cov",
        "Sam Okafor",
        "@NHSCovWarks is the walk-in centre on Stoney Stanton Road open on bank holidays?",
        "neutral",
        3,
        18,
        {"is_question": True, "topic": "walk-in centres", "reasons": ["question", "topic: walk-in centres"]},
    ),
    (
        "facebook",
        "priya.shah",
        "Priya Shah",
        "Huge thanks to the district nurses who looked after my dad this week. Kind, patient and brilliant.",
        "positive",
        4,
        300,
        {"is_compliment": True, "reasons": ["positive: 'huge thanks', 'brilliant'"]},
    ),
    (
        "facebook",
        "dave.turner",
        "Dave Turner",
        "Is the minor injuries unit in Rugby still closing at 8pm? Conflicting info online.",
        "neutral",
        3,
        95,
        {"is_question": True, "topic": "minor injuries", "reasons": ["question", "topic: minor injuries"]},
    ),
    (
        "x",
        "leam_runner",
        "Chris Lee",
        "@NHSCovWarks where can I get my flu jab if I work 9-5? #FluJab",
        "neutral",
        3,
        140,
        {"is_question": True, "topic": "vaccinations", "reasons": ["question", "topic: vaccinations"]},
    ),
]


def seed(engine: Engine) -> int:
    """Store the posts; returns the id of the item the item-page screenshot shows."""
    with write_transaction(engine) as session:
        lead = users.add_user(
            session,
            email="alex@example.nhs.uk",
            name="Alex Brown",
            initials="AB",
            role="lead",
            password=PASSWORD,
        )
        users.add_user(
            session,
            email="jo@example.nhs.uk",
            name="Jordan Patel",
            initials="JP",
            role="agent",
            password=PASSWORD,
        )
        session.add(
            Incident(
                episode_key="demo-scans",
                subject="Cancelled scans at the diagnostic centre",
                topic="diagnostics",
                level="alert",
                status="listening",
                opened_at=NOW - timedelta(minutes=40),
                level_changed_at=NOW - timedelta(minutes=40),
            )
        )
        ids = []
        for n, (platform, handle, name, text, label, priority, due, flags) in enumerate(POSTS):
            mention = Mention(
                platform=platform,
                external_id=f"{1000 + n}",
                source_key="x:mentions:@NHSCovWarks" if platform == "x" else "facebook:page:12345",
                kind="mention" if platform == "x" else "comment",
                author=Author(
                    platform=platform, external_id=f"a{n}", handle=handle, name=name, followers=200
                ),
                text=text,
                created_at=NOW - timedelta(minutes=30 + n * 7),
            )
            session.add(mention)
            session.flush()
            compound = {"negative": -0.55, "neutral": 0.0, "positive": 0.86}[label]
            session.add(
                Score(
                    mention_id=mention.id,
                    compound=compound,
                    pos=max(compound, 0),
                    neg=max(-compound, 0),
                    neu=0.5,
                    label=label,
                    priority=priority,
                    reach=200,
                    **flags,
                )
            )
            item = QueueItem(
                mention_id=mention.id,
                priority=priority,
                due_at=NOW + timedelta(minutes=due),
                status="claimed" if n == 3 else "new",
                assignee_id=lead.id if n == 3 else None,
                claimed_at=NOW if n == 3 else None,
                created_at=mention.created_at,
            )
            session.add(item)
            session.flush()
            ids.append(item.id)
        return ids[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/screens.db")
        upgrade(engine)
        item_id = seed(engine)
        app = create_app(Settings(), engine, clock=lambda: NOW, session_secret="screenshots-" + "x" * 32)
        with serve_in_thread(app) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/sign-in")
            page.fill("#email", "alex@example.nhs.uk")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/queue")
            page.goto(f"{base}/queue")
            page.screenshot(path=args.out / "queue.png", full_page=True)
            page.goto(f"{base}/items/{item_id}")
            page.click("text=Claim this item")
            page.wait_for_selector("text=You have claimed this item")
            page.fill(
                "#reply-text",
                "Hi Jo, we're sorry you're still waiting. Please click here to send us a direct message.",
            )
            page.wait_for_selector("#lint-results .lp-finding")
            page.screenshot(path=args.out / "item.png", full_page=True)
            browser.close()
        engine.dispose()
    print(f"saved {args.out / 'queue.png'} and {args.out / 'item.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

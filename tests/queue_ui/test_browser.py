"""The queue in a real browser (headless Chromium): sign in, filter, claim, a race for one item, reply, send,
the keyboard alone, hostile posts, no CSP violations, and axe-core finding no accessibility violations."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from listener.store.db import write_transaction
from listener.store.models import Reply, Source, User
from queue_ui.serve import serve_in_thread
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus axe's best practices.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
GOOD = "Hi Pat, sorry to hear that. Please send us a direct message so we can look into it. ^AB"
BLOCKED = "Hi Pat, we have your NHS number 943 476 5919 on file. ^AB"


@pytest.fixture
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def base_url(app) -> Iterator[str]:
    with serve_in_thread(app) as url:
        yield url


class Watched:
    """A page that records CSP violations and script errors while the test runs."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message) -> None:
        # A 4xx answer to a form (a refused reply, a missing item) is logged too: that is not a problem.
        if message.type == "error" and not message.text.startswith(
            "Failed to load resource: the server responded"
        ):
            self.problems.append(message.text)


@pytest.fixture
def open_page(browser: Browser, base_url: str) -> Callable[..., Watched]:
    contexts = []

    def _open(user: User | None = None) -> Watched:
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        watched = Watched(context.new_page())
        if user is not None:
            sign_in(watched.page, user)
        return watched

    yield _open
    for context in contexts:
        context.close()


def sign_in(page: Page, user: User) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/queue$"))


def assert_accessible(page: Page) -> None:
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def test_sign_in_filter_and_claim(open_page, make_user, seed):
    seed("A question on X", platform="x")
    fb = seed("A comment on Facebook", platform="facebook", source="facebook:page:1")
    user = make_user("agent")
    watched = open_page(user)
    page = watched.page
    expect(page.locator("#queue-table")).to_contain_text("A question on X")
    page.locator(".lp-filters summary").click()
    page.get_by_label("Platform").select_option("facebook")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"platform=facebook"))
    expect(page.locator("#queue-table tbody tr")).to_have_count(1)
    expect(page.locator("#queue-table")).not_to_contain_text("A question on X")
    page.locator(f"#item-link-{fb.item_id}").click()
    page.get_by_role("button", name="Claim this item").click()
    expect(page.get_by_text("You have claimed this item.")).to_be_visible()
    expect(page.locator("#holder")).to_contain_text("(you)")
    assert watched.problems == []


def test_two_browsers_racing_for_one_item_have_one_winner(open_page, make_user, seed):
    item = seed()
    first = open_page(make_user("agent", name="Ada First")).page
    second = open_page(make_user("agent", name="Bo Second")).page
    for page in (first, second):
        page.goto(f"/items/{item.item_id}")
        expect(page.get_by_role("button", name="Claim this item")).to_be_visible()
    # Both press Claim before either page has reloaded.
    first.get_by_role("button", name="Claim this item").click(no_wait_after=True)
    second.get_by_role("button", name="Claim this item").click(no_wait_after=True)
    for page in (first, second):
        page.wait_for_load_state()
        expect(page.locator("#claim-button")).to_have_count(0)
    outcomes = {
        name: page.locator("body").inner_text()
        for name, page in (("Ada First", first), ("Bo Second", second))
    }
    winners = [name for name, text in outcomes.items() if "You have claimed this item." in text]
    assert len(winners) == 1
    loser = next(name for name in outcomes if name not in winners)
    assert f"Already claimed by {winners[0]}" in outcomes[loser]


def test_reply_blocked_by_the_checker_then_fixed_and_sent(open_page, make_user, seed, engine):
    item = seed()
    watched = open_page(make_user("agent"))
    page = watched.page
    page.goto(f"/items/{item.item_id}")
    composer = page.get_by_label("Your reply on X")
    composer.fill(BLOCKED)
    expect(page.locator("#lint-results")).to_contain_text("Stops sending")  # live, before sending
    page.get_by_role("button", name="Send reply").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("stops sending")
    expect(summary).to_be_focused()  # the NHS error summary takes focus for screen readers
    composer = page.get_by_label("Your reply on X")
    expect(composer).to_have_value(BLOCKED)
    composer.fill(GOOD)
    expect(page.locator("#lint-results")).not_to_contain_text("Stops sending")
    expect(page.locator("#reply-count")).to_contain_text("characters left")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply is queued to send.")).to_be_visible()
    expect(page.locator("#reply-status")).to_contain_text("Queued to send")
    with write_transaction(engine) as session:
        assert session.scalars(select(Reply.status)).all() == ["approved"]
    assert watched.problems == []


def test_a_suggested_reply_fills_the_composer(open_page, make_user, seed):
    item = seed(score={"is_complaint": True})
    page = open_page(make_user("agent")).page
    page.goto(f"/items/{item.item_id}")
    page.get_by_role("link", name=re.compile("Use this reply")).first.click()
    expect(page.get_by_label("Your reply on X")).to_have_value(re.compile(r"\^AB$"))
    expect(page).to_have_url(re.compile(rf"/items/{item.item_id}$"))  # filled in place, no reload


def test_a_full_queue_can_be_worked_with_the_keyboard_alone(open_page, make_user, seed, engine):
    first = seed("Urgent post", priority=1)
    second = seed("Next post", priority=2)
    user = make_user("agent")
    page = open_page().page
    page.goto("/sign-in")
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.locator(".nhsuk-skip-link")).to_be_focused()
    page.get_by_label("Email address").focus()
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/queue$"))
    page.locator(f"#item-link-{first.item_id}").focus()
    page.keyboard.press("j")
    expect(page.locator(f"#item-link-{second.item_id}")).to_be_focused()
    page.keyboard.press("k")
    expect(page.locator(f"#item-link-{first.item_id}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/items/{first.item_id}$"))
    tab_to(page, "#claim-button")
    page.keyboard.press("Enter")
    expect(page.get_by_text("You have claimed this item.")).to_be_visible()
    tab_to(page, "#reply-text")
    page.keyboard.type(GOOD)
    tab_to(page, "#send-button")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your reply is queued to send.")).to_be_visible()


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.locator(selector).evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} never received focus by tabbing")


def test_the_queue_refresh_keeps_filters_and_focus(open_page, make_user, seed):
    seed("First facebook", platform="facebook", source="facebook:page:1", priority=1)
    second = seed("Second facebook", platform="facebook", source="facebook:page:1", priority=2)
    page = open_page(make_user("agent")).page
    page.goto("/queue?platform=facebook")
    page.locator(f"#item-link-{second.item_id}").focus()
    with page.expect_response(re.compile(r"/queue/results\?.*platform=facebook")):
        page.evaluate("document.getElementById('queue-results').dispatchEvent(new Event('refresh'))")
    expect(page.locator(f"#item-link-{second.item_id}")).to_be_focused()


def test_hostile_posts_render_inert(open_page, make_user, seed):
    hostile = (
        '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
        '<a href="javascript:window.__pwned=3">click</a> \u202etxet desrever\u200b ' + "long " * 2000
    )
    item = seed(hostile)
    watched = open_page(make_user("agent"))
    page = watched.page
    for path in ["/queue", f"/items/{item.item_id}"]:
        page.goto(path)
        assert page.evaluate("window.__pwned") is None
        assert page.locator("main script, main img[src=x], main a[href^=javascript]").count() == 0
    expect(page.locator(".lp-post__text")).to_contain_text("<script>window.__pwned = 1</script>")


def test_every_page_passes_axe_and_the_csp(open_page, make_user, seed, engine, open_incident):
    fb = seed("A comment with a phone number 07700 900123", platform="facebook", source="facebook:page:1")
    crisis = seed("About the letters", incident_id=open_incident())
    with write_transaction(engine) as session:
        session.add(
            Source(key="x:mentions:@NHSCovWarks", platform="x", needs_attention=True, attention_reason="401")
        )
    admin = make_user("admin")
    anonymous = open_page()
    anonymous.page.goto("/sign-in")
    assert_accessible(anonymous.page)
    anonymous.page.get_by_role("button", name="Sign in").click()  # the error summary
    assert_accessible(anonymous.page)

    watched = open_page(admin)
    page = watched.page
    pages = [
        "/queue",
        "/queue?tab=closed",
        f"/items/{fb.item_id}",
        f"/items/{crisis.item_id}",
        "/help",
        "/audit",
        "/admin",
        "/admin/users",
        "/admin/sources",
        "/admin/templates",
        "/admin/templates/thanks-comment",
        "/admin/settings",
        "/items/999999",
    ]
    for path in pages:
        page.goto(path)
        assert_accessible(page)
    page.goto(f"/items/{fb.item_id}")
    page.get_by_role("button", name="Claim this item").click()
    page.get_by_label("Your reply on Facebook").fill(BLOCKED)
    expect(page.locator("#lint-results")).to_contain_text("Stops sending")
    assert_accessible(page)  # with the live findings shown
    page.get_by_role("button", name="Send reply").click()
    assert_accessible(page)  # with the error summary
    assert watched.problems == [] and anonymous.problems == []


def test_the_item_page_shows_other_viewers(open_page, make_user, seed, clock):
    item = seed()
    first = open_page(make_user("agent", name="Una Viewer")).page
    second = open_page(make_user("agent", name="Dev Viewer")).page
    first.goto(f"/items/{item.item_id}")
    expect(first.locator("#viewers")).to_contain_text("Nobody else")
    second.goto(f"/items/{item.item_id}")
    expect(second.locator("#viewers")).to_contain_text("Also viewing: Una Viewer")
    clock.advance(seconds=5)
    with first.expect_response(re.compile(r"/presence$")):
        first.evaluate("document.getElementById('viewers').dispatchEvent(new Event('refresh'))")
    expect(first.locator("#viewers")).to_contain_text("Also viewing: Dev Viewer")


def test_sla_countdowns_carry_words_and_icons(open_page, make_user, seed):
    seed("late", due_in=timedelta(minutes=-65))
    seed("soon", due_in=timedelta(minutes=20))
    page = open_page(make_user("agent")).page
    page.goto("/queue")
    expect(page.locator(".lp-sla").first).to_have_text(re.compile(r"Overdue by 1 h 5 min"))
    expect(page.locator(".lp-sla").nth(1)).to_have_text(re.compile(r"Due in 20 min"))

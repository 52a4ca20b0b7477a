"""The platform fakes themselves: real servers on loopback, safe to drive from several threads."""

from __future__ import annotations

import threading

import requests

from connectors.base import Checkpoint
from connectors.facebook.fake import FakeGraphApi
from connectors.fake_server import Failure
from connectors.rss.fake import FakeNewsFeed
from connectors.x import XConnector
from connectors.x.fake import FakeXApi


def test_port_zero_gets_a_real_port_and_stop_frees_it() -> None:
    fake = FakeXApi().start()
    port = fake.port
    assert port > 0 and fake.base_url == f"http://127.0.0.1:{port}"
    assert requests.get(f"{fake.base_url}/2/users/me", timeout=5).json()["data"]["username"] == "NHSCovWarks"
    fake.stop()
    with FakeXApi(port=port) as again:  # the port can be bound again at once
        assert again.port == port


def test_posts_added_from_many_threads_while_polling_are_each_fetched_once() -> None:
    with FakeXApi() as fake:
        x = XConnector(bearer_token="token-for-the-fake", base_url=fake.base_url, timeout=5)
        seen: list[str] = []
        checkpoint = Checkpoint()

        def publish(worker: int) -> None:
            for n in range(40):
                fake.add_tweet(author=f"user{worker}", text=f"@NHSCovWarks {worker}-{n}")

        threads = [threading.Thread(target=publish, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            mentions, checkpoint = x.fetch("x:mentions:@NHSCovWarks", checkpoint)
            seen += [m.external_id for m in mentions]
        for thread in threads:
            thread.join()
        mentions, checkpoint = x.fetch("x:mentions:@NHSCovWarks", checkpoint)
        seen += [m.external_id for m in mentions]

    assert len(seen) == 240 and len(set(seen)) == 240


def test_failures_apply_in_order_to_matching_requests_only() -> None:
    with FakeNewsFeed() as fake:
        url = fake.add_feed("a", title="A", link="https://a.example")
        fake.inject(Failure(status=503), path=r"/feeds/a\.xml$", times=2, after=1)
        statuses = [requests.get(url, timeout=5).status_code for _ in range(4)]
        assert statuses == [200, 503, 503, 200]
        assert requests.get(f"{fake.base_url}/feeds/missing.xml", timeout=5).status_code == 404


def test_stop_ends_hung_requests() -> None:
    fake = FakeGraphApi().start()
    fake.inject(Failure(hang=True))
    errors: list[Exception] = []

    def call() -> None:
        try:
            requests.get(f"{fake.base_url}/v21.0/{fake.page_id}/feed", timeout=30)
        except requests.RequestException as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    fake.wait_for_requests(1)  # the request is now being held
    fake.stop()
    caller.join()
    assert len(errors) == 1 and isinstance(errors[0], requests.ConnectionError)


def test_x_fake_checks_page_sizes_like_the_real_api() -> None:
    with FakeXApi() as fake:
        response = requests.get(f"{fake.base_url}/2/users/{fake.me['id']}/mentions?max_results=1", timeout=5)
        assert response.status_code == 400 and "max_results" in response.json()["detail"]


def test_graph_fake_refuses_a_wrong_token() -> None:
    with FakeGraphApi(page_token="right") as fake:
        body = requests.get(f"{fake.base_url}/v21.0/{fake.page_id}/feed?access_token=wrong", timeout=5).json()
        assert body["error"]["code"] == 190

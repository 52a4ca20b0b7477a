"""Hypothesis strategies for what the internet sends: hostile text, junk JSON, nearly right payloads.

"Nearly right" matters: random bytes stop at the first ``json.loads``; a tweets response whose
every field is valid except one reaches the code behind the validation, where bugs hide. So each
field is usually valid and sometimes any JSON value at all (``maybe``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

# Pieces of text that have broken web apps and parsers: markup, script, control and invisible characters.
FRAGMENTS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    '<a href="javascript:window.__pwned=3">click</a>',
    "javascript:alert(1)",
    "]]>",
    "<![CDATA[",
    "&amp;",
    "&#0;",
    "{{ 7*7 }}",
    "{% raw %}",
    "${jndi:ldap://x}",
    '=HYPERLINK("http://x")',
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte order mark
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u200f",  # right-to-left mark
    "שלום",
    "مرحبا",
    "👨‍👩‍👧",
    "🇬🇧",
    "❤️",
    "e\u0301",  # a combining accent
    "\x00",
    "\r\n",
    "\t",
    "\\",
    '"',
    "'",
    "NHS 943 476 5919",
    "07700 900123",
    "pat@example.com",
    "CV1 2AB",
    "01/02/1980",
    "#NHSCovWarks",
    "@NHSCovWarks",
    "https://example.com/a?b=c&d=e",
    "?",
    "!!!",
    "SHOUTING",
    "cancelled",
    "solicitor",
]

hostile_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=12).map("".join),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a valid value, sometimes any JSON value (wrong type, wrong shape, junk)."""
    return st.one_of(valid, valid, valid, json_values)


def _offset(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


# Any moment datetime can hold, in any UTC offset: the extremes overflow when moved to UTC.
aware_datetimes = st.builds(
    lambda moment, offset: moment.replace(tzinfo=_offset(offset)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
time_strings = st.one_of(
    aware_datetimes.map(lambda d: d.isoformat()),
    aware_datetimes.map(
        lambda d: (
            d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") if 1000 < d.year < 9999 else d.isoformat()
        )
    ),
    aware_datetimes.map(lambda d: f"{d:%Y-%m-%dT%H:%M:%S%z}"),  # the Graph API's form: +0000
    st.datetimes(min_value=datetime(1, 1, 1)).map(lambda d: d.isoformat()),  # no offset at all
    st.text(max_size=25),
)

counts = st.integers(min_value=-(2**70), max_value=2**70)
x_ids = st.one_of(
    st.integers(min_value=0, max_value=2**67).map(str), st.from_regex(r"[0-9]{1,20}", fullmatch=True)
)
graph_ids = st.one_of(
    st.from_regex(r"[0-9]{1,30}(_[0-9]{1,30}){0,2}", fullmatch=True), st.integers(min_value=0).map(str)
)

# X API v2 ---------------------------------------------------------------------------------

tweets = st.fixed_dictionaries(
    {"id": maybe(x_ids), "text": maybe(hostile_text)},
    optional={
        "author_id": maybe(x_ids),
        "created_at": maybe(time_strings),
        "conversation_id": maybe(x_ids),
        "in_reply_to_user_id": maybe(x_ids),
        "edit_history_tweet_ids": maybe(st.lists(x_ids, max_size=2)),
        "referenced_tweets": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "type": maybe(st.sampled_from(["replied_to", "quoted", "retweeted"])),
                        "id": maybe(x_ids),
                    }
                ),
                max_size=3,
            )
        ),
        "public_metrics": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "retweet_count": maybe(counts),
                    "reply_count": maybe(counts),
                    "like_count": maybe(counts),
                    "quote_count": maybe(counts),
                },
            )
        ),
        "lang": maybe(st.text(max_size=5)),
        "note_tweet": maybe(st.fixed_dictionaries({"text": maybe(hostile_text)})),
    },
)
x_users = st.fixed_dictionaries(
    {"id": maybe(x_ids), "username": maybe(hostile_text)},
    optional={
        "name": maybe(hostile_text),
        "verified": maybe(st.booleans()),
        "public_metrics": maybe(st.fixed_dictionaries({}, optional={"followers_count": maybe(counts)})),
    },
)
tweets_responses = st.fixed_dictionaries(
    {},
    optional={
        "data": maybe(st.lists(tweets, max_size=4)),
        "includes": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "users": maybe(st.lists(x_users, max_size=3)),
                    "tweets": maybe(st.lists(tweets, max_size=2)),
                },
            )
        ),
        "meta": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "result_count": maybe(counts),
                    "newest_id": maybe(x_ids),
                    "oldest_id": maybe(x_ids),
                    "next_token": maybe(st.text(max_size=10)),
                },
            )
        ),
        "errors": maybe(st.lists(st.dictionaries(st.text(max_size=6), json_values, max_size=3), max_size=2)),
    },
)

# Graph API --------------------------------------------------------------------------------

paging = st.fixed_dictionaries(
    {},
    optional={
        "next": maybe(
            st.sampled_from(
                [
                    "https://graph.facebook.com/v21.0/1/comments?access_token=SECRET&after=x",
                    "https://graph.facebook.com/v21.0/1/feed?after=y",
                    "https://graph.facebook.com/v21.0/1/tagged",
                    "not a url",
                ]
            )
        ),
        "previous": maybe(st.text(max_size=20)),
        "cursors": maybe(st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2)),
    },
)
graph_items: st.SearchStrategy[dict[str, Any]] = st.deferred(
    lambda: st.fixed_dictionaries(
        {"id": maybe(graph_ids), "created_time": maybe(time_strings)},
        optional={
            "message": maybe(hostile_text),
            "story": maybe(hostile_text),
            "updated_time": maybe(time_strings),
            "from": maybe(
                st.fixed_dictionaries({"id": maybe(graph_ids)}, optional={"name": maybe(hostile_text)})
            ),
            "parent": maybe(st.fixed_dictionaries({"id": maybe(graph_ids)})),
            "permalink_url": maybe(st.text(max_size=30)),
            "like_count": maybe(counts),
            "comment_count": maybe(counts),
            "shares": maybe(st.fixed_dictionaries({}, optional={"count": maybe(counts)})),
            "comments": maybe(graph_edges),
        },
    )
)
graph_edges = st.fixed_dictionaries(
    {"data": maybe(st.lists(graph_items, max_size=3))}, optional={"paging": maybe(paging)}
)

# Replay / import stream lines ------------------------------------------------------------

stream_authors = st.fixed_dictionaries(
    {
        "id": maybe(st.text(min_size=1, max_size=10)),
        "handle": maybe(hostile_text),
        "name": maybe(hostile_text),
        "followers": maybe(st.integers(min_value=0, max_value=2**63)),
    }
)
stream_records = st.fixed_dictionaries(
    {
        "platform": maybe(st.sampled_from(["x", "facebook", "rss"])),
        "id": maybe(st.text(min_size=1, max_size=20)),
        "created_at": maybe(time_strings),
        "text": maybe(hostile_text),
        "author": maybe(stream_authors),
        "source": maybe(st.sampled_from(["x:mentions:@NHSCovWarks", "facebook:page:1"])),
    },
    optional={
        "kind": maybe(st.sampled_from(["mention", "comment", "reply", "post", "message", "news"])),
        "in_reply_to": maybe(st.text(max_size=10)),
        "url": maybe(st.text(max_size=20)),
        "lang": maybe(st.text(max_size=4)),
        "reposts": maybe(st.integers(min_value=0, max_value=2**63)),
    },
)


def bodies(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A response body as the parsers take it: a dict, its JSON text or bytes, or junk of any kind."""
    return st.one_of(
        documents,
        documents.map(lambda d: json.dumps(d, ensure_ascii=False)),
        documents.map(lambda d: json.dumps(d).encode()),
        json_values.map(json.dumps),
        st.text(max_size=40),
        st.binary(max_size=40),
    )


# News feeds -------------------------------------------------------------------------------


def _element(tag: str, content: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return content.map(lambda text: f"<{tag}>{text}</{tag}>")


feed_text = st.one_of(hostile_text, hostile_text.map(lambda t: f"<![CDATA[{t}]]>"))
rss_items = st.lists(
    st.sampled_from(["title", "link", "guid", "description", "pubDate", "author"]).flatmap(
        lambda tag: _element(tag, st.one_of(feed_text, time_strings))
    ),
    max_size=5,
).map(lambda parts: "<item>" + "".join(parts) + "</item>")
atom_entries = st.lists(
    st.sampled_from(["title", "id", "summary", "updated", "published", "content"]).flatmap(
        lambda tag: _element(tag, st.one_of(feed_text, time_strings))
    ),
    max_size=5,
).map(lambda parts: "<entry>" + "".join(parts) + "</entry>")
feed_documents = st.one_of(
    st.tuples(feed_text, st.lists(rss_items, max_size=4)).map(
        lambda t: (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{t[0]}</title>'
            f"{''.join(t[1])}</channel></rss>"
        )
    ),
    st.tuples(feed_text, st.lists(atom_entries, max_size=4)).map(
        lambda t: (
            f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{t[0]}</title>{''.join(t[1])}</feed>"
        )
    ),
    st.text(max_size=80),
    st.binary(max_size=80),
)

# Spike detector input --------------------------------------------------------------------

# One line of a CSV file: no line breaks inside (the file reader splits on them), and no double
# quote, which would open a quoted field that runs on over the next lines (one record, many lines).
spike_rows = st.one_of(
    st.tuples(
        st.one_of(aware_datetimes.map(lambda d: d.isoformat()), time_strings),
        st.one_of(
            st.integers(min_value=0, max_value=10**6).map(str),
            st.floats().map(repr),
            st.sampled_from(["-1", "nan", "inf", "1e308", "", "x", "0x10"]),
        ),
    ).map(",".join),
    st.text(max_size=30),
    st.just("timestamp,value"),
).map(lambda line: "".join(line.splitlines()).replace('"', ""))

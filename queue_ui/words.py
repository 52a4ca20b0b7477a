"""Words, not ids: sources by their account names, platforms by name, audit events as sentences."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from connectors.registry import PLATFORM_NAMES as NAMES
from listener.settings import Settings
from listener.store.models import AuditEvent

# In a sentence ("Mention on X", "Post from a news feed") the feeds read as what they are.
PLATFORM_NAMES = {**NAMES, "rss": "a news feed", "replay": "a replayed stream"}


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


def source_name(key: str, settings: Settings) -> str:
    """ "x:mentions:@NHSCovWarks" -> "@NHSCovWarks on X"; an RSS source by its name, else its site."""
    kind, _, rest = key.partition(":")
    if kind == "x" and rest.startswith("mentions:"):
        return f"{rest.removeprefix('mentions:')} on X"
    if kind == "x" and rest.startswith("search:"):
        return f"X search for “{rest.removeprefix('search:')}”"
    if kind == "facebook" and rest.startswith("page:"):
        page = rest.removeprefix("page:")
        named = next((a.name for a in settings.accounts if a.platform == "facebook" and a.handle == page), "")
        return f"{named or 'page ' + page} on Facebook"
    if kind == "instagram" and rest.startswith("account:"):
        ig_id = rest.removeprefix("account:")
        named = next(
            (a.handle for a in settings.accounts if a.platform == "instagram" and a.user_id == ig_id), ""
        )
        return f"@{named} on Instagram" if named else f"account {ig_id} on Instagram"
    if kind == "linkedin" and rest.startswith("organization:"):
        org = rest.removeprefix("organization:")
        named = next((a.name for a in settings.accounts if a.platform == "linkedin" and a.handle == org), "")
        return f"{named or 'organisation ' + org} on LinkedIn"
    if kind == "bluesky" and rest.startswith("mentions:"):
        return f"{rest.removeprefix('mentions:')} on Bluesky"
    if kind == "bluesky" and rest.startswith("search:"):
        return f"Bluesky search for “{rest.removeprefix('search:')}”"
    if kind == "rss":
        configured = next((s.name for s in settings.sources if s.key == key and s.name), "")
        site = urlsplit(rest).hostname or rest
        return f"{configured or site.removeprefix('www.')} news feed"
    if kind == "replay":
        return f"replay of {rest}"
    return key


# Each action as a sentence; {who} is the person (or the worker), {id} the object, the rest from
# the event's before/after. An action not listed is said plainly with its code.
SENTENCES = {
    "item.claim": "{who} claimed item {id}.",
    "item.release": "{who} released item {id} back to the queue.",
    "item.assign": "{who} assigned item {id} to {assignee}.",
    "item.no_reply_needed": "{who} closed item {id} with no reply needed: “{reason}”.",
    "item.escalate": "{who} escalated item {id} to a manager.",
    "item.hide_requested": "{who} asked for the comment of item {id} to be hidden.",
    "item.hidden": "{who} hid the comment of item {id}.",
    "item.tagged": "{who} tagged item {id} “{tag}”.",
    "item.untagged": "{who} removed the tag “{tag}” from item {id}.",
    "item.linked_to_incident": "{who} linked item {id} to incident {incident_id}.",
    "note.added": "{who} added an internal note to item {queue_item_id}.",
    "reply.draft": "{who} saved draft reply {id}.",
    "reply.request_approval": "{who} sent reply {id} for a comms lead's approval.",
    "reply.approve": "{who} approved reply {id}.",
    "reply.lint_override": "{who} overrode the reply checker on reply {id}.",
    "reply.return_to_draft": "{who} sent reply {id} back to its writer: “{note}”.",
    "reply.sent": "{who} sent reply {id}.",
    "reply.failed": "Reply {id} could not be sent.",
    "incident.opened": "{who} opened incident {id} at {level} level.",
    "incident.level_rose": "Incident {id} rose to {level}.",
    "incident.acknowledged": "{who} acknowledged incident {id}.",
    "incident.escalated": "Incident {id} went to the escalation list: nobody acknowledged it.",
    "incident.responding": "{who} started responding to incident {id}.",
    "incident.resolved": "{who} resolved incident {id}.",
    "incident.reopened": "{who} opened incident {id} again.",
    "incident.renamed": "{who} renamed incident {id} “{subject}”.",
    "response.saved": "{who} saved the considered response of incident {id}.",
    "response.signed_off": "{who} signed off response {id}.",
    "response.posted": "{who} posted response {id}.",
    "user.add": "{who} added user {id}.",
    "user.role": "{who} changed the role of user {id}.",
    "user.enable": "{who} changed whether user {id} can sign in.",
    "user.sign_in": "{who} signed in.",
    "user.sign_out": "{who} signed out.",
    "user.locked": "User {id} was locked out after failed sign-ins.",
    "foi.export": "{who} exported records for an FOI request.",
    "retention.run": "{who} applied the retention policy.",
}


def _who(event: AuditEvent, names: Mapping[int, str]) -> str:
    if event.user_id is not None and event.user_id in names:
        return names[event.user_id]
    return {"worker": "The worker", "cli": "The command line"}.get(event.actor, event.actor)


def audit_sentence(event: AuditEvent, names: Mapping[int, str]) -> str:
    """The event in words, e.g. "Ann Agent assigned item 12 to Bo Agent." """
    values: dict[str, Any] = {**(event.before or {}), **(event.after or {})}
    if "assignee_id" in values and values.get("assignee_id") in names:
        values["assignee"] = names[values["assignee_id"]]
    values.update(who=_who(event, names), id=event.object_id or "")
    template = SENTENCES.get(event.action)
    if template is not None:
        try:
            return template.format_map(values)
        except (KeyError, ValueError):
            pass  # an older event without the detail the sentence needs: said plainly below
    said = event.action.replace(".", " ").replace("_", " ")
    return f"{values['who']}: {said} ({event.object_type} {values['id']})."

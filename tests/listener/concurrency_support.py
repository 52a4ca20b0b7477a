"""Races on one object: fresh rows per round, the contested action, and a worker process that joins in.

Each kind names an action people can fire twice at once (a double click, a second tab, two
leads): ``send`` (one agent sends the same item's reply), ``approve`` (leads approve the same
waiting reply), ``sign_off`` (one lead signs the same response for different stakeholders)
and ``listening`` (leads post an incident's listening message, each with their own words).
``attempt`` says "won" or "refused" (the clear answer the loser gets); anything else raises.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from listener.incidents.lifecycle import IncidentClosed
from listener.queue.items import QueueError
from listener.replies import considered_response, drafts, incident_approval, incident_posts
from listener.settings import Settings
from listener.store.db import make_engine, write_transaction
from listener.store.models import AuditEvent, Incident, QueueItem, Reply, Response, SignOff, User
from tests.listener.test_queue import NOW, add_item, add_user

KINDS = ("send", "approve", "sign_off", "listening")
ACCOUNT = "x:mentions:@NHSCovWarks"
STAKEHOLDERS = ["Head of Communications", "Director", "Clinical lead", "Legal adviser"]
SETTINGS = Settings.model_validate({"incidents": {"stakeholders": STAKEHOLDERS}})
TEXT = "Hi, thanks for getting in touch. Please send us a direct message and we will look into it. ^TT"
RESPONSE = "We are sorry. Letters went to the wrong homes. Here is what we are doing. ^TT"


@dataclass(frozen=True)
class People:
    agent_id: int
    lead_ids: tuple[int, ...]


@dataclass(frozen=True)
class Target:
    kind: str
    object_id: int  # the item (send), the reply (approve), the response (sign_off) or the incident


def people(engine: Engine, leads: int = 4) -> People:
    return People(add_user(engine).id, tuple(add_user(engine, "lead").id for _ in range(leads)))


def new_round(engine: Engine, kind: str, who: People) -> Target:
    """Fresh rows for one round, in the schema the whole test shares."""
    if kind == "send":  # the agent has claimed the item, then clicks Send twice
        item_id = add_item(engine, status="claimed")
        with write_transaction(engine) as session:
            session.get_one(QueueItem, item_id).assignee_id = who.agent_id
        return Target(kind, item_id)
    if kind == "approve":
        item_id = add_item(engine)
        with write_transaction(engine) as session:
            reply = drafts.request_approval(
                session,
                item=session.get_one(QueueItem, item_id),
                user=session.get_one(User, who.agent_id),
                text=TEXT,
                settings=SETTINGS,
                now=NOW,
            )
            return Target(kind, reply.id)
    with write_transaction(engine) as session:
        incident = Incident(
            episode_key=uuid.uuid4().hex,
            subject="letters",
            level="crisis",
            status="listening",
            accounts=[ACCOUNT],
            opened_at=NOW,
            level_changed_at=NOW,
        )
        session.add(incident)
        session.flush()
        if kind == "listening":
            return Target(kind, incident.id)
        response = considered_response.save_response(
            session,
            incident=incident,
            user=session.get_one(User, who.lead_ids[0]),
            fmt="post",
            text=RESPONSE,
            checklist={},
            now=NOW,
        )
        return Target(kind, response.id)


def attempt(engine: Engine, target: Target, who: People, contender: int) -> str:
    """One try, in its own transaction: "won", or "refused" (a clear error, or nothing left to do)."""
    try:
        with write_transaction(engine) as session:
            made = _act(session, target, who, contender)
    except (
        drafts.ReplyError,
        QueueError,
        incident_approval.NotPermitted,
        incident_approval.NotReady,
        IncidentClosed,
    ):
        return "refused"
    return "won" if made else "refused"


def _act(session: Any, target: Target, who: People, contender: int) -> bool:
    """Do it; False when it went through but changed nothing (a listening message already posted)."""
    if target.kind == "listening":
        made = incident_posts.post_listening_message(
            session,
            SETTINGS,
            incident=session.get_one(Incident, target.object_id),
            user=session.get_one(User, who.lead_ids[contender % len(who.lead_ids)]),
            text=f"Thank you for telling us: we are looking into it ({contender}). ^TT",
            now=NOW,
        )
        return bool(made)
    if target.kind == "send":  # the same agent, the same item: a double click or a second tab
        drafts.send(
            session,
            item=session.get_one(QueueItem, target.object_id),
            user=session.get_one(User, who.agent_id),
            text=TEXT,
            settings=SETTINGS,
            now=NOW,
        )
    elif target.kind == "approve":  # several leads approve the text they all read
        reply = session.get_one(Reply, target.object_id)
        drafts.approve(
            session,
            reply=reply,
            user=session.get_one(User, who.lead_ids[contender % len(who.lead_ids)]),
            shown_version=drafts.text_version(TEXT),
            now=NOW,
        )
    else:  # one lead signs the same text for a different stakeholder in each tab
        considered_response.sign_off(
            session,
            SETTINGS,
            response=session.get_one(Response, target.object_id),
            user=session.get_one(User, who.lead_ids[0]),
            stakeholder=STAKEHOLDERS[contender % len(STAKEHOLDERS)],
            now=NOW,
        )
    return True


def winners_on_record(engine: Engine, target: Target) -> int:
    """What the database says won: queued replies, approvals, or the lead's sign-offs."""
    with write_transaction(engine) as session:
        if target.kind == "send":
            statement = select(func.count()).where(
                Reply.queue_item_id == target.object_id, Reply.status == "approved"
            )
        elif target.kind == "approve":
            statement = select(func.count()).where(
                AuditEvent.action == "reply.approve", AuditEvent.object_id == str(target.object_id)
            )
        elif target.kind == "sign_off":
            statement = select(func.count()).where(SignOff.response_id == target.object_id)
        else:
            statement = select(func.count()).where(
                Reply.incident_id == target.object_id, Reply.purpose == "listening"
            )
        return session.scalar(statement) or 0


def race_in_threads(engine: Engine, target: Target, who: People, contenders: int) -> list[str]:
    """``contenders`` threads released together by a barrier, each with its own connection."""
    barrier = threading.Barrier(contenders)
    results: list[str] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results.append(attempt(engine, target, who, index))
        except BaseException as exc:  # reported by the test, never swallowed
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def contender_process(url: str, index: int, who: People, tasks: Any, results: Any, barrier: Any) -> None:
    """A second worker process: waits for each round's target, meets the others at the barrier, tries."""
    engine = make_engine(url)
    try:
        while (target := tasks.get()) is not None:
            barrier.wait()
            try:
                results.put(attempt(engine, target, who, index))
            except Exception as exc:  # the parent fails the test with it
                results.put(f"error: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()

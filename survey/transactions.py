"""The one owner of database transactions: a request, or a command, is one unit of work.

Views and use cases change rows through ``db.session`` and never commit or
roll back. The boundary decides, once, at the end:

- every view is wrapped (``init_app``, as Indico's ``RH.process`` and
  Warehouse's transaction manager do): a response below 400 commits; an
  exception, or a response of 400 or above (a form sent back with problems,
  a refusal, a 404), rolls back -- so a service that failed half way leaves
  nothing behind;
- a refusal that must still be kept (a failed sign-in counts towards the
  lockout, a wrong setup code towards the address's limit) says so with
  ``keep_refusal()``; a view that caught a refused change and answers with a
  redirect says ``doom()`` so whatever the service did is undone (as
  pyramid_tm's ``request.tm.doom()``);
- CLI commands that change data are decorated with ``@command_transaction``:
  they commit when the command returns and roll back on any exception,
  ``click.ClickException`` included.

A commit that fails (the database went away, a constraint) raises inside the
view's call, so ``survey.errors`` answers it like any other error (503 with
Retry-After for an unreachable database).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

F = TypeVar("F", bound=Callable[..., Any])

_KEEP_REFUSAL = "_minyi_keep_refusal"
_DOOMED = "_minyi_doomed"

#: Endpoints that never touch the database.
_UNWRAPPED_ENDPOINTS = frozenset({"static"})


_WROTE = "minyi_wrote"


@event.listens_for(Session, "after_flush")
def _note_write(session: Session, flush_context) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement_write(state) -> None:
    # INSERT / UPDATE / DELETE run through session.execute never pass a flush.
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_write(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def _has_changes() -> bool:
    session = db.session
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))


def keep_refusal() -> None:
    """Commit this request's changes although it answers 400 or above."""
    setattr(g, _KEEP_REFUSAL, True)


def doom() -> None:
    """Roll this request's changes back whatever it answers."""
    setattr(g, _DOOMED, True)


def rollback_quietly() -> None:
    """Roll back; on a dead connection the rollback fails too, and then the
    pool drops the connection, which ends the transaction on the server."""
    try:
        db.session.rollback()
    except Exception:  # the caller must still answer
        current_app.logger.debug("rollback after an error failed", exc_info=True)


def _finish(commit: bool) -> None:
    # A request that only read leaves its read transaction to the session's
    # end at teardown: no COMMIT round trip, and its objects stay loaded.
    if not _has_changes():
        return
    if not commit:
        rollback_quietly()
        return
    try:
        db.session.commit()
    except BaseException:
        rollback_quietly()
        raise


def transactional_view(view: F) -> F:
    """Run ``view`` as one unit of work: commit below 400, roll back otherwise."""
    if getattr(view, "is_transactional", False):
        return view

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            rollback_quietly()
            raise
        keep = response.status_code < 400 or g.get(_KEEP_REFUSAL, False)
        _finish(keep and not g.get(_DOOMED, False))
        return response

    wrapper.is_transactional = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def command_transaction(command: F) -> F:
    """Run a CLI command's body as one unit of work: commit when it returns,
    roll back on any exception. Goes below ``@with_appcontext``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            result = command(*args, **kwargs)
        except BaseException:
            rollback_quietly()
            raise
        _finish(True)
        return result

    return wrapper  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    """Wrap every view registered so far (once); call after the blueprints are registered."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint not in _UNWRAPPED_ENDPOINTS:
            app.view_functions[endpoint] = transactional_view(view)

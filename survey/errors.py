"""Error pages: domain errors and HTTP errors become a clear page in the
resident's language; nothing ever shows a stack trace."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError

from .exceptions import AlreadyResponded, ChannelNotFound, InvalidSubmission, RoundNotOpen
from .extensions import db

HTTP_MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to open this page.")),
    404: (_l("Page not found"), _l("This page does not exist. Please check the address or scan the QR code again.")),
    405: (_l("Not allowed"), _l("This action is not allowed here.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    422: (_l("Please check your input"), _l("Some of what you sent could not be accepted.")),
    500: (_l("Something went wrong"), _l("The server could not finish your request. Your answers are kept on this phone; please try again in a moment.")),
}


def _page(status: int, title, message, **context):
    return render_template("errors/error.html", status=status, title=title, message=message, **context), status


#: The error page for other modules (survey.input_guard).
page = _page


def register(app: Flask) -> None:
    @app.errorhandler(ChannelNotFound)
    def _unknown_channel(exc):
        return _page(404, _l("QR code not recognised"),
                     _l("This QR code does not belong to any survey. Please scan the code on the poster again, or ask the community office."))

    @app.errorhandler(RoundNotOpen)
    def _round_not_open(exc: RoundNotOpen):
        if exc.state == "not_open":
            return _page(403, _l("This survey has not started yet"),
                         _l("The survey \"%(name)s\" is not open yet. Please come back when it starts.", name=exc.round_name))
        return _page(403, _l("This survey has ended"),
                     _l("The survey \"%(name)s\" has closed. Thank you for your interest.", name=exc.round_name))

    @app.errorhandler(AlreadyResponded)
    def _already(exc: AlreadyResponded):
        return _page(409, _l("You have already taken part"),
                     _l("This phone has already answered this survey. Each person answers once; thank you for your support!"),
                     forget_token=exc.channel_token)

    @app.errorhandler(InvalidSubmission)
    def _invalid(exc):
        return _page(400, _l("The form could not be accepted"),
                     _l("The form was changed or belongs to another survey. Please scan the QR code again."))

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _page(400, _l("The page has expired"),
                     _l("Please go back: your answers are kept on this phone, and you can send them again."))

    @app.errorhandler(DataError)
    def _data_error(exc):
        # A value the database cannot hold (an integer out of range, a NUL in
        # text) that got past survey.input_guard: the request's fault, not a crash.
        db.session.rollback()
        return _page(400, _l("The request could not be accepted"),
                     _l("Something you sent cannot be stored (a number too large or characters that are not allowed). "
                        "Nothing was saved."))

    @app.errorhandler(InternalServerError)
    def _internal(exc):
        db.session.rollback()
        title, message = HTTP_MESSAGES[500]
        return _page(500, title, message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        title, message = HTTP_MESSAGES.get(status, (exc.name, exc.description))
        return _page(status, title, message)

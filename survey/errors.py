"""Error pages: domain errors and HTTP errors become a clear page in the
resident's language; nothing ever shows a stack trace."""

from __future__ import annotations

from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError

from .database import UNAVAILABLE_ERRORS
from .exceptions import AlreadyResponded, ChannelNotFound, InvalidSubmission, RoundNotOpen, SetupError
from .extensions import login_manager
from .transactions import rollback_quietly

HTTP_MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to open this page.")),
    404: (_l("Page not found"), _l("This page does not exist. Please check the address or scan the QR code again.")),
    405: (_l("Not allowed"), _l("This action is not allowed here.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    422: (_l("Please check your input"), _l("Some of what you sent could not be accepted.")),
    # Says nothing about answers being kept: the server cannot know that
    # (the form script keeps them and retries; a plain form post does not).
    500: (_l("Something went wrong"), _l("The server could not finish your request. Please try again in a moment.")),
    503: (_l("Briefly unavailable"),
          _l("The system cannot reach its database at the moment. Please try again in a moment; "
             "if you were saving something, check afterwards whether it was saved.")),
}

#: Seconds a client is asked to wait (Retry-After) while the database cannot
#: be reached: about how long a PostgreSQL restart takes
#: (``DATABASE_RETRY_AFTER_SECONDS`` in the app's config overrides it).
DATABASE_RETRY_AFTER_SECONDS = 5

#: The form script sends this header (value "1") once it has put the answers
#: in the phone's storage: only then may a reply say they are kept there.
ANSWERS_KEPT_HEADER = "X-Minyi-Answers-Kept"

RESIDENT_UNAVAILABLE = (_l("The survey is briefly unavailable"),
                        _l("Please try again in a moment. This page will try again by itself in %(seconds)s seconds."))
ANSWERS_NOT_SENT_KEPT = (_l("Not sent yet"),
                         _l("Your answers have not been sent yet. They are kept on this phone and will be sent "
                            "automatically in a moment."))
ANSWERS_NOT_SENT = (_l("Not sent yet"),
                    _l("Your answers have not been sent: the survey is briefly unavailable. Please go back and "
                       "press Submit again in a moment. Sending the same answers again never counts them twice."))
ANSWERS_MAYBE_NOT_SENT = (_l("Something went wrong"),
                          _l("Your answers may not have been sent. Please go back and press Submit again in a "
                             "moment. Sending the same answers again never counts them twice."))


def _page(status: int, title, message, **context):
    return render_template("errors/error.html", status=status, title=title, message=message, **context), status


def _as_anonymous() -> None:
    """Render the next page without loading the signed-in user: Flask-Login's
    template context would query the database that just failed."""
    g._login_user = login_manager.anonymous_user()


#: The error page for other modules (survey.input_guard).
page = _page


def _resident_post() -> bool:
    """A resident sending answers (the only POST of the public pages)."""
    return request.blueprint == "public" and request.method == "POST"


def database_unavailable(exc: Exception):
    """503 with Retry-After for a request that could not reach the database.

    Residents read what really happened: the form could not be opened (and
    the page reloads itself), or their answers were not sent -- kept on the
    phone only when the form script says it kept them. The API answers JSON.
    """
    rollback_quietly()
    _as_anonymous()
    current_app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                               str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    seconds = int(current_app.config.get("DATABASE_RETRY_AFTER_SECONDS", DATABASE_RETRY_AFTER_SECONDS))
    if request.blueprint == "api":
        response = jsonify({"error": f"the database is briefly unavailable; retry after {seconds} seconds"})
        response.status_code = 503
    elif _resident_post():
        kept = request.headers.get(ANSWERS_KEPT_HEADER) == "1"
        title, message = ANSWERS_NOT_SENT_KEPT if kept else ANSWERS_NOT_SENT
        response = make_response(_page(503, title, message, back=not kept))
    elif request.blueprint == "public":
        title, message = RESIDENT_UNAVAILABLE
        response = make_response(_page(503, title, str(message) % {"seconds": seconds}))
        # The browser reloads the page by itself (no script needed); once the
        # database is back the form opens and sends any answers kept on the phone.
        response.headers["Refresh"] = str(seconds)
    else:
        title, message = HTTP_MESSAGES[503]
        response = make_response(_page(503, title, message))
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    @app.errorhandler(ChannelNotFound)
    def _unknown_channel(exc):
        return _page(404, _l("QR code not recognised"),
                     _l("This QR code does not belong to any survey. "
                        "Please scan the code on the poster again, or ask the community office."))

    @app.errorhandler(RoundNotOpen)
    def _round_not_open(exc: RoundNotOpen):
        if exc.state == "not_open":
            return _page(403, _l("This survey has not started yet"),
                         _l("The survey \"%(name)s\" is not open yet. Please come back when it starts.",
                            name=exc.round_name))
        return _page(403, _l("This survey has ended"),
                     _l("The survey \"%(name)s\" has closed. Thank you for your interest.", name=exc.round_name))

    @app.errorhandler(AlreadyResponded)
    def _already(exc: AlreadyResponded):
        return _page(409, _l("You have already taken part"),
                     _l("This phone has already answered this survey. "
                        "Each person answers once; thank you for your support!"),
                     forget_token=exc.channel_token)

    @app.errorhandler(InvalidSubmission)
    def _invalid(exc):
        return _page(400, _l("The form could not be accepted"),
                     _l("The form was changed or belongs to another survey. Please scan the QR code again."))

    @app.errorhandler(SetupError)
    def _refused(exc: SetupError):
        # A change a service refused that the view did not answer itself: the
        # request has been rolled back (survey.transactions); say why, in words.
        problems = getattr(exc, "problems", None) or [str(exc)]
        if request.blueprint == "api":
            response = jsonify({"error": " ".join(str(p) for p in problems)})
            response.status_code = 422
            return response
        return _page(422, _l("The change was not made"), " ".join(str(p) for p in problems))

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _page(400, _l("The page has expired"),
                     # Said without knowing whether the phone kept the answers (a plain
                     # POST keeps nothing): true either way.
                     _l("Please go back and press Submit again. If your answers are no longer on the page, "
                        "scan the QR code and answer again. A form sent twice is counted once."))

    @app.errorhandler(DataError)
    def _data_error(exc):
        # A value the database cannot hold (an integer out of range, a NUL in
        # text) that got past survey.input_guard: the request's fault, not a crash.
        rollback_quietly()
        return _page(400, _l("The request could not be accepted"),
                     _l("Something you sent cannot be stored (a number too large or characters that are not allowed). "
                        "Nothing was saved."))

    for error_class in UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, database_unavailable)

    @app.errorhandler(InternalServerError)
    def _internal(exc):
        rollback_quietly()
        _as_anonymous()
        if _resident_post():
            title, message = ANSWERS_MAYBE_NOT_SENT
            return _page(500, title, message, back=True)
        title, message = HTTP_MESSAGES[500]
        return _page(500, title, message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        title, message = HTTP_MESSAGES.get(status, (exc.name, exc.description))
        return _page(status, title, message)

"""Domain errors of the survey app, mapped to pages in ``errors.py``.

    SurveyError
     ├── ChannelNotFound        unknown or mistyped QR token            -> 404
     ├── RoundNotOpen           round not yet open, or closed           -> 403 page
     ├── AlreadyResponded       this device already answered the round  -> 409 page
     ├── InvalidSubmission      tampered or foreign form ticket          -> 400
     └── SetupError             a change refused: bad import, setting or account change -> 422 page
                                (views that re-show their form catch it; any other reaches errors.py)
"""

from __future__ import annotations


class SurveyError(Exception):
    """Base of the survey app's domain errors."""


class ChannelNotFound(SurveyError):
    pass


class RoundNotOpen(SurveyError):
    def __init__(self, state: str, round_name: str):
        super().__init__(f"round {round_name!r} is {state}")
        self.state = state
        self.round_name = round_name


class AlreadyResponded(SurveyError):
    def __init__(self, channel_token: str | None = None):
        super().__init__("this device already answered the round")
        #: Lets the page forget answers the phone still keeps for this channel.
        self.channel_token = channel_token


class InvalidSubmission(SurveyError):
    pass


class SetupError(SurveyError):
    pass

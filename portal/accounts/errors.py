"""The one kind of refusal account operations raise, with a message staff can read in their language."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale


class AccountError(ValueError):
    """An account operation refused: ``message`` is a lazy translated text naming what is wrong.

    ``field`` names the form field it is about (for the form to show it beside that field), if any.
    """

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return message_text(self.message)


def message_text(message) -> str:
    """A lazily translated message as text: in the request's language, or Chinese in a command."""
    from flask import has_request_context

    if has_request_context():
        return str(message)
    with force_locale(current_app.config["DEFAULT_LOCALE"]):
        return str(message)

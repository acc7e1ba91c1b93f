"""The one shape of "no" that domain code gives a user: ``Refused`` and its message in their language."""
from __future__ import annotations


class Refused(ValueError):
    """What a user asked for is refused; ``message`` (a string or a lazy translation) says why, in the
    language of the request — or in Chinese, the default, in a command or the worker."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)

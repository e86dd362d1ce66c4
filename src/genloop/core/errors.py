"""User-facing errors.

Every problem a user can cause (a bad config key, a missing file, an impossible mixing
policy) is raised as :class:`GenloopError` with a one-line message that names the
offending key, value or path. The CLI prints the message alone, never a traceback.
"""

from __future__ import annotations

# Control characters as escapes: a message quotes user text (a column named "a\nb", a
# path with a tab), and a newline in it would break the one-line contract.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {9: "\\t", 10: "\\n", 13: "\\r"}


class GenloopError(Exception):
    """An error caused by the user's input; its message is shown as-is, on one line.

    Control characters in the message (newlines, tabs, escape sequences) are written as
    escapes such as ``\\n``, so that the message stays one line whatever text it quotes.
    """

    def __init__(self, *args):
        if len(args) == 1 and isinstance(args[0], str):
            args = (args[0].translate(_CONTROL),)
        super().__init__(*args)


class ConfigError(GenloopError):
    """An invalid recipe or override: the message names the key and the allowed values."""


class DataError(GenloopError):
    """A missing, unreadable or malformed data file: the message names the file."""

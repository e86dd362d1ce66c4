"""User-facing errors.

Every problem a user can cause (a bad config key, a missing file, an impossible mixing
policy) is raised as :class:`GenloopError` with a one-line message that names the
offending key, value or path. The CLI prints the message alone, never a traceback.
"""

from __future__ import annotations


class GenloopError(Exception):
    """An error caused by the user's input; its message is shown as-is, on one line."""


class ConfigError(GenloopError):
    """An invalid recipe or override: the message names the key and the allowed values."""


class DataError(GenloopError):
    """A missing, unreadable or malformed data file: the message names the file."""

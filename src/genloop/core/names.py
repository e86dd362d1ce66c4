"""Names are data, never paths: the characters a recipe, variant or grid name may hold.

A name becomes part of file and folder names inside a run directory (``units/<variant>
__seed000003.parquet``, ``ledger/<variant>__seed000003/``, ``runs/<recipe>__...``), so a
name holding ``/`` would write into a subfolder that readers never look in, and ``..`` or
an absolute path would write outside the run. Rather than escaping names (two names
could then map to one file), genloop accepts only names that are already safe:

* letters, digits and the characters ``_ - . % + = ,`` and space (every shipped recipe's
  names, e.g. ``keep-10%`` and ``fresh-20%+watermark-miss0.1``, stay valid);
* not starting with ``.`` (no ``.``, ``..`` or hidden files), ``-`` (no option look-alike)
  or a space, and not ending with a space;
* at most :data:`MAX_LENGTH` characters (file names stay far below the usual 255 bytes
  once ``__seed000003.parquet`` is appended).
"""

from __future__ import annotations

import re
from typing import Any

from genloop.core.errors import ConfigError

MAX_LENGTH = 100
ALLOWED = "letters, digits, '_', '-', '.', '%', '+', '=', ',' and space"
_NAME = re.compile(r"[A-Za-z0-9_%+=,][A-Za-z0-9_%+=,. \-]*")


def check_name(key: str, value: Any) -> str:
    """Return ``value`` as a string when it is a safe name, else raise one line.

    Parameters
    ----------
    key : str
        What the name is, for the message (``"name"``, ``"variants"``, ``"grid point"``).
    value : Any
        The name (non-strings such as YAML integers are checked as their text).

    Raises
    ------
    ConfigError
        The name is empty, too long, holds a character outside :data:`ALLOWED` (``/``,
        ``\\``, NUL, ...), starts with ``.``, ``-`` or a space, or ends with a space.
    """
    text = str(value)
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"{key}: {text[:40]!r}... is {len(text)} characters long; a name "
                          f"has at most {MAX_LENGTH}")
    if not _NAME.fullmatch(text) or text.endswith(" "):
        raise ConfigError(f"{key}: {text!r} is not a valid name; use {ALLOWED}, not "
                          "starting with '.', '-' or a space (names become file names "
                          "inside the run directory)")
    return text

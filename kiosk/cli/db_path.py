"""``--db`` of ``backend serve`` and ``queue serve``: a SQLite file this process can create or open.

An unusable ``--db`` must stop the start with one line: before this check ``--db postgresql://host/db`` made a
directory named ``postgresql:`` and ran on a new, empty SQLite file, and a typo in the directory did the same
somewhere unexpected, so a site looked as if it had lost its data. So a URL is refused until the PostgreSQL port
lands, and the directory of an explicit path must already exist and be writable; only the built-in default
locations are created. The refusal names the URL's scheme only: a URL may carry a password.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class DbPathError(ValueError):
    """The ``--db`` value cannot be used; the message is the one line to print."""


def sqlite_path(value: str) -> Path:
    """The SQLite file ``value`` names, checked before anything is created.

    :raises DbPathError: a URL, a directory, or a file whose directory is missing or not writable.
    """
    url = _URL.match(value)
    if url:
        raise DbPathError(f"--db {url.group(1)}://…: this build stores data in SQLite only (PostgreSQL is not "
                          "supported yet); give the path of a SQLite file")
    path = Path(value)
    if path.is_dir():
        raise DbPathError(f"--db {value}: is a directory; give the path of a SQLite file inside it")
    folder = path.parent
    if not folder.is_dir():
        raise DbPathError(f"--db {value}: the directory {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DbPathError(f"--db {value}: the directory {folder} is not writable by this user")
    return path

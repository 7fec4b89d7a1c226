"""Where an output file lands.

Files are written to a temporary file beside the target and renamed, so that
no half-written file is ever left.  Renaming must not replace what the path
names, though: a symbolic link is followed to the file it points at, and a
special file (a terminal, a pipe, ``/dev/stdout``) is written in place.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def destination(path: str | os.PathLike) -> tuple[Path, bool]:
    """The file that writing ``path`` should change, and whether it may be
    replaced by renaming a temporary file onto it.

    Returns
    -------
    (Path, bool)
        The path with symbolic links resolved, and False for an existing
        special file (a device, a FIFO), which is written in place.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return Path(path), False  # as named: /dev/stdout resolves to no file
    return Path(os.path.realpath(path)), True

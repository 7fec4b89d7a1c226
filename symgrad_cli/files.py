"""Writing an output file whole or not at all.

A file is written to a temporary file beside its target and renamed onto it,
so that an error or Ctrl-C never leaves half a file.  Renaming must not
replace what the path names, though: a symbolic link is followed to the file
it points at, and a special file (a terminal, a pipe, ``/dev/stdout``) is
written in place.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
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


@contextlib.contextmanager
def replacing(path: str | os.PathLike):
    """The path to write ``path``'s new content to: a temporary file renamed
    onto the target when the block ends without an error.

    The file keeps an existing file's permissions, or gets those the umask
    gives a new one.  Whatever stops the block, the temporary file is removed.

    Raises
    ------
    OSError
        When the file cannot be written (``IsADirectoryError`` for a folder).
    """
    target, replaceable = destination(path)
    if not replaceable:
        yield target
        return
    if target.is_dir():
        raise IsADirectoryError(21, "it is a directory", str(path))
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(dir=target.parent,
                                         prefix=f".{target.name}.",
                                         suffix=target.suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

"""Loaders for the data sets shipped in the repository's ``samples/`` folder.

Two real data sets are shipped (see ``samples/README`` for their sources,
licences and how they were produced):

* ``samples/digits.npz``: the 1,797 8x8 UCI handwritten digits.
* ``samples/text.txt``: a public-domain English prose excerpt for a
  character-level recurrent network.

Only numpy is needed, and it is imported lazily inside the functions that use
it. Nothing here touches the network.
"""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - for annotations only
    import numpy as np

__all__ = [
    "encode_text",
    "load_digits",
    "load_text",
    "samples_dir",
    "train_test_split",
]

DIGITS_FILE = "digits.npz"
TEXT_FILE = "text.txt"


def samples_dir() -> pathlib.Path:
    """Return the directory holding the shipped sample data.

    ``samples/`` lives at the top level of the repository, next to the
    ``symgrad_cli`` package directory. This covers a source checkout and an
    editable install (``pip install -e .``), in which the package is imported
    from the checkout itself.

    Returns
    -------
    pathlib.Path
        Absolute path of the ``samples`` directory.

    Raises
    ------
    FileNotFoundError
        If no ``samples`` directory exists next to the package's directory
        (for example in a non-editable install, which does not ship it).
    """
    package_dir = pathlib.Path(__file__).resolve().parent
    candidate = package_dir.parent / "samples"
    if not candidate.is_dir():
        raise FileNotFoundError(
            f"sample data directory not found: {candidate} (expected "
            "'samples/' next to the 'symgrad_cli' package; install the "
            "project from a source checkout with 'pip install -e .')"
        )
    return candidate


def _sample_file(name: str) -> pathlib.Path:
    path = samples_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"sample data file not found: {path}")
    return path


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Load the 8x8 UCI handwritten digits.

    Returns
    -------
    images : numpy.ndarray
        Float array of shape ``(1797, 8, 8)``; the stored pixel counts
        ``0..16`` divided by 16, so every value lies in ``[0, 1]``.
    labels : numpy.ndarray
        Integer array of shape ``(1797,)`` with the digit ``0..9`` of each
        image.

    Raises
    ------
    FileNotFoundError
        If ``samples/digits.npz`` cannot be found.
    """
    import numpy as np

    with np.load(_sample_file(DIGITS_FILE)) as data:
        images = data["images"].astype(np.float64) / 16.0
        labels = data["labels"].astype(np.int64)
    return images, labels


def train_test_split(
    n: int, test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into fixed, disjoint train and test index sets.

    The indices are permuted with ``numpy.random.default_rng(seed)``; the
    first ``round(n * test_fraction)`` of the permutation form the test set
    and the rest the training set. The same arguments always give the same
    split.

    Parameters
    ----------
    n : int
        Number of examples; must be at least 2.
    test_fraction : float, optional
        Fraction of the examples held out for testing, strictly between 0
        and 1. Default 0.2, which gives 1438 training and 359 test indices
        for the 1797 digits.
    seed : int, optional
        Seed of the random permutation. Default 0.

    Returns
    -------
    train_idx : numpy.ndarray
        Integer indices of the training examples, in permuted order.
    test_idx : numpy.ndarray
        Integer indices of the test examples, in permuted order.

    Raises
    ------
    ValueError
        If ``n`` is below 2, ``test_fraction`` is not strictly between 0 and
        1, or either part of the split would be empty.
    """
    import numpy as np

    n = int(n)
    if n < 2:
        raise ValueError(f"need at least 2 examples to split, got n={n}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"test_fraction must be strictly between 0 and 1, got {test_fraction}"
        )
    n_test = round(n * float(test_fraction))
    if n_test < 1 or n_test > n - 1:
        raise ValueError(
            f"test_fraction={test_fraction} with n={n} leaves an empty split"
        )
    perm = np.random.default_rng(seed).permutation(n)
    return perm[n_test:], perm[:n_test]


def load_text() -> str:
    """Load the shipped public-domain English prose excerpt.

    Returns
    -------
    str
        The contents of ``samples/text.txt`` (plain ASCII, ``\\n`` line
        endings).

    Raises
    ------
    FileNotFoundError
        If ``samples/text.txt`` cannot be found.
    """
    return _sample_file(TEXT_FILE).read_text(encoding="utf-8")


def encode_text(text: str) -> tuple[np.ndarray, list[str]]:
    """Encode a string as integer character ids over its own alphabet.

    Parameters
    ----------
    text : str
        Text to encode.

    Returns
    -------
    ids : numpy.ndarray
        Integer array of shape ``(len(text),)``; ``ids[i]`` is the position
        of ``text[i]`` in ``alphabet``.
    alphabet : list of str
        The distinct characters of ``text``, sorted, so that
        ``"".join(alphabet[i] for i in ids) == text``.
    """
    import numpy as np

    alphabet = sorted(set(text))
    index = {ch: i for i, ch in enumerate(alphabet)}
    ids = np.fromiter((index[ch] for ch in text), dtype=np.int64, count=len(text))
    return ids, alphabet

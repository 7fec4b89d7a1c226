"""Tests for symgrad_cli/data.py and the data shipped in samples/."""

import importlib.util
import pathlib

import numpy as np
import pytest

_DATA_PY = pathlib.Path(__file__).resolve().parent.parent / "symgrad_cli" / "data.py"


def _load_module():
    # Import the module file directly so the tests do not depend on how (or
    # whether) the symgrad_cli package itself is installed.
    spec = importlib.util.spec_from_file_location("_symgrad_cli_data", _DATA_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


data = _load_module()

# Class counts of the UCI optdigits test set (optdigits.tes), as documented by
# the UCI repository.
UCI_TEST_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


def test_samples_dir_holds_both_files():
    d = data.samples_dir()
    assert d.is_dir()
    assert d.name == "samples"
    assert (d / "digits.npz").is_file()
    assert (d / "text.txt").is_file()
    assert (d / "README").is_file()


def test_digits_shapes_and_dtypes(digits):
    images, labels = digits
    assert images.shape == (1797, 8, 8)
    assert labels.shape == (1797,)
    assert np.issubdtype(images.dtype, np.floating)
    assert np.issubdtype(labels.dtype, np.integer)


def test_digits_labels_cover_all_classes(digits):
    _, labels = digits
    assert set(np.unique(labels).tolist()) == set(range(10))
    counts = np.bincount(labels, minlength=10)
    assert counts.shape == (10,)
    assert counts.sum() == 1797
    assert counts.tolist() == UCI_TEST_COUNTS


def test_digits_pixel_range(digits):
    images, _ = digits
    assert images.min() == 0.0
    assert images.max() == 1.0
    assert np.all((images >= 0.0) & (images <= 1.0))
    # Stored as counts 0..16, so every value is a multiple of 1/16.
    scaled = images * 16.0
    assert np.array_equal(scaled, np.round(scaled))


def test_digits_images_differ(digits):
    images, labels = digits
    assert not np.all(images == images[0])
    flat = images.reshape(len(images), -1)
    assert len(np.unique(flat, axis=0)) > 1700
    # Per-class mean images differ from each other: labels match content.
    means = np.stack([flat[labels == k].mean(axis=0) for k in range(10)])
    dists = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=-1)
    assert dists[~np.eye(10, dtype=bool)].min() > 0.5


def test_digits_first_image_is_a_zero(digits):
    images, labels = digits
    assert labels[0] == 0
    # The first image of sklearn's load_digits, scaled by 1/16.
    assert images[0, 0].tolist() == [v / 16 for v in [0, 0, 5, 13, 9, 1, 0, 0]]


def test_split_sizes_disjoint_covering():
    train, test = data.train_test_split(1797)
    assert len(train) == 1438
    assert len(test) == 359
    assert np.issubdtype(train.dtype, np.integer)
    assert np.intersect1d(train, test).size == 0
    both = np.concatenate([train, test])
    assert np.array_equal(np.sort(both), np.arange(1797))


def test_split_is_stable_and_seeded():
    a_train, a_test = data.train_test_split(1797)
    b_train, b_test = data.train_test_split(1797, test_fraction=0.2, seed=0)
    assert np.array_equal(a_train, b_train)
    assert np.array_equal(a_test, b_test)
    _, c_test = data.train_test_split(1797, seed=1)
    assert not np.array_equal(np.sort(a_test), np.sort(c_test))
    # The split is a real shuffle, not the first/last 20 %.
    assert not np.array_equal(np.sort(a_test), np.arange(1438, 1797))
    assert not np.array_equal(np.sort(a_test), np.arange(359))


@pytest.mark.parametrize(
    "n, frac", [(1, 0.2), (10, 0.0), (10, 1.0), (10, -0.1), (3, 0.01)]
)
def test_split_rejects_bad_arguments(n, frac):
    with pytest.raises(ValueError):
        data.train_test_split(n, test_fraction=frac)


def test_text_length_and_content():
    text = data.load_text()
    assert isinstance(text, str)
    assert 5_000 <= len(text) <= 20_000
    assert "\r" not in text
    assert "Alice" in text
    assert text.isascii()
    letters = sum(ch.isalpha() for ch in text)
    assert letters / len(text) > 0.6


def test_text_encode_round_trip():
    text = data.load_text()
    ids, alphabet = data.encode_text(text)
    assert alphabet == sorted(set(text))
    assert len(alphabet) == len(set(alphabet))
    assert all(len(ch) == 1 for ch in alphabet)
    assert ids.shape == (len(text),)
    assert np.issubdtype(ids.dtype, np.integer)
    assert ids.min() == 0
    assert ids.max() == len(alphabet) - 1
    assert "".join(alphabet[i] for i in ids) == text


def test_encode_small_string():
    ids, alphabet = data.encode_text("abca b")
    assert alphabet == [" ", "a", "b", "c"]
    assert ids.tolist() == [1, 2, 3, 1, 0, 2]
    empty_ids, empty_alphabet = data.encode_text("")
    assert empty_ids.shape == (0,)
    assert empty_alphabet == []


def test_samples_dir_missing_is_a_clear_error(monkeypatch, tmp_path):
    fake = tmp_path / "site-packages" / "symgrad_cli" / "data.py"
    monkeypatch.setattr(data, "__file__", str(fake))
    with pytest.raises(FileNotFoundError, match="samples"):
        data.samples_dir()

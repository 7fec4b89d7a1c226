"""The convolutional and the recurrent model: ``symgrad train cnn|rnn``.

Both are graphs like XOR's (:mod:`symgrad_cli.models`), built from the
operations of :mod:`symgrad_cli.convolution` and the tensor ops, and trained
on the real data shipped in ``samples/`` (:mod:`symgrad_cli.data`).  Each
registers itself in :data:`models.MODELS` when this module is imported,
which :func:`models.spec` does the first time it is asked for a model it
does not know (``models.EXTENSIONS``).

``cnn``
    DESIGN.md's network adapted to 8x8 digits: conv 3x3 (1 to 32 channels,
    padding 1), ReLU, 2x2 max-pool, linear 32*4*4 to 10, softmax
    cross-entropy; scored on the held-out 20% of the digits.
``rnn``
    A character-level Elman network, ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``
    with ``x_t`` one-hot, unrolled over a window of 25 characters: the loss
    is the mean cross-entropy of the next character at every step, in nats
    per character, so backpropagation through time is the ordinary backward
    sweep over the unrolled graph.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from symgrad_cli import convolution as cv
from symgrad_cli import data, lower, ops
from symgrad_cli.errors import InputError
from symgrad_cli.graph import Graph
from symgrad_cli.models import MODELS, Dataset, Layers, Model, ModelSpec, finish

#: Characters per training window of the recurrent network.
RNN_STEPS = 25


# The convolutional network.


def build_cnn(seed: int = 0, batch: int = 32, channels: int = 32) -> Model:
    """The digits classifier, for batches of ``batch`` 8x8 images.

    Parameters are drawn as PyTorch's ``Conv2d`` and ``Linear`` draw them
    (uniform within ``±1/sqrt(fan_in)``).  The ``logits`` output scores the
    ten classes.

    Raises
    ------
    InputError
        When ``batch`` or ``channels`` is below 1.
    """
    if batch < 1 or channels < 1:
        raise InputError(
            f"cnn needs a batch size and channels of 1 or more, got {batch} "
            f"and {channels}"
        )
    g = Graph()
    x, y = g.variable("X", (batch, 1, 8, 8)), g.variable("Y", (batch,))
    layers = Layers(g, seed)
    features = layers.relu(_convolution(layers, x, channels, "1"))
    pooled = cv.flatten(g, cv.maxpool2d(g, features))
    logits = layers.linear(pooled, 10, "2")
    loss = cv.softmax_cross_entropy(g, logits, y)
    return finish("cnn", layers, loss, ["X", "Y"], {"logits": logits},
                  {"channels": channels})


def _convolution(layers: Layers, x: str, channels: int, name: str) -> str:
    """A 3x3 convolution with padding 1 and a bias per output channel."""
    g = layers.graph
    fan_in = g[x].shape[1] * 9
    bound = 1 / math.sqrt(fan_in)
    weight = layers.parameter(f"W{name}", (channels, g[x].shape[1], 3, 3), bound)
    bias = layers.parameter(f"b{name}", (channels,), bound)
    return cv.conv2d(g, x, weight, stride=1, padding=1, bias=bias)


def digits_dataset() -> Dataset:
    """The UCI digits as ``(N, 1, 8, 8)`` images in [0, 1], split 80/20.

    The split is :func:`data.train_test_split`'s with seed 0, fixed.
    """
    images, labels = data.load_digits()
    train, test = data.train_test_split(len(images), 0.2, seed=0)
    images = images[:, None]
    return Dataset({"X": images[train], "Y": labels[train]},
                   {"X": images[test], "Y": labels[test]})


def class_accuracy(outputs: dict, rows: dict) -> float:
    """The fraction of rows whose highest logit is the label's."""
    predicted = np.argmax(outputs["logits"], axis=-1)
    return float(np.mean(predicted == rows["Y"]))


# The recurrent network.


@functools.lru_cache(maxsize=1)
def _text() -> tuple[np.ndarray, tuple[str, ...]]:
    ids, alphabet = data.encode_text(data.load_text())
    ids.setflags(write=False)
    return ids, tuple(alphabet)


def build_rnn(seed: int = 0, batch: int = 32, hidden: int = 64,
              steps: int = RNN_STEPS) -> Model:
    """The character-level Elman network, unrolled over ``steps`` characters.

    Data inputs: ``X`` and ``Y``, ``(batch, steps)`` character ids, ``Y``
    being ``X`` shifted by one character.  The first step starts from a zero
    state.  Parameters are drawn as PyTorch's ``RNN`` and ``Linear`` draw
    them (uniform within ``±1/sqrt(hidden)``).  Outputs ``logits0``, ...:
    the scores of the next character at each step.

    Raises
    ------
    InputError
        When ``batch``, ``hidden`` or ``steps`` is below 1.
    """
    if min(batch, hidden, steps) < 1:
        raise InputError(
            f"rnn needs a batch size, hidden size and steps of 1 or more, got "
            f"{batch}, {hidden} and {steps}"
        )
    classes = len(_text()[1])
    g = Graph()
    x, y = g.variable("X", (batch, steps)), g.variable("Y", (batch, steps))
    layers = Layers(g, seed)
    cell = _elman_parameters(layers, classes, hidden)
    state, losses, outputs = None, [], {}
    for t in range(steps):
        state = _elman_step(g, cell, cv.one_hot(g, cv.take(g, x, t), classes),
                            state)
        logits = _scores(g, cell, state)
        outputs[f"logits{t}"] = logits
        losses.append(cv.softmax_cross_entropy(g, logits, cv.take(g, y, t)))
    loss = ops.div(g, _total(g, losses), steps)
    return finish("rnn", layers, loss, ["X", "Y"], outputs,
                  {"hidden": hidden, "steps": steps})


def _elman_parameters(layers: Layers, classes: int, hidden: int) -> dict:
    bound = 1 / math.sqrt(hidden)
    shapes = {"Wx": (classes, hidden), "Wh": (hidden, hidden), "b": (hidden,),
              "Wy": (classes, hidden), "by": (classes,)}
    return {name: layers.parameter(name, shape, bound)
            for name, shape in shapes.items()}


def _elman_step(g: Graph, cell: dict, x: str, state: str | None) -> str:
    """``tanh(x Wx + state Wh + b)``; no ``state`` term at the first step."""
    total = ops.matmul(g, x, cell["Wx"])
    if state is not None:
        total = ops.add(g, total, ops.matmul(g, state, cell["Wh"]))
    return ops.call(g, "tanh", [ops.add(g, total, cell["b"])])


def _scores(g: Graph, cell: dict, state: str) -> str:
    product = ops.matmul(g, state, ops.transpose(g, cell["Wy"]))
    return ops.add(g, product, cell["by"])


def _total(g: Graph, terms: list[str]) -> str:
    """The sum of scalar nodes, added pairwise: a tree of depth log n."""
    while len(terms) > 1:
        pairs = [ops.add(g, a, b) for a, b in zip(terms[::2], terms[1::2])]
        terms = pairs + terms[len(pairs) * 2:]
    return terms[0]


def text_dataset(steps: int = RNN_STEPS) -> Dataset:
    """``samples/text.txt`` cut into windows of ``steps`` characters.

    ``X`` holds the windows, back to back; ``Y`` the same characters one
    position later.  Scored on itself (there is no held-out text).
    """
    ids, _ = _text()
    windows = (len(ids) - 1) // steps
    inputs = ids[:windows * steps].reshape(windows, steps)
    targets = ids[1:windows * steps + 1].reshape(windows, steps)
    return Dataset({"X": inputs.copy(), "Y": targets.copy()})


def next_character_accuracy(outputs: dict, rows: dict) -> float:
    """The fraction of next characters the highest score predicts."""
    steps = rows["Y"].shape[1]
    predicted = np.stack([np.argmax(outputs[f"logits{t}"], axis=-1)
                          for t in range(steps)], axis=1)
    return float(np.mean(predicted == rows["Y"]))


def vocabulary() -> list[str]:
    """The characters of the shipped text, sorted: the RNN's classes."""
    return list(_text()[1])


def sample_text(parameters: dict[str, np.ndarray], length: int = 200,
                prime: str = "Alice", temperature: float = 0.7,
                seed: int = 0) -> str:
    """Text the trained network writes after ``prime``, one character a step.

    The step (one state update and the next character's scores) is a
    one-row graph, lowered once.  Each character is drawn from
    ``softmax(scores / temperature)``; below 1 the choice is bolder.

    Returns
    -------
    str
        ``prime`` followed by ``length`` generated characters.

    Raises
    ------
    InputError
        When ``prime`` holds a character the text does not, or is empty.
    """
    alphabet = vocabulary()
    index = {ch: i for i, ch in enumerate(alphabet)}
    if not prime or any(ch not in index for ch in prime):
        raise InputError(f"the prime {prime!r} must be non-empty text whose "
                         f"characters all occur in samples/text.txt")
    step = _sampling_step(len(alphabet), parameters["Wh"].shape[0])
    values = [np.asarray(parameters[k]) for k in ("Wx", "Wh", "b", "Wy", "by")]
    state = np.zeros((1, values[1].shape[0]), dtype=values[0].dtype)
    rng = np.random.default_rng(seed)
    written = list(prime)
    for ch in prime[:-1]:
        state, _ = step(np.array([index[ch]]), state, *values)
    current = index[prime[-1]]
    for _ in range(length):
        state, scores = step(np.array([current]), state, *values)
        current = _draw(rng, scores[0], temperature)
        written.append(alphabet[current])
    return "".join(written)


@functools.lru_cache(maxsize=4)
def _sampling_step(classes: int, hidden: int) -> lower.Lowered:
    """``(x, state, *cell) -> (new state, scores)`` for one row."""
    g = Graph()
    x, state = g.variable("X", (1,)), g.variable("h", (1, hidden))
    shapes = {"Wx": (classes, hidden), "Wh": (hidden, hidden), "b": (hidden,),
              "Wy": (classes, hidden), "by": (classes,)}
    cell = {name: g.variable(name, shape) for name, shape in shapes.items()}
    new_state = _elman_step(g, cell, cv.one_hot(g, x, classes), state)
    return lower.lower(g, [new_state, _scores(g, cell, new_state)],
                       ["X", "h", *cell], name="sample_step")


def _draw(rng: np.random.Generator, scores: np.ndarray, temperature: float) -> int:
    scaled = np.asarray(scores, dtype=np.float64) / temperature
    probabilities = np.exp(scaled - scaled.max())
    probabilities /= probabilities.sum()
    return int(rng.choice(len(probabilities), p=probabilities))


def rnn_extras(parameters: dict[str, np.ndarray]) -> dict:
    """The final report's extras: the vocabulary's size and a sample."""
    return {"vocabulary": len(vocabulary()), "sample": sample_text(parameters)}


MODELS["cnn"] = ModelSpec(
    build=build_cnn,
    dataset=digits_dataset,
    accuracy=class_accuracy,
    defaults={"epochs": 10, "optimizer": "adam",
              "lr": {"adam": 0.001, "sgd": 0.05}, "batch_size": 32,
              "report_every": 1},
    description="conv 3x3, ReLU, 2x2 max-pool, linear; 8x8 UCI digits",
)

MODELS["rnn"] = ModelSpec(
    build=build_rnn,
    dataset=text_dataset,
    accuracy=next_character_accuracy,
    defaults={"epochs": 50, "optimizer": "adam",
              "lr": {"adam": 0.01, "sgd": 0.5}, "batch_size": 32,
              "clip": 5.0, "report_every": 1},
    description="character-level Elman RNN, 25 unrolled steps; samples/text.txt",
    extras=rnn_extras,
    show_accuracy=False,
)

"""Models as graphs: layers that add nodes, and the models ``train`` knows.

A model is a graph like any expression's: its parameters and data are input
variables, its layers are nodes built by :mod:`symgrad_cli.ops`, and its
gradient is more nodes, built symbol to symbol by
:func:`symgrad_cli.backward.gradients` before any number is computed.

:data:`MODELS` maps a name to a :class:`ModelSpec`: how to build the model,
the data it trains on, how its accuracy is measured and its training
defaults.  A new model registers itself there::

    MODELS["cnn"] = ModelSpec(build=build_cnn, dataset=digits, ...)

>>> model = build_model("xor", seed=0)
>>> sorted(model.parameters)
['W1', 'W2', 'b1', 'b2']
>>> model.graph[model.loss].shape
()
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from symgrad_cli import backward, ops
from symgrad_cli.errors import InputError
from symgrad_cli.graph import Graph


@dataclass
class Model:
    """A model's graph, with its loss and gradient nodes.

    Attributes
    ----------
    name : str
        The name it is registered under in :data:`MODELS`.
    graph : Graph
        Forward and backward nodes together.
    loss : str
        Node id of the scalar loss.
    parameters : dict
        Initial values, keyed by the parameter's input id.
    data : list of str
        Ids of the data inputs (``"X"``, ``"Y"``).
    gradients : dict
        Parameter id to the node id of d loss / d parameter (or a number
        where the loss does not depend on it).
    outputs : dict
        Further results by name, e.g. ``{"probability": node id}``.
    options : dict
        The options it was built with, to build it again for another batch
        size.
    """

    name: str
    graph: Graph
    loss: str
    parameters: dict[str, np.ndarray]
    data: list[str]
    gradients: dict[str, object]
    outputs: dict[str, str]
    options: dict = field(default_factory=dict)


@dataclass
class Dataset:
    """The arrays a model trains and is scored on, keyed by data input id.

    ``test`` is None when the model is scored on its training data (XOR's
    four points are all there is).
    """

    train: dict[str, np.ndarray]
    test: dict[str, np.ndarray] | None = None

    @property
    def size(self) -> int:
        """The number of training examples."""
        return len(next(iter(self.train.values())))


@dataclass(frozen=True)
class ModelSpec:
    """How to build, feed and score one model.

    Attributes
    ----------
    build : callable
        ``build(seed=..., batch=..., **options) -> Model``; ``batch`` is the
        number of rows of the data inputs the graph is built for.
    dataset : callable
        ``dataset() -> Dataset``.
    accuracy : callable
        ``accuracy(outputs, data) -> float``: the fraction classified right,
        from the model's ``outputs`` evaluated on ``data``.
    defaults : dict
        Training defaults: ``epochs``, ``optimizer``, ``lr`` (a dict by
        optimizer) and ``batch_size`` (None for the whole data set); and
        optionally ``clip`` (a gradient norm) and ``report_every`` (epochs
        between progress lines).
    description : str
        One line for ``--help``.
    extras : callable, optional
        ``extras(parameters) -> dict``: further final results of a trained
        model, shown after the loss (the RNN's vocabulary and a sample).
    show_accuracy : bool
        Whether the final report shows the accuracy.
    """

    build: Callable[..., Model]
    dataset: Callable[[], Dataset]
    accuracy: Callable[[dict, dict], float]
    defaults: dict
    description: str = ""
    extras: Callable[[dict], dict] | None = None
    show_accuracy: bool = True


# Layers.


class Layers:
    """Builds a network's layers into a graph, collecting its parameters.

    Parameters are drawn as PyTorch's ``nn.Linear`` draws them: weights and
    biases uniform within ``±1/sqrt(fan_in)``, in the order the layers are
    added, from one seeded generator.

    Parameters
    ----------
    graph : Graph
    seed : int
    """

    def __init__(self, graph: Graph, seed: int):
        self.graph = graph
        self.rng = np.random.default_rng(seed)
        self.parameters: dict[str, np.ndarray] = {}

    def parameter(self, name: str, shape: tuple, bound: float) -> str:
        """A parameter input, drawn uniformly within ``±bound``.

        Returns
        -------
        str
            The input's id, ``name``.
        """
        self.parameters[name] = self.rng.uniform(-bound, bound, size=shape)
        return self.graph.variable(name, shape)

    def linear(self, x: str, features: int, name: str) -> str:
        """``x @ W.T + b`` for a new weight ``W{name}`` and bias ``b{name}``.

        Returns
        -------
        str
            The layer's output node, of shape ``x.shape[:-1] + (features,)``.

        Raises
        ------
        ShapeError
            When ``x`` is not a matrix of rows.
        """
        fan_in = self.graph[x].shape[-1]
        bound = 1 / math.sqrt(fan_in)
        weight = self.parameter(f"W{name}", (features, fan_in), bound)
        bias = self.parameter(f"b{name}", (features,), bound)
        product = ops.matmul(self.graph, x, ops.transpose(self.graph, weight))
        return ops.add(self.graph, product, bias)

    def relu(self, x: str) -> str:
        """``max(x, 0)`` elementwise; its derivative at 0 follows --kinks."""
        return ops.call(self.graph, "relu", [x])

    def sigmoid(self, x: str) -> str:
        """``1/(1 + exp(-x))`` elementwise."""
        return ops.call(self.graph, "sigmoid", [x])

    def tanh(self, x: str) -> str:
        """``tanh(x)`` elementwise."""
        return ops.call(self.graph, "tanh", [x])

    def binary_cross_entropy(self, logits: str, targets: str) -> str:
        """Mean binary cross-entropy from logits; see
        :func:`ops.binary_cross_entropy_with_logits`."""
        return ops.binary_cross_entropy_with_logits(self.graph, logits, targets)


def finish(name: str, layers: Layers, loss: str, data: list[str],
           outputs: dict[str, str], options: dict) -> Model:
    """A :class:`Model` with the loss's gradient built as graph nodes."""
    g = layers.graph
    wrt = list(layers.parameters)
    gradients = backward.gradients(g, loss, wrt)
    # The sweep also sends cotangents to the data; no result needs them.
    needed = [loss, *outputs.values(), *data, *wrt, *gradients.values()]
    g.prune([n for n in needed if isinstance(n, str)])
    return Model(name, g, loss, layers.parameters, data, gradients, outputs,
                 options)


# XOR.

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float64)


def build_xor(seed: int = 0, hidden: int = 2, batch: int = 4) -> Model:
    """DESIGN.md's 2-2-1 network: ReLU hidden layer, sigmoid output.

    The loss is the binary cross-entropy computed from the logit, and the
    ``probability`` output is the sigmoid of that same logit.

    Returns
    -------
    Model
        Parameters ``W1 (hidden, 2)``, ``b1``, ``W2 (1, hidden)``, ``b2``;
        data ``X (batch, 2)`` and ``Y (batch, 1)``.

    Raises
    ------
    InputError
        When ``hidden`` or ``batch`` is below 1.
    """
    if hidden < 1 or batch < 1:
        raise InputError(
            f"xor needs --hidden and --batch-size of 1 or more, got "
            f"{hidden} and {batch}"
        )
    g = Graph()
    x, y = g.variable("X", (batch, 2)), g.variable("Y", (batch, 1))
    layers = Layers(g, seed)
    h = layers.relu(layers.linear(x, hidden, "1"))
    logit = layers.linear(h, 1, "2")
    loss = layers.binary_cross_entropy(logit, y)
    outputs = {"probability": layers.sigmoid(logit)}
    return finish("xor", layers, loss, ["X", "Y"], outputs, {"hidden": hidden})


def xor_dataset() -> Dataset:
    """The four points of XOR, scored on themselves."""
    return Dataset({"X": XOR_INPUTS.copy(), "Y": XOR_TARGETS.copy()})


def binary_accuracy(outputs: dict, data: dict) -> float:
    """The fraction of rows whose probability is above 0.5 exactly where
    the target is 1 (the probability itself: no second sigmoid)."""
    predicted = np.asarray(outputs["probability"]) > 0.5
    return float(np.mean(predicted == (np.asarray(data["Y"]) > 0.5)))


#: The models ``symgrad train`` knows, by name.
MODELS: dict[str, ModelSpec] = {
    "xor": ModelSpec(
        build=build_xor,
        dataset=xor_dataset,
        accuracy=binary_accuracy,
        defaults={"epochs": 10_000, "optimizer": "sgd",
                  "lr": {"sgd": 0.1, "adam": 0.01}, "batch_size": None},
        description="2-2-1 ReLU network on the four XOR points",
    ),
}


#: Modules that register more models in :data:`MODELS` when imported.  They
#: are imported the first time a name is asked for that is not registered,
#: so ``symgrad train xor`` never loads them.
EXTENSIONS = ["symgrad_cli.networks"]


def _load_extensions() -> None:
    for module in EXTENSIONS:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


def spec(name: str) -> ModelSpec:
    """The registered model ``name``.

    Raises
    ------
    InputError
        For a name not in :data:`MODELS`.
    """
    if name not in MODELS:
        _load_extensions()
    if name not in MODELS:
        raise InputError(
            f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}"
        )
    return MODELS[name]


def build_model(name: str, seed: int = 0, **options) -> Model:
    """Build the registered model ``name`` with seeded initial parameters.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    seed : int
        Seeds the parameters' initial values.
    **options
        The model's own options (xor: ``hidden``, ``batch``).

    Returns
    -------
    Model

    Raises
    ------
    InputError
        For an unknown model or an option the model does not take.
    """
    build = spec(name).build
    accepted = set(inspect.signature(build).parameters) - {"seed"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise InputError(
            f"model {name} takes no option {', '.join(unknown)} (it takes: "
            f"{', '.join(sorted(accepted)) or 'none'})"
        )
    return build(seed=seed, **options)

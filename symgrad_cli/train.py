"""Training from the derived gradient: compile one step, run it many times.

A model's loss and its gradient with respect to every parameter are graph
nodes (:mod:`symgrad_cli.models`).  :func:`compile_step` simplifies that
graph (:mod:`symgrad_cli.rewrite`) and lowers it to one numpy function
returning the loss and every gradient in one call; :func:`train` then calls
it once per batch and hands the gradients to an optimizer
(:mod:`symgrad_cli.optim`).  The loop never touches sympy or the graph.

This module returns values and never prints: progress goes to a callback,
so the command line, a notebook or a test each show it their own way.

>>> from symgrad_cli.models import build_model, xor_dataset
>>> model = build_model("xor", seed=0)
>>> result = train(model, xor_dataset(), Settings(epochs=100, lr=0.1))
>>> result.epochs
100
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import pathlib
import zipfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from symgrad_cli import files, lower, rewrite
from symgrad_cli.errors import DivergedError, InputError, RunError
from symgrad_cli.models import Dataset, Model, build_model, spec
from symgrad_cli.optim import make_optimizer

logger = logging.getLogger(__name__)

#: File formats ``--plot`` writes, by extension.
PLOT_FORMATS = {".png", ".svg", ".pdf", ".jpg", ".jpeg"}


@dataclass
class Settings:
    """How to train.

    Attributes
    ----------
    epochs : int
        Passes over the training data.
    lr : float
        The learning rate.
    optimizer : str
        ``"sgd"`` or ``"adam"``.
    batch_size : int, optional
        Rows per step; None (or more rows than there are) for the whole set.
    seed : int
        Seeds the shuffling of minibatches.
    dtype : str
        ``"float32"`` (as PyTorch) or ``"float64"``.
    momentum : float
        SGD's momentum.
    clip : float, optional
        Scale the gradients down when their joint norm exceeds this
        (PyTorch's ``clip_grad_norm_``).
    """

    epochs: int
    lr: float
    optimizer: str = "sgd"
    batch_size: int | None = None
    seed: int = 0
    dtype: str = "float32"
    momentum: float = 0.0
    clip: float | None = None


@dataclass
class Metrics:
    """A model's loss on its training data and its accuracy."""

    loss: float
    accuracy: float


@dataclass
class Result:
    """What a training run gives back.

    Attributes
    ----------
    loss, accuracy : float
        Evaluated with the final parameters (accuracy on the test split when
        the data set has one).
    epochs : int
        Epochs run.
    seconds : float
        The training loop's time, compiling excluded.
    losses : numpy.ndarray
        The loss of each epoch, as computed during that epoch.
    parameters : dict
        The final parameters, by id.
    accuracies : numpy.ndarray
        With ``score=True``: the accuracy after each report (on the test
        split when there is one); otherwise empty.
    """

    loss: float
    accuracy: float
    epochs: int
    seconds: float
    losses: np.ndarray
    parameters: dict[str, np.ndarray]
    accuracies: np.ndarray = field(default_factory=lambda: np.zeros(0))


# Compiling.


def compile_step(model: Model, dtype: str | None = None,
                 name: str = "step", receive: bool = False) -> lower.Lowered:
    """One numpy function: ``step(*data, *parameters) -> (loss, *gradients)``.

    The gradients come in the order of ``model.parameters``.  The graph is
    simplified first, and only the nodes these outputs need are computed.
    With a ``dtype`` (``"float32"``), the function's constants have that
    type, so it computes in that precision throughout.  With ``receive``,
    it takes one more array per parameter, after the parameters, and
    writes each gradient into it (a matrix product or a sum directly).

    Returns
    -------
    lower.Lowered
        Callable; its ``source`` is the generated code.
    """
    outputs = [model.loss, *(model.gradients[p] for p in model.parameters)]
    into = list(range(1, len(outputs))) if receive else []
    return _compiled(model, outputs, name, dtype, into)


def compile_outputs(model: Model, dtype: str | None = None) -> lower.Lowered:
    """``evaluate(*data, *parameters) -> (loss, *model.outputs values)``.

    Returns
    -------
    lower.Lowered
    """
    outputs = [model.loss, *model.outputs.values()]
    return _compiled(model, outputs, "evaluate", dtype)


def _compiled(model: Model, outputs: list, name: str, dtype: str | None,
              into: list[int] = ()) -> lower.Lowered:
    graph, outputs = rewrite.simplify(model.graph, outputs)
    inputs = [*model.data, *model.parameters]
    return lower.lower(graph, outputs, inputs, name=name, dtype=dtype,
                       into=into)


def step_source(model: Model, dtype: str | None = None) -> str:
    """The step function training runs, as source runnable on its own.

    Returns
    -------
    str
        Imports, helpers, the function taking the data, the parameters and
        one array per parameter to receive its gradient, and a usage line.
    """
    step = compile_step(model, dtype, receive=True)
    return lower.standalone_source(step, list(model.parameters),
                                   plain_numbers=False)


# Training.


def train(model: Model, dataset: Dataset, settings: Settings,
          progress: Callable[[int, float], None] | None = None,
          report_every: int = 1000,
          parameters: dict[str, np.ndarray] | None = None,
          score: bool = False,
          on_batch: Callable[[int, int], None] | None = None) -> Result:
    """Train ``model`` on ``dataset`` and evaluate it.

    Parameters
    ----------
    model : Model
        Built for the whole training set (its data inputs have
        ``dataset.size`` rows); other batch sizes are built as needed.
    dataset : Dataset
    settings : Settings
    progress : callable, optional
        Called as ``progress(epoch, loss)`` after every ``report_every``
        epochs and after the last one.
    report_every : int
    parameters : dict, optional
        Starting values (default: the model's initial ones).
    score : bool
        Also measure the accuracy at every report (on the test split when
        there is one), passed to ``progress`` as a third argument and kept
        in ``Result.accuracies``.  Its time is not training time.
    on_batch : callable, optional
        Called as ``on_batch(done, batches)`` after each minibatch step.

    Returns
    -------
    Result

    Raises
    ------
    DivergedError
        When the loss stops being finite.
    InputError
        For bad settings.
    """
    dtype = _dtype(settings.dtype)
    # Parameters and gradients each live in one flat array, the step
    # function writing each gradient into its part: the optimizer then
    # updates every parameter at once, in a few numpy calls.
    flat, values = _flat_views(parameters or model.parameters, dtype)
    gradient, receivers = _flat_views(model.parameters, dtype, zeros=True)
    data = {k: _cast(v, dtype) for k, v in dataset.train.items()}
    optimizer = _optimizer(settings, [flat])
    update = functools.partial(_clipped(optimizer.step, settings.clip),
                               [gradient])
    arguments = [*values.values(), *receivers.values()]
    epoch = _epoch_function(model, data, arguments, update, settings, on_batch)
    scorer = _scorer(model, dataset, values, settings.dtype) if score else None
    losses: list[float] = []
    accuracies: list[float] = []
    seconds = 0.0
    with np.errstate(all="ignore"):
        for stop in _checkpoints(settings.epochs, report_every):
            start = time.perf_counter()
            for _ in range(len(losses), stop):
                losses.append(epoch())
            seconds += time.perf_counter() - start
            _check_finite(losses[-1], stop)
            scores = (scorer(),) if scorer else ()
            accuracies.extend(scores)
            if progress is not None:
                progress(stop, float(losses[-1]), *scores)
    metrics = evaluate(model, dataset, values, settings.dtype)
    if settings.epochs:
        _check_finite(metrics.loss, settings.epochs)
    return Result(metrics.loss, metrics.accuracy, settings.epochs, seconds,
                  np.asarray(losses, dtype=np.float64),
                  {k: v.copy() for k, v in values.items()},
                  np.asarray(accuracies, dtype=np.float64))


def _epoch_function(model: Model, data: dict, arguments: list, update,
                    settings: Settings,
                    on_batch: Callable | None = None) -> Callable[[], float]:
    """A function running one epoch and returning its loss.

    ``arguments`` follow the data in each call of the step function (the
    parameters, then the arrays receiving the gradients); ``update()``
    applies the gradients.
    """
    rows = len(next(iter(data.values())))
    size = settings.batch_size or rows
    if size >= rows:
        step = compile_step(model, settings.dtype, receive=True)
        return _full_batch(step, data, arguments, update, model)
    steps = {n: compile_step(_built_for(model, n), settings.dtype, receive=True)
             for n in {size, rows % size} - {0}}
    shuffle = np.random.default_rng([settings.seed, 1])
    arrays = [data[k] for k in model.data]
    parameters = list(arguments)

    batches = -(-rows // size)

    def epoch() -> float:
        order = shuffle.permutation(rows)
        total = 0.0
        for begin in range(0, rows, size):
            chosen = order[begin:begin + size]
            result = steps[len(chosen)](*[a[chosen] for a in arrays], *parameters)
            update()
            total += float(result[0]) * len(chosen)
            if on_batch is not None:
                on_batch(begin // size + 1, batches)
        return total / rows

    return epoch


def _full_batch(step, data: dict, arguments: list, update, model: Model):
    """The epoch of full-batch training: one step, nothing else."""
    args = [data[k] for k in model.data] + list(arguments)
    function = step.function

    def epoch():
        loss = function(*args)[0]
        update()
        return loss

    return epoch


def _clipped(update: Callable, max_norm: float | None) -> Callable:
    """``update``, first scaling the gradients to a joint norm of at most
    ``max_norm``, as ``torch.nn.utils.clip_grad_norm_`` does."""
    if not max_norm:
        return update

    def clipped(gradients):
        norm = math.sqrt(sum(float(np.vdot(g, g)) for g in gradients))
        scale = max_norm / (norm + 1e-6)
        if scale < 1:
            gradients = [g * scale for g in gradients]
        update(gradients)

    return clipped


def _flat_views(arrays: dict, dtype, zeros: bool = False) -> tuple:
    """One flat array holding ``arrays`` (or zeros of their shapes), and a
    view of it shaped as each one, by the same keys."""
    shapes = {k: np.shape(v) for k, v in arrays.items()}
    sizes = [math.prod(shape) for shape in shapes.values()]
    flat = np.zeros(sum(sizes), dtype=dtype)
    views, start = {}, 0
    for (key, shape), size in zip(shapes.items(), sizes):
        views[key] = flat[start:start + size].reshape(shape)
        if not zeros:
            views[key][...] = arrays[key]
        start += size
    return flat, views


def _checkpoints(epochs: int, every: int) -> list[int]:
    """The epochs after which progress is reported: multiples, and the last."""
    every = max(1, every)
    marks = list(range(every, epochs, every))
    return marks + [epochs] if epochs else []


def _check_finite(loss, epoch: int) -> None:
    if not math.isfinite(float(loss)):
        raise DivergedError(
            f"training diverged: the loss is {float(loss)} at epoch {epoch}; "
            f"try a smaller --lr"
        )


def _optimizer(settings: Settings, parameters: list[np.ndarray]):
    options = {}
    if settings.momentum:
        if settings.optimizer != "sgd":
            raise InputError("--momentum applies to --optimizer sgd only")
        options["momentum"] = settings.momentum
    return make_optimizer(settings.optimizer, parameters, settings.lr, **options)


def _dtype(name: str):
    if name not in ("float32", "float64"):
        raise InputError(f"--dtype must be float32 or float64, got {name!r}")
    return np.dtype(name)


def _cast(array: np.ndarray, dtype) -> np.ndarray:
    """Floating data in the training precision; integer labels stay."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(dtype)
    return array


def _built_for(model: Model, rows: int) -> Model:
    """``model``, or the same model built for data of ``rows`` rows."""
    if model.graph[model.data[0]].shape[0] == rows:
        return model
    return build_model(model.name, batch=rows, **model.options)


# Evaluating.


def _scorer(model: Model, dataset: Dataset, parameters: dict,
            dtype: str) -> Callable[[], float]:
    """The accuracy of the current ``parameters``, compiled once.

    Scored on the test split when there is one, else on the training data.
    """
    scored = dataset.test if dataset.test is not None else dataset.train
    built = _built_for(model, len(next(iter(scored.values()))))
    function = compile_outputs(built, dtype).function
    data = [_cast(scored[k], _dtype(dtype)) for k in built.data]
    arrays = [parameters[k] for k in built.parameters]
    accuracy = spec(model.name).accuracy

    def score() -> float:
        _, *values = function(*data, *arrays)
        return accuracy(dict(zip(built.outputs, values)), scored)

    return score


def evaluate(model: Model, dataset: Dataset, parameters: dict,
             dtype: str = "float32") -> Metrics:
    """The loss on the training data and the accuracy (on the test split
    when there is one) for the given parameters.

    Returns
    -------
    Metrics
        The loss may be NaN or infinite; nothing checks it here.
    """
    loss, outputs = _outputs(model, dataset.train, parameters, dtype)
    scored = dataset.test if dataset.test is not None else dataset.train
    if dataset.test is not None:
        _, outputs = _outputs(model, dataset.test, parameters, dtype)
    accuracy = spec(model.name).accuracy(outputs, scored)
    return Metrics(loss, accuracy)


def _outputs(model: Model, data: dict, parameters: dict, dtype: str):
    rows = len(next(iter(data.values())))
    built = _built_for(model, rows)
    function = compile_outputs(built, dtype)
    args = [_cast(data[k], _dtype(dtype)) for k in built.data]
    args += [np.asarray(parameters[k], dtype=dtype) for k in built.parameters]
    with np.errstate(all="ignore"):
        loss, *values = function(*args)
    return float(loss), dict(zip(built.outputs, values))


# Files.


def check_writable(path: str, option: str) -> None:
    """Fail now, not after training, when ``path`` cannot be written.

    Raises
    ------
    RunError
        When the folder does not exist or is not writable, or ``path`` is a
        folder.
    """
    target = pathlib.Path(path)
    folder = target.parent if str(target.parent) else pathlib.Path(".")
    if target.is_dir():
        raise RunError(f"{option} {path}: is a folder, not a file")
    if not folder.is_dir():
        raise RunError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise RunError(f"{option} {path}: the folder {folder} is not writable")


@contextlib.contextmanager
def _replacing(path: str, option: str):
    """:func:`files.replacing`, its errors a :class:`RunError` naming the
    option."""
    try:
        with files.replacing(path) as temporary:
            yield str(temporary)
        logger.info("wrote %s", path)
    except OSError as err:
        raise RunError(f"{option} {path}: {err.strerror or err}") from None


def save_parameters(path: str, parameters: dict[str, np.ndarray]) -> None:
    """Write the parameters by name to an ``.npz`` file, atomically.

    Raises
    ------
    RunError
        When the file cannot be written.
    """
    with _replacing(path, "--save") as temporary, open(temporary, "wb") as stream:
        np.savez(stream, **parameters)


def load_parameters(path: str, model: Model) -> dict[str, np.ndarray]:
    """Parameters saved by :func:`save_parameters`, checked against ``model``.

    Returns
    -------
    dict
        Parameter id to array, in ``model.parameters``' order.

    Raises
    ------
    InputError
        When the file is missing or unreadable, or its names or shapes are
        not the model's.
    """
    try:
        with open(path, "rb") as stream:
            stored = np.load(stream, allow_pickle=False)
            if not isinstance(stored, np.lib.npyio.NpzFile):
                raise ValueError("one array, not named arrays")
            loaded = {name: stored[name] for name in stored.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        if isinstance(err, FileNotFoundError | IsADirectoryError | PermissionError):
            raise InputError(f"--load {path}: {err.strerror}") from None
        raise InputError(
            f"--load {path}: not a weights file written by --save (an .npz "
            f"of named arrays of numbers)") from None
    for name, value in loaded.items():
        if value.dtype.kind not in "fiu" or not np.all(np.isfinite(value)):
            raise InputError(
                f"--load {path}: {name} is not an array of finite numbers")
    expected = model.parameters
    if set(loaded) != set(expected):
        raise InputError(
            f"--load {path}: holds {', '.join(sorted(loaded)) or 'nothing'}, "
            f"but model {model.name} has {', '.join(sorted(expected))}"
        )
    for name, value in expected.items():
        if loaded[name].shape != value.shape:
            raise InputError(
                f"--load {path}: {name} has shape {loaded[name].shape}, but "
                f"the model's has shape {value.shape} (was it saved from "
                f"another model, or with another --hidden?)"
            )
    return {name: loaded[name] for name in expected}


def plot_losses(losses: np.ndarray, path: str, title: str = "",
                accuracies: np.ndarray | None = None) -> None:
    """Draw the loss curve to an image file (matplotlib, imported here).

    With ``accuracies`` (one per epoch), a second panel draws them.

    Raises
    ------
    InputError
        For a file extension matplotlib is not asked to write here.
    RunError
        When matplotlib is missing or the file cannot be written.
    """
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise InputError(
            f"--plot {path}: unknown extension; use one of "
            f"{', '.join(sorted(PLOT_FORMATS))}"
        )
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        raise RunError(
            "--plot needs matplotlib: pip install 'symgrad[plot]'"
        ) from None
    panels = 1 if accuracies is None or not len(accuracies) else 2
    figure, panes = pyplot.subplots(1, panels, figsize=(6 * panels, 4), dpi=100,
                                    squeeze=False)
    axes = panes[0][0]
    axes.plot(np.arange(1, len(losses) + 1), losses, linewidth=1)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_yscale("log" if np.all(losses > 0) else "linear")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    if panels == 2:
        _plot_accuracies(panes[0][1], accuracies, len(losses))
    figure.tight_layout()
    try:
        with _replacing(path, "--plot") as temporary:
            figure.savefig(temporary, format=suffix[1:])
    finally:
        pyplot.close(figure)


def _plot_accuracies(axes, accuracies: np.ndarray, epochs: int) -> None:
    """Accuracies measured at evenly spaced reports, the last at ``epochs``."""
    every = epochs / len(accuracies)
    axes.plot(every * np.arange(1, len(accuracies) + 1), accuracies,
              linewidth=1, marker=".", color="tab:green")
    axes.set_xlabel("epoch")
    axes.set_ylabel("test accuracy")
    axes.grid(True, alpha=0.3)

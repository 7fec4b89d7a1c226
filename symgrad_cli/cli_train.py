"""``symgrad train``: the command-line front of :mod:`symgrad_cli.train`.

It reads options, fills in the model's defaults, calls the library and
prints.  The library (and with it sympy and numpy) is imported inside the
command, so ``symgrad --help`` stays quick.
"""

from __future__ import annotations

import json
import math
import os
import sys

import click

from symgrad_cli.errors import InputError


@click.command()
@click.argument("model")
@click.option("--epochs", type=click.IntRange(min=0),
              help="Training epochs  [default: the model's; xor: 10000]")
@click.option("--lr", type=float,
              help="Learning rate  [default: the model's; xor: 0.1 with sgd, "
                   "0.01 with adam]")
@click.option("--optimizer", type=click.Choice(["sgd", "adam"]),
              help="Optimizer  [default: the model's; xor: sgd]")
@click.option("--momentum", type=click.FloatRange(min=0), default=0.0,
              help="SGD momentum.")
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Rows per step  [default: the model's; xor: all 4]")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seeds the initial weights and the batches' order.")
@click.option("--hidden", type=click.IntRange(min=1),
              help="Hidden units (xor, rnn)  [default: xor 2, rnn 64]")
@click.option("--dtype", type=click.Choice(["float32", "float64"]),
              default="float32", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Draw the loss curve (and cnn's test accuracy) to this "
                   "file (.png, .svg, .pdf).")
@click.option("--save", type=click.Path(dir_okay=False),
              help="Write the trained weights to this .npz file.")
@click.option("--load", type=click.Path(dir_okay=False),
              help="Start from weights saved by --save (with --epochs 0, "
                   "only evaluate).")
@click.option("--json", "as_json", is_flag=True,
              help="End with the final metrics as one JSON object.")
@click.option("--quiet", is_flag=True, help="Only the final result.")
@click.option("--show-step", is_flag=True,
              help="Print the generated numpy step function and exit.")
def train(model, epochs, lr, optimizer, momentum, batch_size, seed, hidden,
          dtype, plot, save, load, as_json, quiet, show_step):
    """Train MODEL (xor, cnn or rnn) from its symbol-to-symbol gradient.

    The loss's gradient is built as graph nodes, simplified and lowered to
    one numpy function; each step calls it and updates the weights.  Prints
    the loss every 1,000 epochs (every tenth of the run when it is shorter;
    every epoch for cnn, with the test accuracy, and rnn), then the final
    loss and accuracy (rnn: the loss in nats per character and a sample of
    generated text).
    """
    # The models' matrices are small: one BLAS thread is fastest, and two
    # threads on a busy machine spin against each other (cnn measured five
    # to ten times slower).  Only takes effect before numpy loads; a user's
    # own OPENBLAS_NUM_THREADS wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from symgrad_cli import models
    from symgrad_cli import train as training

    spec = models.spec(model)
    options = {} if hidden is None else {"hidden": hidden}
    dataset = spec.dataset()
    network = models.build_model(model, seed, batch=dataset.size, **options)
    if show_step:
        click.echo(training.step_source(network, dtype), nl=False)
        return
    settings = _settings(spec.defaults, epochs, lr, optimizer, momentum,
                         batch_size, seed, dtype)
    for path, option in ((save, "--save"), (plot, "--plot")):
        if path:
            training.check_writable(path, option)
    start = training.load_parameters(load, network) if load else None
    if plot and not settings.epochs:
        raise InputError("--plot needs at least one epoch to draw")

    result = _run(training, network, dataset, settings, start, quiet, spec)

    if save:
        training.save_parameters(save, result.parameters)
    if plot:
        training.plot_losses(result.losses, plot, f"symgrad train {model}",
                             result.accuracies)
    _report(result, dataset, as_json, quiet, spec)


def _settings(defaults, epochs, lr, optimizer, momentum, batch_size, seed,
              dtype):
    from symgrad_cli.train import Settings

    optimizer = optimizer or defaults["optimizer"]
    return Settings(
        epochs=defaults["epochs"] if epochs is None else epochs,
        lr=defaults["lr"][optimizer] if lr is None else lr,
        optimizer=optimizer,
        batch_size=batch_size or defaults["batch_size"],
        seed=seed,
        dtype=dtype,
        momentum=momentum,
        clip=defaults.get("clip"),
    )


def epoch_interval(epochs: int) -> int:
    """Epochs between progress lines: 1,000, or a tenth of a shorter run."""
    return min(1000, max(1, epochs // 10))


def _run(training, network, dataset, settings, start, quiet, spec):
    """Train, printing epoch lines and, on a terminal, a progress bar.

    A model trained in minibatches gets a bar over each epoch's batches;
    one trained on its whole data set, a bar over the epochs.  A model with
    a test split has its test accuracy measured at each line.
    """
    interval = spec.defaults.get("report_every") or epoch_interval(settings.epochs)
    batched = bool(settings.batch_size) and settings.batch_size < dataset.size
    bar = None
    if not quiet and settings.epochs and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=None if batched else settings.epochs,
                   unit="batch" if batched else "epoch", leave=False,
                   file=sys.stderr, dynamic_ncols=True)
    shown = [0]

    def progress(epoch: int, loss: float, accuracy: float | None = None) -> None:
        if bar is not None and not batched:
            bar.update(epoch - shown[0])
            shown[0] = epoch
        if not quiet and (epoch % interval == 0 or epoch == settings.epochs):
            line = f"Epoch [{epoch}/{settings.epochs}], Loss: {loss:.4f}"
            if accuracy is not None:
                line += f", Test accuracy: {accuracy:.4f}"
            if bar is not None:
                bar.write(line, file=sys.stdout)
            else:
                click.echo(line)

    def on_batch(done: int, batches: int) -> None:
        if done == 1:
            shown[0] += 1
            bar.reset(total=batches)
            bar.set_description(f"Epoch {shown[0]}/{settings.epochs}")
        bar.update(1)

    every = max(1, interval // 10) if bar is not None and not batched else interval
    try:
        return training.train(network, dataset, settings, progress, every,
                              start, score=dataset.test is not None,
                              on_batch=on_batch if bar is not None and batched
                              else None)
    finally:
        if bar is not None:
            bar.close()


def _report(result, dataset, as_json: bool, quiet: bool, spec) -> None:
    extras = spec.extras(result.parameters) if spec.extras else {}
    if as_json:
        metrics = {"loss": _finite(result.loss), "accuracy": result.accuracy,
                   "epochs": result.epochs, "seconds": round(result.seconds, 6)}
        if not spec.show_accuracy:
            del metrics["accuracy"]
        click.echo(json.dumps({**metrics, **extras}))
        return
    if not quiet and result.epochs:
        epochs = f"{result.epochs} epoch{'' if result.epochs == 1 else 's'}"
        click.echo(f"Trained {epochs} in {result.seconds:.2f} s "
                   f"({_duration(result.seconds / result.epochs)} an epoch)")
    click.echo(f"Final loss: {result.loss:.4f}")
    if spec.show_accuracy:
        scored = dataset.test if dataset.test is not None else dataset.train
        rows = len(next(iter(scored.values())))
        correct = round(result.accuracy * rows)
        click.echo(f"Accuracy: {result.accuracy:.4f} ({correct} of {rows} "
                   f"correct)")
    for name, value in extras.items():
        shown = f"\n{value}" if isinstance(value, str) else f" {value}"
        click.echo(f"{name.capitalize()}:{shown}")


def _duration(seconds: float) -> str:
    """``12.3 µs`` below a millisecond, ``45.6 ms`` above."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.1f} ms"


def _finite(value: float):
    """A float JSON can hold: non-finite ones as strings, as ``diff`` does."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")

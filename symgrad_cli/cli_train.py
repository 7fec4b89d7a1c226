"""``symgrad train``: the command-line front of :mod:`symgrad_cli.train`."""

from __future__ import annotations

import click

from symgrad_cli.errors import InputError


@click.command()
@click.argument("model")
@click.option("--epochs", type=click.IntRange(min=0), help="Training epochs.")
@click.option("--lr", type=float, help="Learning rate.")
@click.option("--optimizer", type=click.Choice(["sgd", "adam"]))
@click.option("--batch-size", type=click.IntRange(min=1))
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--dtype", type=click.Choice(["float32", "float64"]),
              default="float32", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), help="Loss curve PNG.")
@click.option("--save", type=click.Path(dir_okay=False), help="Weights .npz.")
@click.option("--load", type=click.Path(dir_okay=False), help="Start from .npz.")
@click.option("--json", "as_json", is_flag=True, help="Final metrics as JSON.")
@click.option("--quiet", is_flag=True, help="Only the final result.")
def train(model, **options):
    """Train MODEL (xor, cnn or rnn) from its symbol-to-symbol gradient."""
    raise InputError(f"training {model!r} is not available yet")

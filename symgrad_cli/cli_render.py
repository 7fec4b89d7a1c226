"""``symgrad render``: the command-line front of :mod:`symgrad_cli.render`."""

from __future__ import annotations

import click

from symgrad_cli.errors import InputError


@click.command()
@click.argument("expr", required=False)
@click.option("--model", type=click.Choice(["xor", "cnn", "rnn"]))
@click.option("--wrt", metavar="X,Y")
@click.option("--order", type=click.IntRange(min=1), default=1)
@click.option("--at", "at", metavar="NAME=VALUE,...")
@click.option("--out", type=click.Path(dir_okay=False), default="graph.png",
              show_default=True)
def render(expr, **options):
    """Draw EXPR's forward graph and its derivative graph."""
    raise InputError("render is not available yet")

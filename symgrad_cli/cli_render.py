"""``symgrad render``: the command-line front of :mod:`symgrad_cli.render`."""

from __future__ import annotations

import click

from symgrad_cli.errors import InputError, RunError

#: Kept equal to ``render.FORMATS``; repeated so ``--help`` imports no numpy.
FORMATS = ("png", "svg", "pdf", "dot")
MODELS = ("xor", "cnn", "rnn")
MAX_NODES = 200


@click.command()
@click.argument("expr", required=False)
@click.option("--out", type=click.Path(), default="graph.png", show_default=True,
              help="The picture to write; its extension (.png .svg .pdf .dot) "
                   "gives the format.")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="The format, whatever the extension of --out.")
@click.option("--model", type=click.Choice(MODELS),
              help="Draw a built-in model's loss and gradient graph "
                   "(without EXPR: xor).")
@click.option("--wrt", metavar="X,Y", help="Differentiate EXPR with respect to "
              "these variables or named results (default: every variable).")
@click.option("--order", type=click.IntRange(min=1), default=1,
              show_default=True, help="Derivative order of EXPR.")
@click.option("--at", "at", metavar="NAME=VALUE,...",
              help="Show each node's value and gradient at this point.")
@click.option("--kinks", type=click.Choice(["pytorch", "jax", "sympy"]),
              default="pytorch", show_default=True,
              help="Whose values hold where a derivative does not exist.")
@click.option("--forward-only", is_flag=True,
              help="Leave the derivative nodes out.")
@click.option("--rankdir", type=click.Choice(["TB", "LR"]), default="TB",
              show_default=True, help="Left to right, or top to bottom.")
@click.option("--max-nodes", type=click.IntRange(min=1), default=MAX_NODES,
              show_default=True,
              help="Above this many nodes, merge repeated nodes into boxes.")
def render(expr, out, fmt, model, wrt, order, at, kinks, forward_only, rankdir,
           max_nodes):
    """Draw EXPR's forward graph and its derivative graph in one picture.

    Without EXPR, draws the XOR network's loss and its gradient graph.
    Derivative nodes are shaded by order, with a dashed edge to the node each
    is the derivative for.  Needs Graphviz's dot program for PNG, SVG and PDF.

    \b
      symgrad render --out graph.png
      symgrad render "sigmoid(w*x+b)" --at w=0.5,x=2,b=0.1 --out g.svg
    """
    from symgrad_cli import render as drawing

    fmt = drawing.output_format(out, fmt)
    options = {"forward_only": forward_only, "rankdir": rankdir,
               "max_nodes": max_nodes}
    if expr is not None and model is None:
        rendering = _draw_expression(expr, wrt, order, kinks, at, options)
    else:
        rendering = _draw_model(expr, model or "xor", wrt, order, at, options)

    path = rendering.save(out, fmt)
    click.echo(f"wrote {path}: {_summary(rendering)}")
    if rendering.message:
        click.echo(f"note: {rendering.message} (raise --max-nodes to draw every "
                   f"node)", err=True)


def _draw_expression(expr, wrt, order, kinks, at, options):
    from symgrad_cli import render as drawing
    from symgrad_cli.cli import build

    derivation, values = build(expr, wrt, order, kinks, at)
    return drawing.draw_derivation(derivation, values, **options)


def _draw_model(expr, name, wrt, order, at, options):
    from symgrad_cli import api
    from symgrad_cli import render as drawing

    if expr is not None:
        raise InputError(f"give EXPR or --model, not both (got {expr!r} and "
                         f"--model {name})")
    if wrt is not None or order != 1:
        raise InputError("--wrt and --order apply to EXPR; a model is drawn "
                         "with its loss's gradient for every parameter")
    try:
        from symgrad_cli.models import build_model
    except ImportError:
        raise RunError("the built-in models are not available in this "
                       "installation of symgrad") from None
    values = api.parse_values(at) if at else None
    return drawing.draw_model(build_model(name), values, **options)


def _summary(rendering) -> str:
    """``9 nodes: 1 input, 2 parameters, 3 forward, 3 derivative``."""
    counts = rendering.counts
    parts = []
    for kind, one, many in [("input", "input", "inputs"),
                            ("parameter", "parameter", "parameters"),
                            ("constant", "constant", "constants"),
                            ("forward", "forward", "forward"),
                            ("backward", "derivative", "derivative")]:
        if counts.get(kind):
            parts.append(f"{counts[kind]} {one if counts[kind] == 1 else many}")
    total = sum(counts.values())
    shown = f" in {rendering.boxes} boxes" if rendering.coarse else ""
    return f"{total} nodes{shown} ({', '.join(parts)})"

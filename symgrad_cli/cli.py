"""The command line: parses options, calls the library, prints.

Start-up is kept short: sympy and numpy are imported inside the commands
that need them, so ``symgrad --help`` loads neither.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import click

from symgrad_cli import __version__
from symgrad_cli.errors import ParseError, SymgradError

FORMATS = ["text", "json", "latex", "python"]
KINKS = ["pytorch", "jax", "sympy"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="symgrad")
def cli():
    """symgrad: symbol-to-symbol differentiation.

    Derivatives are built as new graph nodes you can print, draw, simplify,
    differentiate again and run with numpy.
    """


def read_expression(expr: str) -> str:
    """The expression argument, read from standard input when it is ``-``."""
    if expr == "-":
        return sys.stdin.read()
    return expr


def at_option(function):
    return click.option(
        "--at", "at", metavar="NAME=VALUE,...",
        help="Evaluate at this point: x=1,v=[1,2,3] (JSON numbers or lists; "
             "nan, inf, -inf accepted).",
    )(function)


def wrt_option(function):
    return click.option(
        "--wrt", metavar="X,Y", help="Differentiate with respect to these "
        "variables or named results (default: every variable, sorted).",
    )(function)


def order_option(function):
    return click.option(
        "--order", type=click.IntRange(min=1), default=1, show_default=True,
        help="Derivative order: 2 gives every second partial.",
    )(function)


def kinks_option(function):
    return click.option(
        "--kinks", type=click.Choice(KINKS), default="pytorch",
        show_default=True,
        help="Whose values hold where a derivative does not exist "
             "(relu'(0), abs'(0), step(0)).",
    )(function)


def split_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise SymgradError("--wrt needs at least one name")
    return names


def build(expr: str, wrt, order: int, kinks: str, at: str | None):
    """The derivation of ``expr`` and the parsed ``--at`` values."""
    from symgrad_cli import api

    values = api.parse_values(at) if at else None
    shapes = api.shapes_of(values) if values else None
    derivation = api.differentiate(read_expression(expr), split_names(wrt),
                                   order, kinks, shapes)
    return derivation, values


@cli.command()
@click.argument("expr")
@wrt_option
@order_option
@at_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="What to print.")
@kinks_option
def diff(expr, wrt, order, at, fmt, kinks):
    """Differentiate EXPR symbol to symbol and print the derivative graph.

    EXPR is an expression or a program (statements separated by ';'); '-'
    reads it from standard input.  An expression starting with '-' follows
    '--':  symgrad diff -- "-x^2"
    """
    from symgrad_cli import report

    derivation, values = build(expr, wrt, order, kinks, at)
    evaluated = derivation.evaluate(values) if values is not None else None
    if fmt == "json":
        click.echo(json.dumps(report.as_json(derivation, evaluated)))
    elif fmt == "latex":
        click.echo(report.as_latex(derivation))
    elif fmt == "python":
        click.echo(derivation.source(), nl=False)
    else:
        click.echo(report.as_text(derivation, evaluated, values), nl=False)


@cli.command()
@click.argument("expr")
@wrt_option
@at_option
@kinks_option
@click.option("--points", type=click.IntRange(min=1), default=5,
              show_default=True, help="Random points to try without --at.")
@click.option("--seed", type=int, default=0, show_default=True)
def check(expr, wrt, at, kinks, points, seed):
    """Check EXPR's derivatives against sympy.diff and finite differences.

    Prints a table; exits with status 1 when they disagree.
    """
    from symgrad_cli import checking

    derivation, values = build(expr, wrt, 1, kinks, at)
    result = checking.check(derivation, values, points=points, seed=seed)
    click.echo(checking.table(result), nl=False)
    if not result.agrees:
        raise SystemExit(1)


def _register_optional_commands():
    from symgrad_cli.cli_render import render
    from symgrad_cli.cli_train import train

    cli.add_command(train)
    cli.add_command(render)


_register_optional_commands()


def _report_warnings(caught) -> None:
    seen = set()
    for warning in caught:
        text = str(warning.message)
        if text not in seen:
            seen.add(text)
            click.echo(f"warning: {text}", err=True)


def main(argv: list[str] | None = None) -> None:
    """The console script: run the command line, map errors to exit statuses.

    A user's mistake prints one message (a parse error adds the expression
    and a caret) and exits with the status of DESIGN.md's table; a closed
    pipe is not an error; Ctrl-C exits with 130.
    """
    status = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cli.main(args=argv, prog_name="symgrad", standalone_mode=False)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            status = 130
        except click.ClickException as err:
            err.show()
            status = err.exit_code
        except ParseError as err:
            click.echo(f"error: {err.pretty()}", err=True)
            status = err.exit_status
        except SymgradError as err:
            click.echo(f"error: {err}", err=True)
            status = err.exit_status
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            status = 130
        except BrokenPipeError:
            _silence_stdout()
            status = 0
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 0
            if _pipe_closed():
                status = 0
        except OSError as err:
            click.echo(f"error: cannot write the output: "
                       f"{err.strerror or err}", err=True)
            status = 1
        except RecursionError:
            click.echo("error: the input is nested too deeply", err=True)
            status = 2
        except Exception as err:  # a bug of ours: say so, briefly
            if os.environ.get("SYMGRAD_DEBUG"):
                raise
            click.echo(f"error: internal error ({type(err).__name__}: {err}); "
                       f"set SYMGRAD_DEBUG=1 for the traceback", err=True)
            status = 1
    _report_warnings(caught)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    sys.exit(status)


def _pipe_closed() -> bool:
    """True when click met a closed pipe (``symgrad train | head -1``): it
    then wraps the standard streams and exits with 1, which is no error."""
    return type(sys.stdout).__name__ == "_PacifyFlushWrapper"


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at devnull so exit is quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())

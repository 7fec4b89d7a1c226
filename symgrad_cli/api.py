"""The library's front door: differentiate a program, evaluate, print.

>>> d = differentiate("sigmoid(w*x + b)")
>>> d.keys
['b', 'w', 'x']
>>> value, grads = d.evaluate({"w": 0.5, "x": 2.0, "b": 0.1})
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

from symgrad_cli import backward, export, lower
from symgrad_cli import functions as fn
from symgrad_cli.errors import InputError
from symgrad_cli.graph import Graph
from symgrad_cli.parse import Program, parse


@dataclass
class Derivation:
    """A program, its graph with derivative nodes, and how they were built.

    Attributes
    ----------
    program : Program
    wrt : list of str
        The variables or named nodes differentiated against.
    order : int
    kinks : str
        The convention at kinks: ``"pytorch"``, ``"jax"`` or ``"sympy"``.
    derivatives : dict
        ``"x,y"``-style key to a node id or a number.
    """

    program: Program
    wrt: list[str]
    order: int
    kinks: str
    derivatives: dict[str, object]
    _lowered: object = field(default=None, repr=False)

    @property
    def graph(self) -> Graph:
        return self.program.graph

    @property
    def output(self):
        return self.program.output

    @property
    def keys(self) -> list[str]:
        return list(self.derivatives)

    def closed_forms(self, simplify: bool = True) -> tuple:
        """The output and each derivative as sympy expressions (or None)."""
        with fn.using_kinks(self.kinks):
            forms = export.closed_forms(
                self.graph, [self.output, *self.derivatives.values()], simplify,
                keep_first=1,
            )
        return forms[0], dict(zip(self.derivatives, forms[1:]))

    def text(self, expr) -> str | None:
        """``expr`` in symgrad's language, under this derivation's kinks."""
        if expr is None:
            return None
        return export.to_text(expr, fn.KINKS[self.kinks])

    def evaluate(self, values: dict) -> tuple:
        """The output's value and each derivative's at a point (float64).

        Raises
        ------
        InputError
            For a missing variable, an unknown one, or an abstract function.
        """
        unknown = sorted(set(values) - set(self.program.variables))
        if unknown:
            known = ", ".join(self.program.variables)
            has = f"its variables: {known}" if known else "it has no variables"
            raise InputError(
                f"--at names {', '.join(unknown)}, which the expression does "
                f"not use ({has})"
            )
        outputs = [self.output, *self.derivatives.values()]
        results = lower.evaluate(self.graph, outputs, values, kinks=self.kinks)
        return results[0], dict(zip(self.derivatives, results[1:]))

    def draw(self, at: dict | None = None, **options):
        """A picture of the graph and its derivative nodes (Graphviz).

        ``options`` are those of :func:`symgrad_cli.render.draw_derivation`.

        Returns
        -------
        symgrad_cli.render.Rendering
            Displays itself as SVG in Jupyter; ``.save(path)`` writes a file.
        """
        from symgrad_cli import render

        return render.draw_derivation(self, at, **options)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        # A derivation shown in a notebook is its picture.
        return self.draw()._repr_mimebundle_(include, exclude, **kwargs)

    def source(self) -> str:
        """Runnable numpy source computing the output and every derivative."""
        outputs = [self.output, *self.derivatives.values()]
        lowered = lower.lower(self.graph, outputs, self.program.variables,
                              kinks=self.kinks, name="forward_and_backward")
        return lower.standalone_source(lowered, list(self.derivatives))


def differentiate(text: str, wrt: list[str] | None = None, order: int = 1,
                  kinks: str = "pytorch", shapes: dict | None = None,
                  require_scalar: bool = True) -> Derivation:
    """Parse ``text`` and build its derivatives as graph nodes.

    Parameters
    ----------
    text : str
        A program of the expression language.
    wrt : list of str, optional
        Variables or named results (default: every variable, sorted).
    order : int
        1 for the gradient, 2 for every second partial, and so on.
    kinks : str
        Whose convention holds where a derivative does not exist.
    shapes : dict, optional
        The shape of each tensor variable.

    Returns
    -------
    Derivation

    Raises
    ------
    ParseError
        For text outside the language.
    InputError
        For an unknown ``wrt`` name, an order below 1 or a tensor output.
    """
    if order < 1:
        raise InputError(f"--order must be 1 or more, got {order}")
    if kinks not in fn.KINKS:
        raise InputError(f"unknown --kinks {kinks!r}; use pytorch, jax or sympy")
    with fn.using_kinks(kinks):
        program = parse(text, shapes)
        graph = program.graph
        wrt = program.variables if wrt is None else list(wrt)
        _check_request(wrt, order)
        targets = [_resolve(program, name) for name in wrt]
        shape = graph[program.output].shape if isinstance(program.output, str) else ()
        if shape and require_scalar:
            raise InputError(
                f"the expression is a tensor of shape {shape}; only a scalar "
                f"can be differentiated: try sum(...) or mean(...) of it"
            )
        found = backward.derivatives(graph, program.output, targets, order)
    derivatives = {
        ",".join(wrt[i] for i in index): found[tuple(targets[i] for i in index)]
        for index in itertools.product(range(len(wrt)), repeat=order)
    }
    keep = [v for v in [program.output, *derivatives.values(),
                        *graph.names.values()] if isinstance(v, str)]
    keep.extend(t for t in targets if t in graph.nodes)
    graph.prune(keep)
    return Derivation(program, wrt, order, kinks, derivatives)


def _resolve(program: Program, name: str) -> str:
    graph = program.graph
    if name in graph.names:
        return graph.names[name]
    if name in graph.nodes and graph[name].op == "input":
        return name
    known = sorted(set(program.variables) | set(graph.names))
    raise InputError(
        f"--wrt names {name!r}, which is not a variable or named result of "
        f"the expression (it has: {', '.join(known) or 'none'})"
    )


#: The most derivatives of order 2 or more one call builds (variables **
#: order), and the highest order: each order is a sweep per derivative of
#: the order below, over a graph that grows with it.
MAX_DERIVATIVES = 1024
MAX_ORDER = 100


def _check_request(wrt: list[str], order: int) -> None:
    """Refuse a --wrt that repeats a name, or more derivatives than can be
    built in reasonable time."""
    repeated = sorted({name for name in wrt if wrt.count(name) > 1})
    if repeated:
        raise InputError(f"--wrt names {', '.join(repeated)} more than once")
    if order > MAX_ORDER or (order > 1 and len(wrt) ** order > MAX_DERIVATIVES):
        raise InputError(
            f"--order {order} with {len(wrt)} variable(s) asks for "
            f"{len(wrt)}^{order} derivatives; symgrad builds at most "
            f"{MAX_DERIVATIVES:,} of order at most {MAX_ORDER} (name fewer "
            f"variables with --wrt)"
        )


def parse_values(text: str) -> dict[str, np.ndarray]:
    """``--at``'s ``name=value`` list: JSON numbers or nested lists.

    Commas inside brackets belong to a list; ``nan``, ``inf`` and ``-inf``
    are accepted.

    Raises
    ------
    InputError
        For an entry without ``=`` or a value that is not a number or list.
    """

    values = {}
    for item in _split_top_level(text):
        if not item.strip():
            continue
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"--at expects name=value, got {item.strip()!r}")
        if name in values:
            raise InputError(f"--at gives {name} twice")
        try:
            parsed = json.loads(_NONFINITE_WORD.sub(_json_constant, raw))
        except ValueError:
            parsed = _plain_number(raw)  # .5, +5, 5.: numbers JSON has not
        try:
            values[name] = np.asarray(_nonfinite(parsed), dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(
                f"--at {name}: {raw.strip()!r} is not a number or a list of "
                f"numbers of one shape"
            ) from None
        if values[name].dtype == object:
            raise InputError(f"--at {name}: the list is ragged")
    return values


#: A number as Python writes floats, where JSON would not (.5, +5, 5.).
_PYTHON_NUMBER = re.compile(r"(?<![\w.])[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _plain_number(raw: str):
    """``raw`` read with its numbers written as Python writes floats, in a
    list too (``[.5, +1, 2.]``), or the text itself, which the caller then
    rejects."""
    text = _NONFINITE_WORD.sub(_json_constant, raw.strip())
    as_json = _PYTHON_NUMBER.sub(lambda m: repr(float(m.group(0))), text)
    try:
        return json.loads(as_json)
    except ValueError:
        return text


def _split_top_level(text: str) -> list[str]:
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return items


# Bare nan and inf, as words, become the constants Python's json reads.
_NONFINITE_WORD = re.compile(r"(?<![\w.])(nan|inf)(?!\w)", re.IGNORECASE)


def _json_constant(match) -> str:
    return "NaN" if match.group(1).lower() == "nan" else "Infinity"


#: Non-finite numbers written as JSON strings, as DESIGN.md's output writes
#: them (``"nan"``, ``"inf"``, ``"-inf"``), so an output can be fed back.
_NONFINITE_STRINGS = {
    "nan": math.nan, "+nan": math.nan, "-nan": math.nan,
    "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
    "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf,
}


def _nonfinite(value):
    """``value`` checked to be a number or a (nested) list of numbers."""
    if isinstance(value, list):
        return [_nonfinite(v) for v in value]
    if isinstance(value, str) and value.strip().lower() in _NONFINITE_STRINGS:
        return _NONFINITE_STRINGS[value.strip().lower()]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    return value


def shapes_of(values: dict) -> dict:
    """The shape of each value, for building a graph before evaluating it."""
    return {name: np.shape(v) for name, v in values.items()}


__all__ = ["Derivation", "differentiate", "parse_values", "shapes_of"]

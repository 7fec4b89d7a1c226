"""Graphs and derivatives as text: listings, closed forms, JSON, LaTeX.

Everything printed is in symgrad's own language and parses back to the same
expression: ``e`` is Euler's number and ``E`` a variable, ``where`` takes a
comparison, a kink's derivative prints as ``step(x)``.  The one exception is
the derivative of an abstract function, printed in sympy's notation
(``Derivative(f(y), y)``), since the language has none.
"""

from __future__ import annotations

import contextlib
import math
import re
import signal
import threading
import time

import numpy as np
import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from symgrad_cli import functions as fn
from symgrad_cli.graph import Graph, Node
from symgrad_cli.rules import PLACEHOLDERS, rename

#: Closed forms larger than this many operations, or deeper, are not printed.
MAX_OPERATIONS = 2000
MAX_DEPTH = 200
#: Closed forms up to this many operations are simplified by sympy, for at
#: most this many seconds in all.
SIMPLIFY_OPERATIONS = 60
SIMPLIFY_SECONDS = 1.0


class LanguagePrinter(StrPrinter):
    """sympy's string printer, speaking symgrad's language."""

    def __init__(self, kinks: fn.Kinks | None = None):
        super().__init__({"order": "none"})
        self.kinks = kinks or fn.current_kinks()

    def _print_Exp1(self, expr):
        return "e"

    def _print_Pi(self, expr):
        return "pi"

    def _print_Float(self, expr):
        number = float(expr)
        if math.isfinite(number) and number != 0 or expr.is_zero:
            return repr(number)
        return super()._print_Float(expr)  # 1e999: beyond float64, exact

    # The language has no literal for a non-finite number; these parse back
    # to values that float64 evaluates to the same thing.

    def _print_NaN(self, expr):
        return "sqrt(-1)"

    def _print_Infinity(self, expr):
        return "1e999"

    def _print_NegativeInfinity(self, expr):
        return "-1e999"

    def _print_ComplexInfinity(self, expr):
        return "1e999"

    def _print_Function(self, expr):
        name = fn.PRINTED_NAME.get(type(expr), expr.func.__name__)
        if name == "matmul":  # a tensor closed form: the language's @
            return "({} @ {})".format(*map(self._print, expr.args))
        args = [self._print(a) for a in expr.args]
        if len(args) == 1 and expr.args[0].func.__name__ == "matmul":
            args = [args[0][1:-1]]  # sum(x @ v), not sum((x @ v))
        return f"{name}({', '.join(args)})"

    def _print_Equality(self, expr):
        return f"{self._print(expr.lhs)} == {self._print(expr.rhs)}"

    def _print_Unequality(self, expr):
        return f"{self._print(expr.lhs)} != {self._print(expr.rhs)}"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_sign(self, expr):
        return f"sign({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        return f"step({self._print(expr.args[0])})"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Piecewise(self, expr):
        (value, condition), *rest = expr.args
        if not rest or condition is sympy.true:
            return self._print(value)
        return self._print(fn.where(condition, value, sympy.Piecewise(*rest)))

    def _print_where(self, expr):
        c, a, b = expr.args
        if isinstance(c, sympy.Not):
            return self._print(fn.where(c.args[0], b, a))
        # The language's where() takes one comparison.  Nested where()s
        # repeat a branch per condition, which is fine for a number; for an
        # expression, the conditions become one, through indicators.
        if isinstance(c, sympy.And):
            if b.is_Atom:
                first, rest = c.args[0], sympy.And(*c.args[1:])
                return self._print(fn.where(first, fn.where(rest, a, b), b))
            return self._print(fn.where(_indicators(fn.minimum, c) > 0, a, b))
        if isinstance(c, sympy.Or):
            if a.is_Atom:
                first, rest = c.args[0], sympy.Or(*c.args[1:])
                return self._print(fn.where(first, a, fn.where(rest, a, b)))
            return self._print(fn.where(_indicators(fn.maximum, c) > 0, a, b))
        step = self._as_step(c, a, b)
        if step is not None:
            return self._print(step)
        return (f"where({self._print(c)}, {self._print(a)}, "
                f"{self._print(b)})")

    def _as_step(self, c, a, b):
        """``where(u > 0, a, 0)`` is ``a*step(u)`` when ``step(0)`` is 0 and
        ``a`` a number (else ``a`` may be NaN where it is not selected)."""
        if self.kinks.step_at_zero != 0 or b != 0 or not _finite_number(a):
            return None
        if isinstance(c, sympy.StrictGreaterThan):
            return a * fn.step(c.lhs - c.rhs)
        if isinstance(c, sympy.StrictLessThan):
            return a * fn.step(c.rhs - c.lhs)
        return None


def _indicators(extremum, condition):
    """``min`` (for And) or ``max`` (for Or) of ``where(c, 1, 0)`` over the
    conditions combined: positive exactly where the condition holds."""
    with sympy.evaluate(False):
        return extremum(*(fn.where(c, 1, 0) for c in condition.args))


def _finite_number(value) -> bool:
    return bool(value.is_number and value.is_finite)


def to_text(expr, kinks: fn.Kinks | None = None) -> str:
    """``expr`` in symgrad's language."""
    return LanguagePrinter(kinks).doprint(expr)


class _LatexPrinter(LatexPrinter):
    """sympy's LaTeX, with symgrad's functions in their usual notation."""

    def _call(self, name: str, expr) -> str:
        args = ", ".join(self._print(a) for a in expr.args)
        return rf"\operatorname{{{name}}}\left({args}\right)"

    def _print_absolute(self, expr):
        return rf"\left|{self._print(expr.args[0])}\right|"

    def _print_maximum(self, expr):
        return rf"\max\left({', '.join(map(self._print, expr.args))}\right)"

    def _print_minimum(self, expr):
        return rf"\min\left({', '.join(map(self._print, expr.args))}\right)"

    def _print_sigmoid(self, expr):
        return rf"\sigma\left({self._print(expr.args[0])}\right)"

    def _print_where(self, expr):
        c, a, b = expr.args
        return (rf"\begin{{cases}} {self._print(a)} & \text{{if }} "
                rf"{self._print(c)} \\ {self._print(b)} & "
                rf"\text{{otherwise}} \end{{cases}}")

    def _print_expm1(self, expr):
        return self._call("expm1", expr)

    def _print_log1p(self, expr):
        return self._call("log1p", expr)

    def _print_step(self, expr):
        return self._call("step", expr)


for _name in ("softplus", "relu", "sign"):
    setattr(_LatexPrinter, f"_print_{_name}",
            lambda self, expr, name=_name: self._call(name, expr))


def to_latex(expr) -> str:
    """``expr`` as LaTeX, with symgrad's function names."""
    return _LatexPrinter().doprint(expr)


# Closed forms.


class _Opaque(sympy.Function):
    """A tensor operation inside a closed form, printed by name."""


def _tensor_closed_form(g: Graph, node: Node, args: list):
    total = (node.op == "sum" and node.params == (None, False)) or (
        node.op == "sum_to" and node.params[0] == ())
    if total:
        # A form may have fewer elements than its node (y + 0*x is y): the
        # sum of y repeated n times is n*sum(y).
        form = args[0]
        if form.has(sympy.Function("sum"), sympy.Function("matmul")):
            return sympy.Function("sum")(form)  # not elementwise: as it is
        shape = _form_shape(g, form)
        count = math.prod(g[node.inputs[0]].shape) // max(1, math.prod(shape))
        return count * (sympy.Function("sum")(form) if shape else form)
    if node.op == "broadcast_to":
        return args[0]
    if node.op == "matmul":
        return sympy.Function("matmul")(*args)
    return None


def _form_shape(g: Graph, form) -> tuple:
    """The shape a closed form's variables broadcast to."""
    shapes = [g[s.name].shape for s in form.free_symbols if s.name in g.nodes]
    try:
        return tuple(np.broadcast_shapes(*shapes)) if shapes else ()
    except ValueError:
        return ()


def _constant_form(node: Node):
    """A constant inside a closed form.  An opaque one (``log(0)``) becomes a
    symbol named by its text, so that sympy does not evaluate it again."""
    if node.value is not None:
        return None
    if node.params:
        return sympy.Symbol(LanguagePrinter().doprint(node.expr), real=True)
    return node.expr


def closed_forms(g: Graph, outputs: list, simplify: bool = True,
                 max_operations: int = MAX_OPERATIONS,
                 max_depth: int = MAX_DEPTH, keep_first: int = 0) -> list:
    """Each output as one sympy expression of the variables, or None.

    None stands for a form too large (over :data:`MAX_OPERATIONS` operations
    or :data:`MAX_DEPTH` levels) or one the language cannot write.  Small
    forms are simplified by sympy, but for the first ``keep_first`` (the
    user's own expression reads best as written).
    """
    wanted = [o for o in outputs if isinstance(o, str)]
    forms: dict[str, sympy.Basic | None] = {}
    size: dict[str, int] = {}
    depth: dict[str, int] = {}
    for node_id in g.ancestors(wanted):
        node = g[node_id]
        if node.op in ("input",):
            forms[node_id], size[node_id], depth[node_id] = node.symbol, 1, 1
            continue
        if node.op == "constant":
            forms[node_id] = _constant_form(node)
            size[node_id], depth[node_id] = 1, 1
            continue
        size[node_id] = 1 + sum(size[i] for i in node.inputs)
        depth[node_id] = 1 + max((depth[i] for i in node.inputs), default=0)
        args = [forms[i] for i in node.inputs]
        if (size[node_id] > max_operations or depth[node_id] > max_depth
                or any(a is None for a in args)):
            forms[node_id] = None
        elif node.params_op:
            forms[node_id] = _tensor_closed_form(g, node, args)
        else:
            symbols = [g[i].symbol for i in node.inputs]
            forms[node_id] = _substituted(node.expr, dict(zip(symbols, args)))
    result = []
    deadline = time.monotonic() + SIMPLIFY_SECONDS
    for position, output in enumerate(outputs):
        form = forms[output] if isinstance(output, str) else output
        if form is not None and simplify and position >= keep_first:
            form = as_steps(tidy_selections(form))
            form = _simplified(form, deadline - time.monotonic())
        result.append(form)
    return result


def _substituted(expr, replacements: dict):
    """``expr`` with its inputs' symbols replaced by their closed forms.

    ``Derivative(f(t1), t1)`` of ``t1 = 2*x`` cannot be written with respect
    to ``2*x``: sympy's ``subs`` writes it as ``Subs(..., 2*x)``.
    """
    if expr.has(sympy.Derivative):
        return expr.subs(replacements)
    return expr.xreplace(replacements)


def tidy_selections(expr):
    """``expr`` with each ``where`` inside a branch of the same condition
    replaced by the branch that condition selects.

    The backward builder masks every contribution with the selections on its
    way, so a closed form nests ``where(c, ... where(c, a, b) ..., 0)``.
    """
    def collapse(outer):
        condition, chosen, other = outer.args
        return fn.where(condition, _resolve(chosen, condition, True),
                        _resolve(other, condition, False))

    return expr.replace(lambda e: isinstance(e, fn.where), collapse)


def _resolve(expr, condition, holds: bool):
    """``expr`` knowing whether ``condition`` holds."""
    if isinstance(condition, sympy.And):
        facts = {c: True for c in condition.args} if holds else {}
    else:
        facts = {condition: holds}
    for c, value in list(facts.items()):
        facts[getattr(c, "negated", sympy.Not(c))] = not value

    def pick(inner):
        known = facts.get(inner.args[0])
        if known is None:
            return inner
        return inner.args[1] if known else inner.args[2]

    return expr.replace(lambda e: isinstance(e, fn.where), pick)


def as_steps(expr):
    """``where(u > 0, c, 0)`` written ``c*step(u)`` where ``step(0)`` is 0.

    Only for a number ``c``: ``log(x)*step(x)`` would be NaN at ``x = -1``,
    where ``where(x > 0, log(x), 0)`` is 0.
    """
    if fn.current_kinks().step_at_zero != 0:
        return expr

    def to_step(e):
        c, a, b = e.args
        if b != 0 or not _finite_number(a) or not isinstance(
                c, (sympy.StrictGreaterThan, sympy.StrictLessThan)):
            return e
        u = c.lhs - c.rhs if isinstance(c, sympy.StrictGreaterThan) else c.rhs - c.lhs
        return a * fn.step(u)

    expr = expr.replace(lambda e: isinstance(e, fn.where), to_step)
    return expr.replace(
        lambda e: isinstance(e, sympy.Pow) and isinstance(e.base, fn.step)
        and e.exp.is_positive,
        lambda e: e.base,
    )


def _simplified(expr, seconds: float):
    """``expr`` simplified by sympy when that is shorter, within ``seconds``.

    ``sympy.simplify`` has no bound on its time (a sum of eight inverse
    trigonometric and hyperbolic functions takes it 20 s): past the budget,
    the form is printed as the graph gives it.
    """
    if seconds <= 0 or sympy.count_ops(expr) > SIMPLIFY_OPERATIONS or expr.has(
            sympy.Derivative, fn.where, sympy.Function("sum"),
            sympy.Function("matmul")):
        return expr
    try:
        with time_limit(seconds):
            simpler = sympy.simplify(expr)
    except OutOfTime:
        return expr
    return simpler if sympy.count_ops(simpler) <= sympy.count_ops(expr) else expr


class OutOfTime(TimeoutError):
    """Raised by :func:`time_limit` when its block's time is up."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`OutOfTime` in the block after ``seconds``, through an
    interval timer's signal; where none can be set (outside the main
    thread), the block runs unbounded."""
    if (not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def out_of_time(signum, frame):
        raise OutOfTime(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# Listings.


def node_text(node: Node, kinks: fn.Kinks | None = None) -> str:
    """A node's definition in terms of its inputs' ids."""
    if node.op == "input":
        return "input"
    if node.op == "constant":
        if node.value is not None:
            return f"constant array of shape {node.value.shape}"
        return to_text(node.expr, kinks)
    if node.params_op:
        return tensor_text(node)
    return _templated_text(node.expr, kinks or fn.current_kinks())


_PLACEHOLDER = re.compile(r"\b_(\d+)\b")
_texts: dict[tuple, str] = {}


def _templated_text(expr, kinks: fn.Kinks) -> str:
    """``to_text`` of a node's expression, printed once per kind of node.

    A chain of 20,000 ``sin`` nodes prints ``sin(_0)`` once and fills in
    each node's input.
    """
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    template = rename(expr, dict(zip(symbols, PLACEHOLDERS)))
    key = (template, kinks.name)
    if key not in _texts:
        _texts[key] = to_text(template, kinks)
    names = [s.name for s in symbols]
    return _PLACEHOLDER.sub(lambda m: names[int(m.group(1))], _texts[key])


def tensor_text(node: Node) -> str:
    """A tensor node's definition, as a call with its parameters."""
    args = ", ".join(node.inputs)
    if node.op == "matmul":
        return f"{node.inputs[0]} @ {node.inputs[1]}"
    if node.op == "sum" and node.params == (None, False):
        return f"sum({args})"
    params = ", ".join(repr(p) for p in node.params)
    return f"{node.op}({args}{', ' if params else ''}{params})"


def graph_json(g: Graph, kinks: fn.Kinks | None = None) -> dict:
    """The ``graph`` object of DESIGN.md's JSON: nodes and edges."""
    nodes = []
    edges = []
    for node in g:
        nodes.append({
            "id": node.id,
            "op": node.op,
            "inputs": list(node.inputs),
            "expr": node_text(node, kinks),
            "shape": list(node.shape),
            "role": node.role,
            "order": node.order,
            "adjoint_of": node.adjoint_of,
        })
        edges.extend([i, node.id] for i in node.inputs)
    return {"nodes": nodes, "edges": edges}


def json_number(value):
    """A float, or a nested list of floats, with non-finite ones as strings."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [json_number(v) for v in value]
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value

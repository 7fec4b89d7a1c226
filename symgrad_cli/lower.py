"""Lowering: a graph to numpy source code, compiled once, called many times.

Each node becomes one line of a Python function.  The function computes only
the nodes the requested outputs need, never calls sympy and never walks the
graph: the source is plain numpy and can be printed, read and run on its own.
Identifiers are the function's own (``v0``, ``v1``, ...), never user names,
since ``lambda`` and ``E`` are legal variable names.

With ``checks=True`` the function also warns, naming the operation, where a
value is NaN or infinite although its inputs are not (``log(-1)``, the
derivative of ``sqrt`` at 0) and where an argument sits on a kink.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy

from symgrad_cli import functions as fn
from symgrad_cli.errors import InputError, SymgradWarning
from symgrad_cli.graph import Graph, Node


@dataclass
class Lowered:
    """A compiled graph: call it with the inputs' values in ``inputs`` order.

    Attributes
    ----------
    source : str
        The generated Python source.
    inputs : list of str
        Node ids of the function's parameters, in order.
    outputs : list
        The requested outputs (node ids or numbers), in order.
    function : callable
        Returns a tuple with one array per output.
    """

    source: str
    inputs: list[str]
    outputs: list
    function: Callable

    def __call__(self, *values):
        return self.function(*values)


_FUNCTIONS = {
    sympy.sin: "np.sin", sympy.cos: "np.cos", sympy.tan: "np.tan",
    sympy.asin: "np.arcsin", sympy.acos: "np.arccos", sympy.atan: "np.arctan",
    sympy.sinh: "np.sinh", sympy.cosh: "np.cosh", sympy.tanh: "np.tanh",
    sympy.exp: "np.exp", sympy.log: "np.log", fn.log1p: "np.log1p",
    fn.expm1: "np.expm1", fn.absolute: "np.abs", fn.sign: "np.sign",
    sympy.erf: "_erf", fn.sigmoid: "_sigmoid", fn.softplus: "_softplus",
    fn.relu: "_relu",
}

_RELATIONS = {
    sympy.StrictGreaterThan: ">", sympy.GreaterThan: ">=",
    sympy.StrictLessThan: "<", sympy.LessThan: "<=",
    sympy.Equality: "==", sympy.Unequality: "!=",
}


class _Printer:
    """numpy source for a node's (small) sympy expression.

    With a ``dtype``, every number is written as a named 0-d array of that
    type (``k0``), defined once before the function: numpy combines two
    arrays about twice as fast as an array and a Python number, which it
    must convert on every call, and the result keeps the dtype.
    """

    def __init__(self, names: dict[sympy.Symbol, str], kinks: fn.Kinks,
                 dtype: str | None = None):
        self.names = names
        self.kinks = kinks
        self.dtype = dtype
        self.literals: dict[str, str] = {}
        #: Elements of the node being printed (None: not known).
        self.size: int | None = None

    def literal(self, value) -> str:
        """A number in the source: written out, or a typed constant's name."""
        text = _number(value)
        if self.dtype is None:
            return text
        if text not in self.literals:
            self.literals[text] = f"k{len(self.literals)}"
        return self.literals[text]

    def definitions(self) -> list[str]:
        """The lines defining the typed constants."""
        if not self.literals:
            return []
        return [f"# Numbers as 0-d {self.dtype} arrays (see lower._Printer)."] + [
            f"{name} = np.asarray({text}, dtype={self.dtype!r})"
            for text, name in self.literals.items()]

    def __call__(self, expr) -> str:
        if isinstance(expr, sympy.Symbol):
            return self.names[expr]
        if expr.is_Number or expr in (sympy.pi, sympy.E):
            return self.literal(expr)
        if expr.is_number and not expr.has(sympy.Symbol):
            try:
                return self.literal(expr)
            except TypeError:
                pass  # complex in sympy (an unevaluated (-8)^(1/3)): below
        return self.structure(expr)

    def structure(self, expr) -> str:
        """numpy source for ``expr`` operation by operation, never folded."""
        if isinstance(expr, sympy.Symbol) or expr.is_Atom:
            return self(expr)
        method = getattr(self, "_" + type(expr).__name__, None)
        if method is not None:
            return method(expr)
        if type(expr) in _FUNCTIONS:
            return f"{_FUNCTIONS[type(expr)]}({', '.join(map(self, expr.args))})"
        if isinstance(expr, sympy.logic.boolalg.BooleanAtom):
            return "True" if expr else "False"
        if type(expr) in _RELATIONS:
            left, right = map(self._compared, expr.args)
            return f"({left} {_RELATIONS[type(expr)]} {right})"
        raise InputError(
            f"cannot evaluate {expr}: an abstract function has no values"
        )

    def _Add(self, expr):
        # a - b rather than a + -1*b, and c*(a + b) rather than c*a + c*b:
        # each saved operator is a numpy call saved.
        content, rest = expr.primitive()
        if content != 1 and isinstance(rest, sympy.Add):
            return f"({self.literal(content)} * {self._Add(rest)})"
        terms = sorted(expr.args, key=_is_negative)
        signed = [("-", self(-t)) if _is_negative(t) else ("+", self(t))
                  for t in terms]
        return _balanced(signed, "+")

    def _Mul(self, expr):
        numerator, denominator = [], []
        for factor in expr.args:
            base, exponent = factor.as_base_exp()
            if exponent.is_Number and exponent.is_negative and not factor.is_Number:
                denominator.append(self(base ** -exponent))
            elif factor == -1:
                numerator.insert(0, self.literal(-1))
            else:
                numerator.append(self(factor))
        text = _balanced([("*", f) for f in numerator], "*") if numerator \
            else self.literal(1)
        if not denominator:
            return text if numerator else f"({text})"
        below = _balanced([("*", f) for f in denominator], "*")
        return f"({text} / {below})"

    def _Pow(self, expr):
        base, exponent = expr.args
        if exponent == sympy.Rational(1, 2):
            return f"np.sqrt({self(base)})"
        if exponent == -1:
            return f"({self.literal(1)} / {self(base)})"
        if exponent == 2:
            b = self(base)
            return f"({b} * {b})"
        if exponent == sympy.Rational(1, 3):
            return f"_cbrt({self(base)})"
        if base == sympy.E:
            return f"np.exp({self(exponent)})"
        return f"_power({self(base)}, {self(exponent)})"

    def _where(self, expr):
        if expr.args[2] == 0 and (self.size is None or self.size >= MASK_FROM):
            # A masked cotangent (a ReLU's): see _masked.
            return f"_masked({self(expr.args[0])}, {self(expr.args[1])})"
        c, a, b = map(self, expr.args)
        return f"np.where({c}, {a}, {b})"

    def _compared(self, expr) -> str:
        # x > 0 rather than x > 0.0: numpy compares a float array with a
        # Python int faster than with a Python float, and a comparison's
        # result is boolean whatever its operands' types.
        if expr.is_Integer and self.dtype is None:
            return str(int(expr))
        return self(expr)

    def _maximum(self, expr):
        return self._nested("np.maximum", expr.args)

    def _minimum(self, expr):
        return self._nested("np.minimum", expr.args)

    def _nested(self, function: str, args) -> str:
        text = self(args[0])
        for arg in args[1:]:
            text = f"{function}({text}, {self(arg)})"
        return text

    def _relu(self, expr):
        return f"np.maximum({self(expr.args[0])}, {self._zero()})"

    def _softplus(self, expr):
        return f"np.logaddexp({self._zero()}, {self(expr.args[0])})"

    def _sigmoid(self, expr):
        # exp(-softplus(-x)), as the _sigmoid helper, spelled out so that
        # its zero is a typed constant too.
        if self.dtype is None:
            return f"_sigmoid({self(expr.args[0])})"
        return f"np.exp(-np.logaddexp({self._zero()}, -{self(expr.args[0])}))"

    def _zero(self) -> str:
        return "0" if self.dtype is None else self.literal(0)

    def _step(self, expr):
        at_zero = self.literal(self.kinks.step_at_zero)
        return f"np.heaviside({self(expr.args[0])}, {at_zero})"

    def _And(self, expr):
        return "(" + " & ".join(map(self, expr.args)) + ")"

    def _Or(self, expr):
        return "(" + " | ".join(map(self, expr.args)) + ")"

    def _Not(self, expr):
        # Not ~: for a Python bool (from comparing Python floats) ~True is -2.
        return f"np.logical_not({self(expr.args[0])})"


#: Operands joined in one parenthesised chain: Python's compiler recurses
#: once per binary operator, so a 3,000-term sum is written as a sum of
#: chains of this length rather than one chain.
CHAIN = 64


def _balanced(operands: list[tuple[str, str]], operator: str) -> str:
    """``(a + b - c)`` from ``[("+", a), ("+", b), ("-", c)]``, nested in
    chains of :data:`CHAIN` so that no expression is deeper than a few
    hundred operators."""
    while len(operands) > CHAIN:
        operands = [(operator, _balanced(operands[i:i + CHAIN], operator))
                    for i in range(0, len(operands), CHAIN)]
    (sign, text), rest = operands[0], operands[1:]
    if not rest and sign != "-":
        return text
    first = f"-{text}" if sign == "-" else text
    return "(" + first + "".join(f" {op} {t}" for op, t in rest) + ")"


def _is_negative(term) -> bool:
    """True for a term written with a minus sign: ``-x``, ``-2*x``, ``-3``."""
    coefficient, _ = term.as_coeff_Mul()
    return bool(coefficient.is_negative)


def _number(value) -> str:
    if value is sympy.zoo:
        return "np.nan"  # no sign: as float64's 0*inf, never a real infinity
    number = float(value)
    if math.isnan(number):
        return "np.nan"
    if math.isinf(number):
        return "np.inf" if number > 0 else "-np.inf"
    return repr(number)


def _sigmoid(x):
    # exp(-softplus(-x)): no overflow for large |x|, full precision for
    # small values (1/(1 + exp(-x)) loses nothing either, but overflows).
    return np.exp(-np.logaddexp(0, -x))


def _softplus(x):
    return np.logaddexp(0, x)


#: Arrays from this many elements are masked by _masked; below, np.where's
#: mispredicted branches cost less than _masked's own Python-level work
#: (measured: 0.6 against 1.9 µs for 8 elements, 6.4 against 4.8 for 4096).
MASK_FROM = 2048


def _masked(condition, value):
    """``where(condition, value, 0)`` as a bitwise AND, without a branch.

    ``np.where`` takes a branch per element, which a ReLU's random mask
    mispredicts half the time (measured 20 times slower on a CNN's
    activations).  The AND gives the same exact zeros: an inf or NaN where
    the condition is false never leaks, as it would through
    ``value * condition``.
    """
    value, condition = np.asarray(value), np.asarray(condition)
    if (value.dtype.kind != "f" or condition.dtype != bool
            or value.shape != condition.shape):
        return np.where(condition, value, value.dtype.type(0))
    bits = np.dtype(f"i{value.dtype.itemsize}")
    mask = -condition.view(np.int8).astype(bits)
    return (value.view(bits) & mask).view(value.dtype)


def _relu(x):
    return np.maximum(x, 0)


def _power(base, exponent):
    # float ** float, so that negative integer exponents of integer arrays
    # work and negative bases with fractional exponents give NaN.
    return np.power(np.asarray(base, dtype=float), exponent)


def _cbrt(x):
    # (-8)^(1/3) is NaN in the real-valued language, as numpy's power says.
    return np.power(np.asarray(x, dtype=float), 1 / 3)


_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


def _erf(x):
    return np.asarray(_erf_ufunc(x), dtype=float)[()]


def _sum_to(x, shape):
    """Sum ``x`` over the axes along which ``shape`` was broadcast to it."""
    x = np.asarray(x)
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    total = np.sum(x, axis=axes, keepdims=True) if axes else x
    return total.reshape(shape)


def _tensor_line(node: Node, args: list[str], source: tuple | None = None) -> str:
    if node.op == "sum_to" and source is not None:
        return _lower_sum_to(node, args, source)
    lowering = TENSOR_LOWERINGS.get(node.op)
    if lowering is None:
        raise InputError(f"no numpy lowering for the operation {node.op!r}")
    return lowering(node, args)


# ``np.add.reduce`` rather than ``np.sum``: the ufunc method skips a layer
# of Python dispatch, which is most of the cost on small arrays.


def _lower_sum(node: Node, args: list[str]) -> str:
    axis, keepdims = node.params
    if keepdims:
        return f"np.add.reduce({args[0]}, axis={axis!r}, keepdims=True)"
    return f"np.add.reduce({args[0]}, axis={axis!r})"


def _lower_sum_to(node: Node, args: list[str], source: tuple) -> str:
    # The input's shape gives the axes now, so the line is one reduction
    # (and a reshape only when leading and kept axes are both summed).
    (shape,) = node.params
    lead = len(source) - len(shape)
    leading = tuple(range(lead))
    kept = tuple(lead + i for i, n in enumerate(shape)
                 if n == 1 and source[lead + i] != 1)
    if not shape:
        return f"np.add.reduce({args[0]}, axis=None)"
    if not kept:
        axis = leading[0] if len(leading) == 1 else leading
        return f"np.add.reduce({args[0]}, axis={axis!r})"
    total = f"np.add.reduce({args[0]}, axis={leading + kept!r}, keepdims=True)"
    return f"{total}.reshape({shape!r})" if leading else total


def _line_into(node: Node, args: list[str], source: tuple, out: str):
    """``node``'s line writing its value into the array ``out``, or None."""
    if node.op == "matmul":
        return f"np.matmul({args[0]}, {args[1]}, out={out})"
    line = _lower_sum(node, args) if node.op == "sum" else \
        _lower_sum_to(node, args, source)
    if not line.startswith("np.add.reduce(") or ".reshape(" in line:
        return None
    return f"{line[:-1]}, out={out})"


def _lower_transpose(node: Node, args: list[str]) -> str:
    if not node.params:
        return f"{args[0]}.T"
    return f"np.transpose({args[0]}, {node.params[0]!r})"


#: The lowering of each tensor operation: op name to (node, args) -> source,
#: where ``args`` are the inputs' identifiers in the generated function.
TENSOR_LOWERINGS: dict[str, Callable] = {
    "sum": _lower_sum,
    # Without the input's shape (see _tensor_line), the axes are found when
    # the line runs.
    "sum_to": lambda node, args: f"_sum_to({args[0]}, {node.params[0]!r})",
    "matmul": lambda node, args: f"({args[0]} @ {args[1]})",
    "broadcast_to": lambda node, args:
        f"np.broadcast_to({args[0]}, {node.params[0]!r})",
    "reshape": lambda node, args: f"np.reshape({args[0]}, {node.params[0]!r})",
    "transpose": _lower_transpose,
}

#: Helpers the generated source may call.
HELPERS: dict[str, object] = {
    "np": np, "_sigmoid": _sigmoid, "_softplus": _softplus, "_relu": _relu,
    "_masked": _masked,
    "_power": _power, "_cbrt": _cbrt, "_erf": _erf, "_sum_to": _sum_to,
}


def lower(g: Graph, outputs: list, inputs: list[str] | None = None,
          checks: bool = False, kinks: str | None = None,
          name: str = "evaluate", dtype: str | None = None,
          into: list[int] = ()) -> Lowered:
    """Compile the nodes ``outputs`` need into one numpy function.

    Parameters
    ----------
    g : Graph
    outputs : list
        Node ids, or plain numbers, to return.
    inputs : list of str, optional
        The function's parameters (default: the variables the outputs need).
    checks : bool
        Warn about NaN, infinities and kinks as values are computed.
    kinks : str, optional
        The convention for ``step(0)`` (default: the one in force).
    dtype : str, optional
        The floating type the function will be called with (``"float32"``):
        its numbers then become constants of that type.  By default they
        are Python floats.
    into : list of int
        Positions of outputs the function writes into arrays it is given,
        as extra parameters after the inputs (``o0``, ``o1``, ...), in this
        order; it returns those arrays.  A matrix product or a sum writes
        there directly (``out=``), anything else is copied in.

    Returns
    -------
    Lowered

    Raises
    ------
    InputError
        When the graph has an abstract function, which has no values.
    """
    convention = fn.KINKS[kinks] if kinks else fn.current_kinks()
    needed = g.ancestors([o for o in outputs if isinstance(o, str)])
    if inputs is None:
        inputs = [n for n in needed if g[n].op == "input"]
    names = {g[n].symbol: f"v{i}" for i, n in enumerate(needed)}
    printer = _Printer(names, convention, dtype)
    constants = {}
    # An input no output needs (perhaps not even in the graph) is accepted
    # and ignored.
    params = [names[g[n].symbol] if n in g.nodes and g[n].symbol in names
              else f"unused{i}" for i, n in enumerate(inputs)]
    destinations = {position: f"o{i}" for i, position in enumerate(into)}
    direct = _direct_writes(g, outputs, destinations)
    params += list(destinations.values())
    lines = [f"def {name}({', '.join(params)}):"]
    checked = []
    for node_id in needed:
        node = g[node_id]
        target = names[node.symbol]
        if node.op == "input":
            if node_id not in inputs:
                raise InputError(f"no value for the variable {node_id}")
            continue
        line = _line(node, g, printer, constants, direct.get(node_id))
        lines.append(f"    {target} = {line}  # {node_id}")
        if checks:
            checked.extend(_checks(node, g, target, names))
    returned = [names[g[o].symbol] if isinstance(o, str) else printer(o)
                for o in outputs]
    for position, out in destinations.items():
        if direct.get(outputs[position]) != out:
            lines.append(f"    {out}[...] = {returned[position]}")
        returned[position] = out
    if checked:
        # One call at the end, reading every value: a check line per node
        # would double the source to compile.
        outputs = "".join(r + ", " for r in returned)
        lines.append(f"    _check_all(locals(), ({outputs}))")
    lines.append(f"    return ({', '.join(returned)}{',' if returned else ''})")
    source = "\n".join(printer.definitions() + lines) + "\n"
    check_all = functools.partial(_check_all, checked, g, convention.name)
    namespace = dict(HELPERS, _check_all=check_all, **constants)
    exec(compile(source, f"<symgrad {name}>", "exec"), namespace)
    return Lowered(source, list(inputs), list(outputs), namespace[name])


def _direct_writes(g: Graph, outputs: list, destinations: dict) -> dict:
    """Output nodes whose own line can write into their destination."""
    direct = {}
    for position, out in destinations.items():
        output = outputs[position]
        if isinstance(output, str) and output not in direct and \
                g[output].op in _WRITES_INTO:
            direct[output] = out
    return direct


#: Tensor ops whose line can take numpy's ``out=``.
_WRITES_INTO = {"matmul", "sum", "sum_to"}


def _line(node: Node, g: Graph, printer: _Printer, constants: dict,
          out: str | None = None) -> str:
    if out is not None:
        args = [printer.names[g[i].symbol] for i in node.inputs]
        line = _line_into(node, args, g[node.inputs[0]].shape, out)
        if line is not None:
            return line
    if node.op == "constant":
        if node.value is not None:
            constants[f"c_{node.id}"] = node.value
            return f"c_{node.id}"
        if node.params:
            # An opaque constant (tan(pi/2), a divisor 0): float64 decides.
            return f"np.float64({printer.structure(node.expr)})"
        return printer(node.expr)
    if node.params_op:
        args = [printer.names[g[i].symbol] for i in node.inputs]
        return _tensor_line(node, args, g[node.inputs[0]].shape)
    printer.size = math.prod(node.shape)
    return printer(node.expr)


def _checks(node: Node, g: Graph, target: str, names: dict) -> list[tuple]:
    """What to check of a node: (node id, its variable, its inputs' variables,
    the kinked function it applies or None)."""
    if node.params_op or node.op == "constant" and not node.params:
        return []
    args = [names[g[i].symbol] for i in node.inputs]
    kinked = None
    if node.role == "forward" and isinstance(node.expr, fn.KINKED):
        # The kinked function's own arguments: a variable's name, or a number.
        kinked = (node.expr.func.__name__, [
            names[a] if isinstance(a, sympy.Symbol) else float(a)
            for a in node.expr.args])
    return [(node.id, target, args, kinked)]


def _check_all(checked, g, kinks, values, outputs):
    """Warn about kinks hit, and, where an output is not finite, about the
    nodes where NaN or infinity first appeared.  A NaN in a branch that a
    where() did not take reaches no output and is no news."""
    leaked = not all(np.all(np.isfinite(o)) for o in outputs)
    for node_id, target, args, kinked in checked:
        inputs = [values[a] for a in args]
        if leaked:
            _check(values[target], node_id, inputs, g)
        if kinked:
            name, kink_args = kinked
            _kink(name, kinks, *[values[a] if isinstance(a, str) else a
                                 for a in kink_args])


def _describe(node: Node) -> str:
    """The functions a node applies, for a warning's text."""
    heads = sorted({fn.PRINTED_NAME.get(type(f), type(f).__name__)
                    for f in node.expr.atoms(sympy.Function)})
    powers = node.expr.atoms(sympy.Pow)
    if any(p.exp.is_negative for p in powers):
        heads.append("a division")
    if any(not p.exp.is_negative for p in powers):
        heads.append("a power")
    if not heads:
        heads = ["a division"] if node.expr.has(sympy.Pow) else ["arithmetic"]
    kind = "a derivative through" if node.role == "backward" else ""
    return f"{kind} {', '.join(heads)}".strip()


def _check(value, node_id, inputs, graph=None):
    if np.all(np.isfinite(value)):
        return
    description = _describe(graph[node_id])
    inputs = [np.asarray(i) for i in inputs]
    if np.any(np.isnan(value)) and not any(np.any(np.isnan(i)) for i in inputs):
        warnings.warn(SymgradWarning(
            f"{node_id} = {description} is NaN here: an argument is outside "
            f"its domain"), stacklevel=3)
    elif np.any(np.isinf(value)) and all(np.all(np.isfinite(i)) for i in inputs):
        warnings.warn(SymgradWarning(
            f"{node_id} = {description} is infinite here (a pole, or an "
            f"overflow of float64)"), stacklevel=2)


def _kink(name, kinks, *args):
    if len(args) == 1:
        hit = np.any(args[0] == 0)
    else:
        # A tie that matters: the chosen value is reached by two arguments.
        chosen = functools.reduce(
            np.maximum if name == "maximum" else np.minimum, args)
        hit = np.any(sum((np.asarray(a) == chosen).astype(int) for a in args) > 1)
    if hit:
        what = {"maximum": "max at a tie", "minimum": "min at a tie",
                "absolute": "abs at 0"}.get(name, f"{name} at 0")
        warnings.warn(SymgradWarning(
            f"{what}: no derivative exists there; using {kinks}'s convention "
            f"(--kinks pytorch|jax|sympy)"), stacklevel=2)


def evaluate(g: Graph, outputs: list, values: dict, checks: bool = True,
             kinks: str | None = None) -> list:
    """The values of ``outputs`` at a point, computed in float64.

    Parameters
    ----------
    values : dict
        A value for each variable the outputs need, by name.

    Raises
    ------
    InputError
        When a variable has no value or has the wrong shape.
    """
    lowered = lower(g, outputs, checks=checks, kinks=kinks)
    args = []
    for name in lowered.inputs:
        if name not in values:
            raise InputError(f"no value for the variable {name}; give it in --at")
        value = np.asarray(values[name], dtype=np.float64)
        if value.shape != g[name].shape:
            raise InputError(
                f"{name} has shape {value.shape}, but the expression was built "
                f"for shape {g[name].shape}"
            )
        args.append(value if value.shape else np.float64(value))
    with np.errstate(all="ignore"):
        return list(lowered(*args))


def standalone_source(lowered: Lowered, labels: list[str],
                      plain_numbers: bool = True) -> str:
    """``lowered``'s source with its imports and helpers: runnable as it is.

    With ``plain_numbers``, the function first makes its arguments float64
    arrays, so that it may be called with Python floats.
    """
    import inspect

    used = [name for name in HELPERS if name != "np" and name in lowered.source]
    parts = ['"""Generated by symgrad: the forward and backward computation."""',
             "", "import math", "", "import numpy as np", ""]
    for name in used:
        helper = HELPERS[name]
        if name == "_erf":
            parts.append("_erf_ufunc = np.frompyfunc(math.erf, 1, 1)\n")
        parts.append(inspect.getsource(helper))
    # Plain Python numbers become float64 arrays first: 1.0/0.0 would raise
    # where numpy gives inf.
    header = re.search(r"^def \w+\((.*)\):\n", lowered.source, re.MULTILINE)
    source = lowered.source
    if plain_numbers and header and lowered.inputs:
        params = header.group(1)
        converted = (f"    {params}, = (np.asarray(v, dtype=np.float64) "
                     f"for v in ({params},))\n")
        source = source[:header.end()] + converted + source[header.end():]
    parts.append(source)
    # Parameters are the code's own identifiers, so the call is positional.
    params = ", ".join("..." for _ in lowered.inputs)
    parts.append(f"# Returns (value, {', '.join('d/d' + k for k in labels)}).")
    name = re.search(r"^def (\w+)\(", lowered.source, re.MULTILINE).group(1)
    parts.append(f"# Call as: {name}({params})  # {', '.join(lowered.inputs)}")
    return "\n".join(parts) + "\n"

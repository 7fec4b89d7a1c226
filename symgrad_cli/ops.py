"""Operations of the language, as functions that add nodes to a graph.

The parser and the model builders call these; nothing else creates forward
nodes.  An operand is a node id (``str``) or a plain sympy number, and so is
every result: arithmetic on numbers folds to a number.

Some compositions are rewritten as they are built into forms whose values
*and derivatives* stay finite in float64 (``log(sigmoid(z))`` becomes
``-softplus(-z)``, whose derivative ``sigmoid(-z)`` never divides by an
underflowed zero).  The table is :data:`STABLE_FORMS`.
"""

from __future__ import annotations

import functools
import math
import operator
from math import prod

import sympy

from symgrad_cli import functions as fn
from symgrad_cli.errors import InputError, ShapeError
from symgrad_cli.graph import Graph

Operand = str | sympy.Basic

_U = sympy.Wild("u")
_V = sympy.Wild("v")

#: Rewrites applied when a node is built: (pattern, stable replacement).
STABLE_FORMS = [
    (sympy.log(fn.sigmoid(_U)), -fn.softplus(-_U)),
    (sympy.log(1 - fn.sigmoid(_U)), -fn.softplus(_U)),
    (sympy.log(1 + sympy.exp(_U)), fn.softplus(_U)),
    (fn.log1p(sympy.exp(_U)), fn.softplus(_U)),
    # log-sum-exp of two: smooth, so no kink convention enters its slopes.
    (sympy.log(sympy.exp(_U) + sympy.exp(_V)), _U + fn.softplus(_V - _U)),
    (sympy.log(sympy.exp(_U)), _U),
    (1 - fn.sigmoid(_U), fn.sigmoid(-_U)),
    (sympy.exp(_U) / (1 + sympy.exp(_U)), fn.sigmoid(_U)),
    (sympy.exp(_U) / (sympy.exp(_U) + sympy.exp(_V)), fn.sigmoid(_U - _V)),
    (1 / (1 + sympy.exp(_U)), fn.sigmoid(-_U)),
]

#: Ops whose definition is inlined, round by round, when looking for a
#: stable form: deep enough to see ``log(1 - sigmoid(u))``, shallow enough to
#: leave ``u`` itself alone.
_INLINE_ROUNDS = [
    {"sigmoid", "exp", "add", "sub", "neg"},
    {"sigmoid", "exp", "neg"},
]

#: Ops whose definition may start a pattern of STABLE_FORMS.
_UNSTABLE_SOURCES = {"sigmoid", "exp"}


def shape_of(g: Graph, value: Operand) -> tuple[int, ...]:
    """The shape of an operand; a plain number is a scalar."""
    return g[value].shape if isinstance(value, str) else ()


def elementwise(g: Graph, op: str, build, *operands: Operand) -> Operand:
    """The node ``build(*symbols)``, after the stable-form rewrites.

    The result has the operands' broadcast shape even where sympy cancels
    an operand away (``x - x`` of a vector is a vector of zeros).

    Raises
    ------
    ShapeError
        When the operands' shapes do not broadcast together.
    """
    args = [g._operand(v) for v in operands]
    if all(isinstance(a, sympy.Basic) and not a.free_symbols for a in args):
        return _fold(g, build, args)
    shape = g._broadcast([shape_of(g, v) for v in operands], op)
    expr = build(*args)
    result = None
    if op in ("log", "log1p") or _near_unstable(g, operands):
        result = _stabilize(g, expr)
    if result is None:
        result = g.from_expr(expr, op)
    if shape_of(g, result) != shape and not isinstance(
            result, sympy.logic.boolalg.BooleanAtom):
        result = broadcast_to(g, g.as_node(result), shape)
    return result


def _fold(g: Graph, build, args: list) -> Operand:
    """A function of constants: sympy's exact value where it is a real
    number float64 can hold, otherwise an opaque node float64 evaluates.

    ``(-8)^(1/3)``, ``tan(pi/2)``, ``log(0)`` (not real in sympy) and
    ``cosh(1e308)`` (beyond float64) are kept unevaluated, in a node of
    their own, so that evaluation gives NaN, a large number, -inf or inf,
    exactly as for a variable with that value.
    """
    if build is operator.pow and all(a.is_Rational for a in args):
        args = _powers_in_float(*args)
    try:
        value = build(*args)
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        value = None
    if isinstance(value, sympy.logic.boolalg.BooleanAtom):
        return value  # a comparison of constants: where() picks a branch
    if value is not None and value.is_Rational:
        return tame(value)
    if value is not None and not _not_real(value) and _float64(value):
        return value
    with sympy.evaluate(False):
        return g.constant(build(*args), opaque=True)


def _float64(value: sympy.Basic) -> bool:
    """True when ``value`` is a finite number of float64's range."""
    try:
        return math.isfinite(float(value))
    except (ArithmeticError, ValueError, TypeError):
        return False


#: Exact numbers with more digits than this become floats: float64 cannot
#: tell them apart, and printing or powering them exactly takes forever.
MAX_EXACT_DIGITS = 1000


def tame(number: sympy.Rational) -> sympy.Number:
    """``number``, or a 17-digit float when it is too long to keep exact."""
    p, q = number.as_numer_denom()
    limit = 10**MAX_EXACT_DIGITS
    if abs(p) >= limit or abs(q) >= limit:
        return sympy.Float(number, 17)
    return number


def _powers_in_float(base: sympy.Rational, exponent: sympy.Rational):
    """Operands of an exact power, made floats when the result is huge.

    ``9^9^9`` has 369 million digits; its float is what evaluation sees.
    """
    magnitude = abs(float(exponent)) * abs(math.log10(abs(float(base)) or 1))
    if magnitude > MAX_EXACT_DIGITS:
        return sympy.Float(base, 17), sympy.Float(exponent, 17)
    return base, exponent


def _not_real(expr: sympy.Basic) -> bool:
    return expr.has(sympy.I, sympy.zoo, sympy.nan) or expr.is_extended_real is False


def _near_unstable(g: Graph, operands) -> bool:
    """True when an exp or sigmoid is an operand, or an operand's input."""
    for value in operands:
        if not isinstance(value, str):
            continue
        node = g[value]
        if node.op in _UNSTABLE_SOURCES or any(
            g[i].op in _UNSTABLE_SOURCES for i in node.inputs
        ):
            return True
    return False


def _stabilize(g: Graph, expr: sympy.Basic) -> Operand | None:
    """``expr`` rebuilt in a stable form, or None when no form applies.

    A form applies when a pattern of :data:`STABLE_FORMS` matched, or when
    sympy simplified the inlined definitions (``log(exp(x))`` is ``x``).
    """
    inlined = expr
    inlined_size = sympy.count_ops(expr)
    for inlined_ops in _INLINE_ROUNDS:
        replacements = {
            s: g.node_of(s).expr
            for s in inlined.free_symbols
            if g.node_of(s).op in inlined_ops
        }
        inlined_size += sum(sympy.count_ops(e) for e in replacements.values())
        inlined = inlined.xreplace(replacements)
    rewritten = inlined
    for pattern, replacement in STABLE_FORMS:
        rewritten = rewritten.replace(pattern, replacement)
    if rewritten == inlined and sympy.count_ops(inlined) >= inlined_size:
        return None
    return build_expr(g, rewritten)


def build_expr(g: Graph, expr: sympy.Basic) -> Operand:
    """Nodes for a sympy expression over node symbols, one per operation.

    Used for small expressions only (a rewrite's result), so the recursion
    here is bounded by the size of a pattern.
    """
    if not expr.free_symbols:
        return expr
    if isinstance(expr, sympy.Symbol):
        return g.node_of(expr).id
    args = [build_expr(g, a) for a in expr.args]
    head = type(expr)
    op = fn.PRINTED_NAME.get(head, head.__name__.lower())
    if isinstance(expr, sympy.Mul) and expr.args[0] == -1:
        op = "neg"
    return g.apply(lambda *s: expr.func(*s), args, op)


# Arithmetic.


def add(g: Graph, a: Operand, b: Operand) -> Operand:
    return elementwise(g, "add", operator.add, a, b)


def sub(g: Graph, a: Operand, b: Operand) -> Operand:
    return elementwise(g, "sub", operator.sub, a, b)


def mul(g: Graph, a: Operand, b: Operand) -> Operand:
    return elementwise(g, "mul", operator.mul, a, b)


def div(g: Graph, a: Operand, b: Operand) -> Operand:
    if isinstance(a, str) and isinstance(b, sympy.Basic) and b == 0:
        # A division by an exact zero is float64's (inf or NaN, as the mean
        # of nothing), not sympy's complex infinity.
        b = g.constant(b, opaque=True)
    return elementwise(g, "div", operator.truediv, a, b)


def neg(g: Graph, a: Operand) -> Operand:
    return elementwise(g, "neg", operator.neg, a)


def power(g: Graph, a: Operand, b: Operand) -> Operand:
    return elementwise(g, "pow", operator.pow, a, b)


def compare(g: Graph, op: str, a: Operand, b: Operand) -> Operand:
    """A boolean node ``a op b``; only ``where`` reads it."""
    relation = {
        "<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge,
        "==": sympy.Eq, "!=": sympy.Ne,
    }[op]
    # Unevaluated: sympy would fold x == x to True, which float64 does not
    # hold for NaN (where(x != x, 0, x) is how NaN is masked).  Comparisons
    # of constants still fold, in elementwise.
    def build(x, y):
        constant = not (x.free_symbols or y.free_symbols)
        return relation(x, y, evaluate=constant)

    return elementwise(g, "compare", build, a, b)


def select(g: Graph, condition: Operand, a: Operand, b: Operand) -> Operand:
    """``where(condition, a, b)``."""
    return elementwise(g, "where", fn.where, condition, a, b)


def call(g: Graph, name: str, args: list[Operand]) -> Operand:
    """The function ``name`` of the vocabulary applied to ``args``.

    Raises
    ------
    InputError
        For a tensor function given the wrong number of arguments.
    """
    if name in fn.ELEMENTWISE:
        function = fn.ELEMENTWISE[name]
        if all(isinstance(a, str) for a in args) and name != "sqrt":
            # A function of a node's symbol (real, nothing more known) has
            # nothing to evaluate, and sympy's attempt is costly: build the
            # application directly.
            function = functools.partial(sympy.Basic.__new__, function)
        return elementwise(g, name, function, *args)
    if name in fn.VARIADIC:
        return elementwise(g, name, fn.VARIADIC[name], *args)
    if name == "where":
        return select(g, *args)
    if name in TENSOR_FUNCTIONS:
        return TENSOR_FUNCTIONS[name](g, *args)
    return abstract(g, name, args)


def abstract(g: Graph, name: str, args: list[Operand]) -> Operand:
    """An application of the abstract (undefined) function ``name``."""
    function = sympy.Function(name, real=True)
    return elementwise(g, name, lambda *s: function(*s), *args)


# Tensors.


def reduce_sum(g: Graph, a: Operand, axis: int | None = None,
               keepdims: bool = False) -> Operand:
    """The sum of a tensor's elements, over one axis or all of them.

    Raises
    ------
    ShapeError
        When ``axis`` is not an axis of ``a``.
    """
    shape = shape_of(g, a)
    if not shape:
        return a
    if axis is None:
        out = (1,) * len(shape) if keepdims else ()
    else:
        axis = _axis(shape, axis, "sum")
        out = shape[:axis] + ((1,) if keepdims else ()) + shape[axis + 1:]
    return g.tensor("sum", [g.as_node(a)], (axis, keepdims), out)


def mean(g: Graph, a: Operand, axis: int | None = None,
         keepdims: bool = False) -> Operand:
    """The mean of a tensor's elements, over one axis or all of them.

    Raises
    ------
    ShapeError
        When ``axis`` is not an axis of ``a``.
    """
    shape = shape_of(g, a)
    if axis is None or not shape:
        count = prod(shape)
    else:
        count = shape[_axis(shape, axis, "mean")]
    total = reduce_sum(g, a, axis, keepdims)
    return div(g, total, sympy.Integer(count))


def _axis(shape: tuple[int, ...], axis: int, op: str) -> int:
    """``axis`` as a non-negative index into ``shape``."""
    if not -len(shape) <= axis < len(shape):
        raise ShapeError(f"{op}: axis {axis} is out of range for shape {shape}")
    return axis % len(shape)


def matmul(g: Graph, a: Operand, b: Operand) -> Operand:
    """``a @ b`` for vectors and matrices, as numpy's ``matmul``.

    Raises
    ------
    ShapeError
        When the inner dimensions differ or an operand is a scalar.
    """
    sa, sb = shape_of(g, a), shape_of(g, b)
    if not sa or not sb or len(sa) > 2 or len(sb) > 2:
        raise ShapeError(
            f"matmul (@) needs vectors or matrices, got shapes {sa} and {sb}"
        )
    if sa[-1] != sb[0]:
        raise ShapeError(
            f"matmul (@): inner dimensions differ: shapes {sa} and {sb}"
        )
    out = sa[:-1] + sb[1:]
    return g.tensor("matmul", [g.as_node(a), g.as_node(b)], (), out)


def dot(g: Graph, a: Operand, b: Operand) -> Operand:
    """The inner product ``sum(a*b)`` of two tensors of one shape."""
    sa, sb = shape_of(g, a), shape_of(g, b)
    if sa != sb:
        raise ShapeError(
            f"dot: shapes {sa} and {sb} differ; dot(u, v) is sum(u*v) of two "
            f"tensors of one shape (for a matrix product write u @ v)")
    return reduce_sum(g, mul(g, a, b))


def sum_to(g: Graph, a: Operand, shape: tuple[int, ...]) -> Operand:
    """``a`` summed over the axes along which ``shape`` was broadcast.

    Raises
    ------
    ShapeError
        When ``shape`` does not broadcast to ``a``'s shape.
    """
    shape, source = tuple(shape), shape_of(g, a)
    if source == shape:
        return a
    _check_broadcast("sum_to", shape, source)
    return g.tensor("sum_to", [g.as_node(a)], (shape,), shape)


def broadcast_to(g: Graph, a: Operand, shape: tuple[int, ...]) -> Operand:
    """``a`` repeated to ``shape``; a repeated repeat is one repeat.

    Raises
    ------
    ShapeError
        When ``a``'s shape does not broadcast to ``shape``.
    """
    shape, source = tuple(shape), shape_of(g, a)
    if source == shape:
        return a
    _check_broadcast("broadcast_to", source, shape)
    if isinstance(a, str) and g[a].op == "broadcast_to":
        return broadcast_to(g, g[a].inputs[0], shape)
    return g.tensor("broadcast_to", [g.as_node(a)], (shape,), shape)


def _check_broadcast(op: str, small: tuple, large: tuple) -> None:
    """Raise unless ``small`` broadcasts to exactly ``large``."""
    fits = len(small) <= len(large) and all(
        n in (1, m) for n, m in zip(small[::-1], large[::-1])
    )
    if not fits:
        raise ShapeError(
            f"{op}: shape {small} does not broadcast to shape {large}"
        )


def _one_arg(name, build):
    def checked(g, *args):
        if len(args) != 1:
            raise InputError(f"{name} takes 1 argument, got {len(args)}")
        return build(g, args[0])
    return checked


def _two_args(name, build):
    def checked(g, *args):
        if len(args) != 2:
            raise InputError(f"{name} takes 2 arguments, got {len(args)}")
        return build(g, *args)
    return checked


#: Tensor functions of the language.
TENSOR_FUNCTIONS = {
    "sum": _one_arg("sum", reduce_sum),
    "mean": _one_arg("mean", mean),
    "dot": _two_args("dot", dot),
}

#: How many arguments each function of the vocabulary takes.
ARITY = {name: 1 for name in fn.ELEMENTWISE}
ARITY.update({"where": 3, "sum": 1, "mean": 1, "dot": 2})


def reshape(g: Graph, a: Operand, shape: tuple[int, ...]) -> Operand:
    """``a`` with a new shape of the same size; a reshaped reshape is one.

    Raises
    ------
    ShapeError
        When the sizes differ.
    """
    shape = tuple(shape)
    old = shape_of(g, a)
    if old == shape:
        return a
    if prod(old) != prod(shape):
        raise ShapeError(f"reshape: cannot reshape shape {old} to shape {shape}")
    if isinstance(a, str) and g[a].op == "reshape":
        return reshape(g, g[a].inputs[0], shape)
    return g.tensor("reshape", [g.as_node(a)], (shape,), shape)


def transpose(g: Graph, a: Operand, axes: tuple[int, ...] | None = None) -> Operand:
    """``a`` with its axes permuted: reversed by default, as numpy's ``.T``.

    A transpose of a transpose is one transpose, or none.  The node's params
    are ``()`` for the reversal and ``(axes,)`` for another permutation.

    Raises
    ------
    ShapeError
        When ``axes`` is not a permutation of ``a``'s axes.
    """
    shape = shape_of(g, a)
    rank = len(shape)
    axes = tuple(range(rank))[::-1] if axes is None else tuple(axes)
    if sorted(axes) != list(range(rank)):
        raise ShapeError(
            f"transpose: axes {axes} are not a permutation of the axes of "
            f"shape {shape}"
        )
    if isinstance(a, str) and g[a].op == "transpose":
        inner = permutation(g[a])
        a, axes = g[a].inputs[0], tuple(inner[i] for i in axes)
    if axes == tuple(range(rank)):
        return a
    out = tuple(shape_of(g, a)[i] for i in axes)
    params = () if axes == tuple(range(rank))[::-1] else (axes,)
    return g.tensor("transpose", [g.as_node(a)], params, out)


def permutation(node) -> tuple[int, ...]:
    """The axes a transpose node permutes its input's axes into."""
    if node.params:
        return node.params[0]
    return tuple(range(len(node.shape)))[::-1]


def outer(g: Graph, a: Operand, b: Operand) -> Operand:
    """The outer product of two vectors, as a matrix."""
    (m,), (n,) = shape_of(g, a), shape_of(g, b)
    return matmul(g, reshape(g, a, (m, 1)), reshape(g, b, (1, n)))


# Losses.


def binary_cross_entropy_with_logits(g: Graph, logits: Operand,
                                     targets: Operand) -> Operand:
    """The mean binary cross-entropy of ``sigmoid(logits)`` against ``targets``.

    Each element is ``softplus(z) - y*z``, which equals
    ``-(y*log(p) + (1 - y)*log(1 - p))`` for ``p = sigmoid(z)`` but never
    takes the log of an underflowed probability (PyTorch's
    ``BCEWithLogitsLoss``; its other form clamps the log at -100 instead).
    Being one elementwise node, its partial with respect to ``z`` is
    ``sigmoid(z) - y`` straight from ``sympy.diff``: the textbook ``p - y``,
    with no special rule.

    Returns
    -------
    str
        A scalar node: the mean over every element.

    Raises
    ------
    ShapeError
        When the two shapes differ.
    """
    sz, sy = shape_of(g, logits), shape_of(g, targets)
    if sz != sy:
        raise ShapeError(
            f"binary_cross_entropy: logits of shape {sz} and targets of "
            f"shape {sy} differ"
        )
    losses = g.apply(lambda z, y: fn.softplus(z) - y * z, [logits, targets],
                     "binary_cross_entropy")
    return mean(g, losses)

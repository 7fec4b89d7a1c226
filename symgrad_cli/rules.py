"""Derivative rules: local partials of elementwise nodes, vjps of tensor ops.

An elementwise node's partials come from ``sympy.diff`` of its expression.
They are derived once per *kind* of node: the expression with its inputs
replaced by placeholders (``sin(_0)``) is the cache key, so a chain of
20,000 ``sin`` nodes calls ``sympy.diff`` once.  A partial that contains the
node's own expression reuses the node's value (``sigmoid'`` becomes
``s*(1 - s)`` of the existing ``s``).

Powers whose exponent varies are differentiated by a rule of their own
(:class:`_power`), where the textbook formula evaluates to NaN at a point
where the derivative has a conventional value (``x^y`` at ``x = 0``).

Tensor operations have no expression; each has a vjp rule in
:data:`TENSOR_VJPS` that turns a cotangent into nodes for its inputs.
"""

from __future__ import annotations

import sympy

from symgrad_cli import functions as fn
from symgrad_cli.errors import SymgradError
from symgrad_cli.graph import Graph, Node

PLACEHOLDERS = [sympy.Symbol(f"_{i}", real=True) for i in range(64)]
OUTPUT = sympy.Symbol("_out", real=True)

#: Stands for a node's cotangent in the cached contribution templates.
COTANGENT = sympy.Symbol("_ct", real=True)

_partials_cache: dict[tuple, list[sympy.Expr]] = {}
_products_cache: dict[tuple, list[tuple]] = {}


def local_partials(g: Graph, node: Node) -> list[sympy.Expr]:
    """The partial derivative of ``node`` with respect to each of its inputs.

    Each is a sympy expression over the inputs' symbols and the node's own.
    """
    symbols = [g[i].symbol for i in node.inputs]
    if len(symbols) > len(PLACEHOLDERS):
        _extend_placeholders(len(symbols))
    placeholders = PLACEHOLDERS[: len(symbols)]
    template = rename(node.expr, dict(zip(symbols, placeholders)))
    key = (template, fn.current_kinks().name)
    if key not in _partials_cache:
        _partials_cache[key] = [
            _partial(template, p) for p in placeholders
        ]
    back = dict(zip(placeholders, symbols))
    back[OUTPUT] = node.symbol
    return [rename(d, back) for d in _partials_cache[key]]


def contribution_templates(g: Graph, node: Node) -> tuple[list, dict]:
    """Per input of ``node``: the conditions that select it and the product
    ``COTANGENT * partial``, both over placeholders; and the renaming back.

    The products are derived (and split by :func:`split_selection`) once per
    kind of node; instantiating one is a renaming, with no sympy evaluation.
    """
    symbols = [g[i].symbol for i in node.inputs]
    if len(symbols) > len(PLACEHOLDERS):
        _extend_placeholders(len(symbols))
    placeholders = PLACEHOLDERS[: len(symbols)]
    template = rename(node.expr, dict(zip(symbols, placeholders)))
    key = (template, fn.current_kinks().name)
    if key not in _products_cache:
        if key not in _partials_cache:
            _partials_cache[key] = [_partial(template, p) for p in placeholders]
        _products_cache[key] = [
            _split_product(d) for d in _partials_cache[key]
        ]
    back = dict(zip(placeholders, symbols))
    back[OUTPUT] = node.symbol
    return _products_cache[key], back


def _split_product(partial: sympy.Expr) -> tuple[list, sympy.Expr]:
    conditions, rest = split_selection(partial)
    return conditions, COTANGENT * rest


def split_selection(partial: sympy.Expr) -> tuple[list, sympy.Expr]:
    """Split ``partial`` into conditions and the rest.

    ``partial == where(all conditions, rest, 0)``: the factors that select
    (``where(c, a, 0)``, ``where(c, 0, b)``, and ``step(u)``, which is 0
    below 0) become conditions.
    """
    conditions = []
    rest = []
    pending = list(sympy.Mul.make_args(partial))
    while pending:
        factor = pending.pop()
        if isinstance(factor, fn.where) and factor.args[2] == 0:
            conditions.append(factor.args[0])
            pending.extend(sympy.Mul.make_args(factor.args[1]))
        elif isinstance(factor, fn.where) and factor.args[1] == 0:
            conditions.append(sympy.Not(factor.args[0]))
            pending.extend(sympy.Mul.make_args(factor.args[2]))
        elif isinstance(factor, fn.step) and fn.current_kinks().step_at_zero == 0:
            conditions.append(factor.args[0] > 0)
        elif isinstance(factor, fn.step):
            # step(0) is not 0 here: it selects u >= 0 and keeps its value.
            conditions.append(factor.args[0] >= 0)
            rest.append(factor)
        else:
            rest.append(factor)
    return conditions, sympy.Mul(*rest)


def rename(expr: sympy.Basic, mapping: dict) -> sympy.Basic:
    """``expr`` with symbols renamed by ``mapping``, without re-evaluating.

    Renaming one symbol to another cannot make an expression simpler, and
    skipping sympy's evaluation (``sin`` looks for multiples of pi, ``Mul``
    sorts and combines) is what keeps a chain of 20,000 nodes fast.  The
    expressions are a node's, so small.
    """
    if expr in mapping:
        return mapping[expr]
    if not expr.args:
        return expr
    args = tuple(rename(a, mapping) for a in expr.args)
    if args == expr.args:
        return expr
    return _rebuild(expr, args)


def _rebuild(expr: sympy.Basic, args: tuple) -> sympy.Basic:
    if isinstance(expr, (sympy.Add, sympy.Mul)):
        return type(expr)._from_args(args)
    if isinstance(expr, sympy.Function) and not isinstance(
            expr, sympy.core.function.AppliedUndef):
        return sympy.Basic.__new__(type(expr), *args)
    try:
        return expr.func(*args, evaluate=False)
    except TypeError:
        return expr.func(*args)


def _extend_placeholders(n: int) -> None:
    PLACEHOLDERS.extend(
        sympy.Symbol(f"_{i}", real=True) for i in range(len(PLACEHOLDERS), n)
    )


def _partial(template: sympy.Expr, wrt: sympy.Symbol) -> sympy.Expr:
    derivative = _guarded_powers(template).diff(wrt)
    derivative = derivative.replace(
        lambda e: isinstance(e, _power), lambda e: sympy.Pow(*e.args))
    if _is_abstract(template):
        # Reusing the output inside Derivative(f(_0), _0) would change it.
        return derivative
    return derivative.xreplace({template: OUTPUT})


def _is_abstract(expr: sympy.Expr) -> bool:
    return any(isinstance(f, sympy.core.function.AppliedUndef)
               for f in expr.atoms(sympy.Function))


def _guarded_powers(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with each power whose exponent varies written as
    :class:`_power`, whose derivatives avoid the textbook's ``0*inf``.

    Every such power is guarded, not only a node that is one: the first
    derivative of ``x^y`` holds ``x^(y - 1)``, and its own derivative must
    be as careful at ``x = 0`` (``d2/dx2 x^2`` is 2 there, not NaN).
    """
    return expr.replace(
        lambda e: isinstance(e, sympy.Pow) and e.exp.free_symbols
        and not e.base.has(sympy.E) and not (
            e.base.free_symbols & e.exp.free_symbols),
        lambda e: _power(*e.args))


class _power(sympy.Function):
    """``x^y`` while a partial is derived, with PyTorch's values where the
    textbook formula is ``0*inf``.

    ``d/dx x^y`` is 0 where ``y == 0`` (``x^0`` is 1 for every x), and
    ``d/dy x^y`` is 0 where ``x == 0`` and ``y >= 0`` (``0^y`` is flat
    there).  A negative constant base has no real logarithm: the slope in
    the exponent is NaN, as float64's ``log`` of it.
    """

    nargs = 2

    def fdiff(self, argindex=1):
        base, exponent = self.args
        if argindex == 1:
            return fn.where(sympy.Eq(exponent, 0), 0,
                            exponent * _power(base, exponent - 1))
        if base.is_zero:
            # 0^y is 0 for y > 0, 1 at 0 and infinite below: flat for y >= 0.
            return fn.where(exponent >= 0, 0, sympy.nan)
        if base.is_number and base.is_negative:
            return sympy.nan
        if base.is_number:
            return self * sympy.log(base)
        flat = sympy.And(sympy.Eq(base, 0), exponent >= 0)
        return fn.where(flat, 0, self * sympy.log(base))


# Tensor operations.  Each rule takes the graph, the node and its cotangent
# (a node id) and returns one cotangent contribution per input: a node id,
# or None where the input receives nothing.


def _sum_vjp(g: Graph, node: Node, cotangent: str):
    from symgrad_cli import ops

    (source,) = node.inputs
    axis, keepdims = node.params
    shape = g[source].shape
    if axis is not None and not keepdims:
        kept = shape[:axis] + (1,) + shape[axis + 1:]
        cotangent = ops.reshape(g, cotangent, kept)
    return [ops.broadcast_to(g, cotangent, shape)]


def _matmul_vjp(g: Graph, node: Node, cotangent: str):
    from symgrad_cli import ops

    a, b = node.inputs
    sa, sb = g[a].shape, g[b].shape
    if len(sa) == 1 and len(sb) == 1:
        return [ops.mul(g, cotangent, b), ops.mul(g, cotangent, a)]
    if len(sa) == 1:
        # (k,) @ (k, n): ct (n,)
        return [ops.matmul(g, b, cotangent),
                ops.outer(g, a, cotangent)]
    if len(sb) == 1:
        # (m, k) @ (k,): ct (m,)
        return [ops.outer(g, cotangent, b),
                ops.matmul(g, ops.transpose(g, a), cotangent)]
    return [ops.matmul(g, cotangent, ops.transpose(g, b)),
            ops.matmul(g, ops.transpose(g, a), cotangent)]


def _sum_to_vjp(g: Graph, node: Node, cotangent: str):
    from symgrad_cli import ops

    return [ops.broadcast_to(g, cotangent, g[node.inputs[0]].shape)]


def _broadcast_to_vjp(g: Graph, node: Node, cotangent: str):
    from symgrad_cli import ops

    return [ops.sum_to(g, cotangent, g[node.inputs[0]].shape)]


def _reshape_vjp(g: Graph, node: Node, cotangent: str):
    from symgrad_cli import ops

    return [ops.reshape(g, cotangent, g[node.inputs[0]].shape)]


def _transpose_vjp(g: Graph, node: Node, cotangent: str):
    from symgrad_cli import ops

    axes = ops.permutation(node)
    inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
    return [ops.transpose(g, cotangent, inverse)]


#: The vjp rule of each tensor operation.
TENSOR_VJPS = {
    "sum": _sum_vjp,
    "matmul": _matmul_vjp,
    "sum_to": _sum_to_vjp,
    "broadcast_to": _broadcast_to_vjp,
    "reshape": _reshape_vjp,
    "transpose": _transpose_vjp,
}


def tensor_vjp(g: Graph, node: Node, cotangent: str) -> list:
    """The cotangent contributions of a tensor node's inputs.

    Raises
    ------
    SymgradError
        When no rule exists for the node's op.
    """
    rule = TENSOR_VJPS.get(node.op)
    if rule is None:
        raise SymgradError(
            f"no derivative rule for the tensor operation {node.op!r} "
            f"(node {node.id})"
        )
    return rule(g, node, cotangent)

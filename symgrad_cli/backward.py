"""The backward builder: reverse mode, symbol to symbol.

One sweep walks the nodes between the output and the ``wrt`` nodes in
reverse topological order.  Each node's cotangent is the sum of the
contributions its consumers sent it; the node then sends each input its
cotangent times the local partial (elementwise) or its vjp (tensor op).
Every contribution is a new node, or an existing one where the product
reduces to it (the derivative of ``x*y`` with respect to ``x`` is ``y``), or
a plain number; a symbolic zero sends nothing.

Selections mask.  A partial that selects (``where(c, a, b)`` with respect to
``b`` is ``where(c, 0, 1)``; ``relu'`` is ``step``) marks the contribution
with its condition, and the mark travels with the cotangent: every later
product with a partial that may be infinite or NaN is wrapped in the same
``where``.  So the branch not taken contributes an exact zero, never
``0*inf = NaN`` (the trap of ``where(x < 1, x, sqrt(x))`` at 0).

Higher orders apply the same sweep to a derivative node.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import sympy

from symgrad_cli import functions as fn
from symgrad_cli import ops
from symgrad_cli.graph import Graph
from symgrad_cli.rules import (
    COTANGENT,
    contribution_templates,
    local_partials,
    rename,
    split_selection,
    tensor_vjp,
)

Operand = str | sympy.Basic
_NO_MASK: frozenset = frozenset()


@dataclass(frozen=True)
class _Cotangent:
    """A cotangent contribution and the conditions outside which it is 0."""

    value: Operand
    mask: frozenset = _NO_MASK


def gradients(g: Graph, output: Operand, wrt: list[str],
              order: int = 1) -> dict[str, Operand]:
    """The derivative of ``output`` with respect to each node of ``wrt``.

    New nodes get role ``"backward"`` and the given ``order``.

    Returns
    -------
    dict
        Node id of ``wrt`` to a node id, or to a sympy number (0 where the
        output does not depend on it).
    """
    zero = {w: sympy.Integer(0) for w in wrt}
    if not isinstance(output, str):
        return zero
    sweep = _nodes_between(g, output, set(wrt))
    incoming: dict[str, list[_Cotangent]] = {
        output: [_Cotangent(sympy.Integer(1))]
    }
    found = {}
    with g.building("backward", order):
        for node_id in reversed(sweep):
            parts = incoming.pop(node_id, None)
            if not parts:
                continue
            cotangent = _accumulate(g, parts, node_id)
            if node_id in zero:
                found[node_id] = cotangent.value
            for input_id, part in _contributions(g, node_id, cotangent, sweep):
                incoming.setdefault(input_id, []).append(part)
    return {**zero, **found}


def derivatives(g: Graph, output: Operand, wrt: list[str],
                order: int = 1) -> dict[tuple[str, ...], Operand]:
    """Every derivative of ``output`` of the given order.

    Keys follow ``itertools.product(wrt, repeat=order)``: ``("x", "y")`` is
    the derivative with respect to ``x``, then ``y``.  A derivative with
    respect to a tensor differentiated again is a Jacobian: ``("x", "y")``
    has shape ``shape(x) + shape(y)``.
    """
    level = {(): output}
    for k in range(1, order + 1):
        following = {}
        for key, value in level.items():
            if k == 1:
                grads = gradients(g, value, wrt, order=k)
            else:
                grads = _jacobian(g, value, wrt, order=k)
            for w in wrt:
                following[key + (w,)] = grads[w]
        level = following
    result = {}
    for key in itertools.product(wrt, repeat=order):
        shape = sum((g[w].shape for w in key), ())
        value = level[key]
        if shape and not isinstance(value, str):
            # A zero of a tensor is an array of zeros at the edge.
            with g.building("backward", order):
                value = ops.broadcast_to(g, g.as_node(value), shape)
        result[key] = value
    return result


def _jacobian(g: Graph, value: Operand, wrt: list[str],
              order: int) -> dict[str, Operand]:
    """:func:`gradients` of ``value``, element by element when it is a
    tensor: of shape ``S``, its derivative with respect to ``w`` has shape
    ``S + shape(w)``, one reverse sweep per element.
    """
    shape = ops.shape_of(g, value)
    if shape == ():
        return gradients(g, value, wrt, order)
    from symgrad_cli.convolution import put, take

    with g.building("backward", order):
        rows = [_jacobian(g, take(g, value, i, axis=0), wrt, order)
                for i in range(shape[0])]
    jacobian = {}
    for w in wrt:
        row_shape = shape[1:] + g[w].shape
        total: Operand = sympy.Integer(0)
        with g.building("backward", order):
            for i, row in enumerate(rows):
                if isinstance(row[w], sympy.Basic) and row[w] == 0:
                    continue
                part = ops.broadcast_to(g, g.as_node(row[w]), row_shape)
                placed = put(g, part, i, 0, shape[0])
                total = placed if total == 0 else ops.add(g, total, placed)
        jacobian[w] = total
    return jacobian


def _nodes_between(g: Graph, output: str, wrt: set[str]) -> list[str]:
    """The ancestors of ``output`` that depend on a ``wrt`` node, in order."""
    reached = set()
    sweep = []
    for node_id in g.ancestors([output]):
        node = g[node_id]
        if node_id in wrt or any(i in reached for i in node.inputs):
            reached.add(node_id)
            sweep.append(node_id)
    return sweep


def _accumulate(g: Graph, parts: list[_Cotangent], node_id: str) -> _Cotangent:
    """The sum of a node's incoming contributions, recorded as its adjoint."""
    if len(parts) == 1:
        total = parts[0]
    else:
        value = _sum(g, [p.value for p in parts], node_id)
        total = _Cotangent(value, _union(p.mask for p in parts))
    if isinstance(total.value, str):
        g.mark_adjoint(total.value, node_id)
    return total


def _union(masks) -> frozenset:
    """The mask of a sum: zero only where every part is, so the sum is zero
    outside the union of the parts' regions (none when a part has none)."""
    masks = list(dict.fromkeys(masks))
    if not all(masks):
        return _NO_MASK
    if len(masks) == 1:
        return masks[0]
    key = sympy.default_sort_key
    regions = [sympy.And(*sorted(m, key=key)) for m in masks]
    union = frozenset({sympy.Or(*sorted(regions, key=key))})
    return union if _comparisons(union) <= MASK_COMPARISONS else _NO_MASK


#: The most comparisons a mask keeps.  A mask may always be weakened (a
#: value that is zero outside a region is zero outside a larger one), and
#: without a bound, masks would grow with the depth of the graph and double
#: where paths merge.
MASK_COMPARISONS = 8


def _comparisons(mask: frozenset) -> int:
    return sum(len(c.atoms(sympy.core.relational.Relational)) or 1
               for c in mask)


def _restricted(g: Graph, mask: frozenset, shape, aligned: bool) -> frozenset:
    """The conditions of ``mask`` that still hold for a value of ``shape``.

    A scalar condition holds for anything computed linearly from a zero
    cotangent (every vjp is linear in it).  A tensor condition holds only
    element by element (``aligned``), and only where it does not have more
    elements than the value: a sum over its axes mixes selected and
    unselected elements.
    """
    kept = []
    for condition in mask:
        cshape = g._broadcast(
            [g.node_of(s).shape for s in condition.free_symbols], "where")
        if cshape == () or (aligned and _fits(cshape, shape)):
            kept.append(condition)
    return frozenset(kept)


def _fits(inner, outer) -> bool:
    try:
        return tuple(np.broadcast_shapes(inner, outer)) == tuple(outer)
    except ValueError:
        return False


def _sum(g: Graph, values: list[Operand], node_id: str) -> Operand:
    shape = g[node_id].shape
    if shape and any(not isinstance(v, str) or g[v].shape != shape for v in values):
        values = [ops.broadcast_to(g, g.as_node(v), shape) for v in values]
    return g.from_expr(sympy.Add(*[_look_through(g, v) for v in values]), "add")


def _contributions(g: Graph, node_id: str, cotangent: _Cotangent,
                   sweep: list[str]):
    """(input id, contribution) pairs a node sends its inputs."""
    node = g[node_id]
    if node.op in ("input", "constant") or _is_boolean(node):
        return []
    if node.params_op:
        return _tensor_contributions(g, node, cotangent)
    symbol = _look_through(g, cotangent.value)
    if isinstance(symbol, sympy.Symbol) and not cotangent.mask:
        return _templated_contributions(g, node, symbol)
    partials = local_partials(g, node)
    pairs = []
    for input_id, partial in zip(node.inputs, partials):
        if partial == 0 or _is_boolean(g[input_id]):
            continue
        part = _product(g, cotangent, partial)
        if part.value == 0:
            continue
        value, shape = part.value, g[input_id].shape
        if shape != ops.shape_of(g, value):
            value = ops.sum_to(g, g.as_node(value), shape)
        mask = _restricted(g, part.mask, shape, aligned=True)
        pairs.append((input_id, _Cotangent(value, mask)))
    return pairs


def _templated_contributions(g: Graph, node, cotangent: sympy.Symbol):
    """The common case, an unmasked cotangent node: rename cached products."""
    templates, back = contribution_templates(g, node)
    back[COTANGENT] = cotangent
    pairs = []
    for input_id, (conditions, product) in zip(node.inputs, templates):
        if product == 0 or _is_boolean(g[input_id]):
            continue
        value = rename(product, back)
        mask = frozenset(rename(c, back) for c in conditions)
        if mask:
            condition = sympy.And(*sorted(mask, key=sympy.default_sort_key))
            value = fn.where(condition, value, 0)
        value, shape = g.from_expr(value, "mul"), g[input_id].shape
        if shape != ops.shape_of(g, value):
            value = ops.sum_to(g, g.as_node(value), shape)
        mask = _restricted(g, mask, shape, aligned=True)
        pairs.append((input_id, _Cotangent(value, mask)))
    return pairs


def _tensor_contributions(g: Graph, node, cotangent: _Cotangent):
    value = cotangent.value
    if not isinstance(value, str) or g[value].shape != node.shape:
        value = ops.broadcast_to(g, g.as_node(value), node.shape)
    parts = tensor_vjp(g, node, value)
    mask = _restricted(g, cotangent.mask, node.shape, aligned=False)
    return [(i, _Cotangent(p, mask)) for i, p in zip(node.inputs, parts)
            if p is not None and not (isinstance(p, sympy.Basic) and p == 0)]


def _product(g: Graph, cotangent: _Cotangent, partial: sympy.Expr) -> _Cotangent:
    """``cotangent * partial`` as a node, masked by every selection on its way."""
    conditions, rest = split_selection(partial)
    mask = cotangent.mask | frozenset(conditions)
    if _comparisons(mask) > MASK_COMPARISONS:
        mask = frozenset(conditions)  # the nearest selection only
    value = _look_through(g, cotangent.value) * rest
    needs_mask = conditions or (cotangent.mask and not _finite_number(rest))
    if mask and needs_mask:
        condition = sympy.And(*sorted(mask, key=sympy.default_sort_key))
        value = fn.where(condition, value, 0)
    return _Cotangent(g.from_expr(value, "mul"), mask)


def _look_through(g: Graph, value: Operand) -> sympy.Expr:
    """A cotangent's symbol, or its definition when that is a scaled symbol.

    Writing ``-g2`` where ``g2 = -t6`` gives ``t6`` back rather than a chain
    of negations.
    """
    operand = g._operand(value)
    if isinstance(value, str) and g[value].role == "backward":
        expr = g[value].expr
        if isinstance(expr, sympy.Mul) and len(expr.args) == 2 and \
                expr.args[0].is_number and isinstance(expr.args[1], sympy.Symbol):
            return expr
    return operand


def _finite_number(expr: sympy.Basic) -> bool:
    return expr.is_number and expr.is_finite is True


def _is_boolean(node) -> bool:
    return isinstance(node.expr, sympy.logic.boolalg.Boolean) and not isinstance(
        node.expr, sympy.Symbol
    )

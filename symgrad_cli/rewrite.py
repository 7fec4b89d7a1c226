"""Simplification before lowering: a smaller graph with the same outputs.

:func:`simplify` copies the part of a graph that some output needs into a
fresh graph, twice, each time in one forward sweep over the nodes (no
recursion):

1. **Rebuild.**  Nodes no output needs are dropped.  Every node is built
   again through the graph's hash-consing, so nodes that have become equal
   are one node (common subexpressions are computed once), and each tensor
   node passes through the rules of :data:`TENSOR_REWRITES`: a transpose of a
   transpose is no transpose; ``(A.T @ B).T`` is ``B.T @ A``.  A scalar
   constant broadcast into an elementwise node is written into its
   expression as a number, and any broadcast whose consumer broadcasts
   anyway is dropped: numpy's broadcasting does that work for free.
2. **Fuse.**  An elementwise node with a single consumer, itself elementwise,
   is written into its consumer's expression (a few levels deep at most),
   and the fused expression's common factors are pulled out
   (``c*a - c*b`` is ``c*(a - b)``).  Nothing is computed twice, since only
   a node with one consumer is inlined.  Graphs of more than
   :data:`MAX_FUSION_GRAPH` nodes are not fused.

What is left is what a hand derivation writes: the gradient of
``mean(softplus(z) - y*z)`` with respect to ``z`` is one line,
``0.25*(sigmoid(z) - y)``, the textbook ``p - y``.

>>> from symgrad_cli import backward, ops
>>> g = Graph()
>>> x = g.variable("x", (3,))
>>> loss = ops.reduce_sum(g, ops.mul(g, x, x))
>>> grad = backward.gradients(g, loss, [x])[x]
>>> small, (new_loss, new_grad) = simplify(g, [loss, grad])
>>> small[new_grad].expr
2*x
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy

from symgrad_cli import ops
from symgrad_cli.graph import Graph, Node

Operand = str | sympy.Basic

#: How many elementwise nodes one fused expression may hold.
MAX_FUSED = 8

#: Graphs larger than this are not fused: sympy re-evaluates each fused
#: expression, about a millisecond a node, for a gain of Python assignments
#: rather than numpy calls on such graphs.
MAX_FUSION_GRAPH = 2000


def simplify(g: Graph, outputs: list) -> tuple[Graph, list]:
    """A new graph computing ``outputs`` with fewer operations.

    Parameters
    ----------
    g : Graph
        Left unchanged.
    outputs : list
        Node ids of ``g``, or plain numbers.

    Returns
    -------
    tuple
        The new graph and the outputs in it, in order: node ids, or numbers
        where an output became a constant scalar.
    """
    rebuilt, outputs = _sweep(g, outputs, fuse=False)
    if len(rebuilt) > MAX_FUSION_GRAPH:
        return rebuilt, outputs
    return _sweep(rebuilt, outputs, fuse=True)


def _sweep(g: Graph, outputs: list, fuse: bool) -> tuple[Graph, list]:
    """Copy the nodes ``outputs`` need into a new graph, rewriting each."""
    wanted = [o for o in outputs if isinstance(o, str)]
    order = g.ancestors(wanted)
    inline = _inlinable(g, order, set(wanted)) if fuse else set()
    # Fresh ids never take an id of g, so each copy can keep its original's.
    h = Graph(reserved=g.nodes)
    copied: dict[str, Operand] = {}
    fused: set[str] = set()
    for node_id in order:
        node = g[node_id]
        role = node.role if node.role in ("forward", "backward") else "forward"
        with h.building(role, node.order):
            if node_id in inline:
                copied[node_id] = _substituted(h, g, node, copied)
                fused.add(node_id)
            else:
                size = len(h)
                copied[node_id] = _copy(h, g, node, copied, fused)
                _keep_id(h, copied, node_id, size)
    return h, [_output(h, g, o, copied) for o in outputs]


def _keep_id(h: Graph, copied: dict, node_id: str, size: int) -> None:
    """Give a node just created for ``node_id`` that id, so the generated
    source names what the original graph (and its drawing) names."""
    value = copied[node_id]
    if not isinstance(value, str) or len(h) == size or value == node_id:
        return
    if value == next(reversed(h.nodes)) and h[value].op != "constant":
        copied[node_id] = h.name(node_id, value)
        # Not a user's name: dropping the alias keeps Graph.name's check of
        # existing aliases short.
        h.names.pop(node_id, None)


def _copy(h: Graph, g: Graph, node: Node, copied: dict, fused: set) -> Operand:
    """``node`` built in ``h`` from its inputs' copies."""
    if node.op == "input":
        return h.variable(node.id, node.shape)
    if node.op == "constant":
        if node.value is not None or node.params:
            # An array, or an opaque number sympy must not evaluate again.
            value = node.value if node.value is not None else node.expr
            return h.constant(value, opaque=bool(node.params))
        return node.expr
    if node.params_op:
        inputs = [_as_tensor(h, copied[i], g[i].shape) for i in node.inputs]
        return _rebuild_tensor(h, node, inputs)
    expr = _substituted(h, g, node, copied)
    if any(i in fused for i in node.inputs):
        expr = _factored(expr)
    return h.from_expr(expr, node.op)


def _factored(expr: sympy.Basic) -> sympy.Basic:
    """``c*a + c*b`` as ``c*(a + b)``, for the factors every term shares.

    (``sympy.factor_terms`` does more, at ten times the cost.)
    """
    if not isinstance(expr, sympy.Add):
        return expr
    terms = [set(sympy.Mul.make_args(t)) for t in expr.args]
    shared = {f for f in set.intersection(*terms) if not f.is_number}
    if not shared:
        return expr
    inner = sympy.Add(*[
        sympy.Mul(*[f for f in sympy.Mul.make_args(t) if f not in shared])
        for t in expr.args
    ])
    return sympy.Mul(*sorted(shared, key=sympy.default_sort_key), inner)


def _substituted(h: Graph, g: Graph, node: Node, copied: dict) -> sympy.Basic:
    """``node``'s expression over its inputs' copies.

    An input copied to a broadcast is replaced by what it broadcasts when
    the node's own shape does not depend on it.
    """
    operands = {i: _as_expr(h, copied[i]) for i in node.inputs}
    operands.update(_unbroadcast(h, g, node, copied))
    renamed = {g[i].symbol: operands[i] for i in node.inputs
               if operands[i] != g[i].symbol}
    if not renamed:
        # Copies keep their originals' ids, so this is the common case, and
        # skipping sympy's re-evaluation of the expression is most of the
        # time a large graph takes.
        return node.expr
    return node.expr.xreplace(renamed)


def _as_expr(h: Graph, value) -> sympy.Basic:
    """An operand as it appears inside an expression of ``h``."""
    if isinstance(value, str):
        return h[value].symbol
    return value


def _unbroadcast(h: Graph, g: Graph, node: Node, copied: dict) -> dict:
    """Inputs of ``node`` whose broadcast can be dropped, with their sources."""
    found = {}
    for input_id in node.inputs:
        value = copied[input_id]
        if not isinstance(value, str) or h[value].op != "broadcast_to":
            continue
        source = h[value].inputs[0]
        others = [_shape_in(h, g, i, copied[i]) for i in node.inputs
                  if i != input_id]
        if _broadcast_shape(others + [h[source].shape]) != node.shape:
            continue
        constant = h[source]
        scalar = constant.op == "constant" and constant.value is None \
            and not constant.params
        found[input_id] = constant.expr if scalar else constant.symbol
    return found


def _shape_in(h: Graph, g: Graph, input_id: str, value) -> tuple:
    """The shape of an input's copy: a node's, a number's, or a fused
    expression's (its original node's)."""
    if isinstance(value, str):
        return h[value].shape
    return () if value.is_number else g[input_id].shape


def _broadcast_shape(shapes: list[tuple]) -> tuple | None:
    try:
        return tuple(np.broadcast_shapes(*shapes)) if shapes else ()
    except ValueError:
        return None


def _as_tensor(h: Graph, value, shape: tuple) -> str:
    """A node of ``h`` of the given shape for a copied operand."""
    node_id = h.as_node(value)
    return ops.broadcast_to(h, node_id, shape)


def _output(h: Graph, g: Graph, output, copied: dict):
    """An output's copy, a tensor constant kept at its shape."""
    if not isinstance(output, str):
        return output
    value = copied[output]
    if not g[output].shape:
        return value
    return _as_tensor(h, value, g[output].shape)


def _inlinable(g: Graph, order: list[str], outputs: set[str]) -> set[str]:
    """Elementwise nodes that one elementwise consumer can absorb."""
    consumers: dict[str, list[str]] = {}
    for node_id in order:
        for input_id in set(g[node_id].inputs):
            consumers.setdefault(input_id, []).append(node_id)
    size = {}
    inline = set()
    for node_id in order:
        node = g[node_id]
        if not node.is_elementwise:
            continue
        size[node_id] = 1 + sum(size[i] for i in node.inputs if i in inline)
        users = consumers.get(node_id, [])
        if node_id in outputs or len(users) != 1 or size[node_id] >= MAX_FUSED:
            continue
        if g[users[0]].is_elementwise:
            inline.add(node_id)
    return inline


# Tensor rules.  Each takes the new graph, the original node and its inputs'
# copies, and returns the node's replacement, or None to keep it as it is.


def _transpose_of_product(h: Graph, node: Node, inputs: list[str]):
    """``(A @ B).T`` as ``B.T @ A.T`` when a factor already is a transpose.

    The transposes of transposes vanish, so the product costs no more
    operations and often one fewer.
    """
    product = h[inputs[0]]
    if node.params or product.op != "matmul":
        return None
    a, b = product.inputs
    if len(h[a].shape) != 2 or len(h[b].shape) != 2:
        return None
    if h[a].op != "transpose" and h[b].op != "transpose":
        return None
    return ops.matmul(h, ops.transpose(h, b), ops.transpose(h, a))


#: Rewrite rules of tensor ops, tried in order before a node is copied.
TENSOR_REWRITES: dict[str, list[Callable]] = {
    "transpose": [_transpose_of_product],
}

#: Builders that simplify as they build (a transpose of a transpose, a
#: broadcast of a broadcast): op name to (graph, node, inputs) -> operand.
TENSOR_BUILDERS: dict[str, Callable] = {
    "transpose": lambda h, node, inputs:
        ops.transpose(h, inputs[0], ops.permutation(node)),
    "broadcast_to": lambda h, node, inputs:
        ops.broadcast_to(h, inputs[0], node.params[0]),
    "sum_to": lambda h, node, inputs: ops.sum_to(h, inputs[0], node.params[0]),
    "reshape": lambda h, node, inputs: ops.reshape(h, inputs[0], node.params[0]),
}


def _rebuild_tensor(h: Graph, node: Node, inputs: list[str]) -> Operand:
    for rule in TENSOR_REWRITES.get(node.op, []):
        replacement = rule(h, node, inputs)
        if replacement is not None:
            return replacement
    builder = TENSOR_BUILDERS.get(node.op)
    if builder is not None:
        return builder(h, node, inputs)
    return h.tensor(node.op, inputs, node.params, node.shape, node.adjoint_of)

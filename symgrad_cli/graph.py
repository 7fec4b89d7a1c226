"""The computational graph: one graph type for a function and its derivatives.

Glossary, used in every module:

node
    One value of the computation, named by a sympy symbol (its ``id``).
op
    What a node computes: ``"input"`` for a variable, ``"constant"``, the name
    of an elementwise function (``"add"``, ``"sin"``, ``"expr"`` for a fused
    backward expression), or a tensor operation (``"matmul"``, ``"sum"``).
inputs
    The ids of the nodes an op reads, in order.
expr
    For an elementwise node, its meaning: a sympy expression over its inputs'
    symbols (``sin(t1)``).  For a constant, the value.
primal
    A node of the function being differentiated.
cotangent
    The derivative of the output with respect to a node (its *adjoint*).
vjp
    A vector-Jacobian product rule: a primal node's cotangent in, its inputs'
    cotangent contributions out, all as new nodes.
wrt
    The nodes a derivative is taken with respect to.
order
    0 for the function, k for the nodes the k-th derivative sweep created.

Nodes are hash-consed: asking for a node equal to an existing one (same op,
inputs and parameters) returns the existing one.  Ids follow insertion order,
which is also a topological order, so every traversal is a loop over
``Graph.nodes`` and output is identical across runs.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import sympy

from symgrad_cli.errors import ShapeError

Shape = tuple[int, ...]


@dataclass(eq=False)
class Node:
    """One node of a :class:`Graph`; see the module's glossary."""

    id: str
    op: str
    inputs: tuple[str, ...]
    shape: Shape
    expr: sympy.Basic | None
    role: str
    order: int = 0
    adjoint_of: str | None = None
    params: tuple = ()
    value: np.ndarray | None = None
    key: tuple = ()
    symbol: sympy.Symbol = field(init=False)

    def __post_init__(self):
        self.symbol = sympy.Symbol(self.id, real=True)

    @property
    def is_elementwise(self) -> bool:
        """True when ``expr`` gives the node's meaning element by element."""
        return self.op not in ("input", "constant") and not self.params_op

    @property
    def params_op(self) -> bool:
        """True for a tensor operation, defined by ``op`` and ``params``."""
        return self.expr is None and self.op not in ("input", "constant")


@dataclass
class _Context:
    role: str = "forward"
    order: int = 0
    prefix: str = "t"


class Graph:
    """A directed acyclic graph of :class:`Node`, hash-consed.

    Parameters
    ----------
    reserved : iterable of str
        Names a generated id must never take (the user's variable names).

    Examples
    --------
    >>> g = Graph()
    >>> x = g.variable("x")
    >>> y = g.apply(lambda s: sympy.sin(s) * 2, [x], op="sin")
    >>> g.nodes[y].expr
    2*sin(x)
    """

    def __init__(self, reserved: Iterable[str] = ()):
        self.nodes: dict[str, Node] = {}
        self._users: dict[str, int] = {}
        self._dag = None
        self.names: dict[str, str] = {}
        self._reserved = set(reserved)
        self._by_key: dict[tuple, str] = {}
        self._by_symbol: dict[sympy.Symbol, str] = {}
        self._counters: dict[str, int] = {}
        self._position: dict[str, int] = {}
        self._context = _Context()

    # Reading.

    def __getitem__(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self.nodes.values()))

    @property
    def dag(self):
        """The graph as a ``networkx.DiGraph`` of node ids (edges input to
        consumer), built on first use: networkx is not imported before."""
        if self._dag is None or len(self._dag) != len(self.nodes):
            import networkx

            dag = networkx.DiGraph()
            dag.add_nodes_from(self.nodes)
            dag.add_edges_from(
                (i, n.id) for n in self.nodes.values() for i in n.inputs
            )
            self._dag = dag
        return self._dag

    def node_of(self, symbol: sympy.Symbol) -> Node:
        """The node named by ``symbol``."""
        return self.nodes[self._by_symbol[symbol]]

    def variables(self) -> list[str]:
        """The ids of the input variables, sorted."""
        return sorted(n.id for n in self.nodes.values() if n.op == "input")

    def ancestors(self, outputs: Iterable[str]) -> list[str]:
        """Every node the ``outputs`` depend on, themselves included.

        Returned in topological (insertion) order; computed iteratively.
        """
        seen = set()
        stack = list(outputs)
        while stack:
            node_id = stack.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            stack.extend(self.nodes[node_id].inputs)
        return [node_id for node_id in self.nodes if node_id in seen]

    # Building.

    @contextlib.contextmanager
    def building(self, role: str, order: int):
        """Give nodes created inside the block this role and order."""
        saved = self._context
        prefix = "t" if role == "forward" else "g" if order <= 1 else f"g{order}_"
        self._context = _Context(role, order, prefix)
        try:
            yield
        finally:
            self._context = saved

    def variable(self, name: str, shape: Shape = ()) -> str:
        """The input variable ``name``, created on first use."""
        if name in self.nodes:
            return name
        self._reserved.add(name)
        node = Node(name, "input", (), tuple(shape), None, "input")
        return self._insert(node, ("input", name))

    def constant(self, value, opaque: bool = False) -> str:
        """A constant node: a sympy number, or an array for a tensor.

        An ``opaque`` constant is never written into other expressions,
        where sympy would evaluate it again.
        """
        if isinstance(value, np.ndarray):
            key = ("constant", value.shape, value.dtype.str, value.tobytes())
            expr, shape = None, value.shape
        else:
            value = sympy.sympify(value)
            key, expr, shape, value = ("constant", value), value, (), None
        if key in self._by_key:
            return self._by_key[key]
        node = Node(self._fresh("c"), "constant", (), shape, expr, "constant",
                    value=value, params=("opaque",) if opaque else ())
        return self._insert(node, key)

    def apply(self, fn, inputs: list, op: str) -> str | sympy.Basic:
        """An elementwise node computing ``fn`` of its inputs' symbols.

        ``inputs`` holds node ids and plain sympy numbers; a scalar constant
        is written into the expression rather than kept as an input.  When
        the expression reduces to a number, that number is returned; when it
        reduces to an existing node's symbol, that node's id.

        Raises
        ------
        ShapeError
            When the inputs' shapes do not broadcast together.
        """
        args = [self._operand(v) for v in inputs]
        return self.from_expr(fn(*args), op)

    def from_expr(self, expr: sympy.Basic, op: str = "expr") -> str | sympy.Basic:
        """An elementwise node whose meaning is ``expr`` over node symbols."""
        if not expr.free_symbols:
            return expr
        if isinstance(expr, sympy.Symbol):
            return self._by_symbol[expr]
        inputs = self._inputs_of(expr)
        shape = self._broadcast([self.nodes[i].shape for i in inputs], op)
        key = ("elementwise", expr)
        if key in self._by_key:
            return self._by_key[key]
        node = Node(self._fresh(self._context.prefix), op, inputs, shape, expr,
                    self._context.role, self._context.order)
        return self._insert(node, key)

    def tensor(self, op: str, inputs: list[str], params: tuple, shape: Shape,
               adjoint_of: str | None = None) -> str:
        """A tensor operation node, defined by ``op`` and ``params``."""
        key = ("tensor", op, tuple(inputs), params)
        if key in self._by_key:
            return self._by_key[key]
        node = Node(self._fresh(self._context.prefix), op, tuple(inputs),
                    tuple(shape), None, self._context.role, self._context.order,
                    adjoint_of, params)
        return self._insert(node, key)

    def as_node(self, value) -> str:
        """A node id for ``value``, which may be a plain number."""
        if isinstance(value, str):
            return value
        return self.constant(value)

    def name(self, name: str, node_id: str) -> str:
        """Bind the user's ``name`` to a node, renaming it when it is fresh.

        A node created by the statement that names it, and not yet used by
        another node, takes the name as its id; otherwise the name is an
        alias of the existing node.
        """
        self._reserved.add(name)
        node = self.nodes[node_id]
        fresh = node.op not in ("input", "constant") and node_id not in self.names.values()
        unused = not self._users.get(node_id)
        if fresh and unused and name not in self.nodes:
            node_id = self._rename(node_id, name)
        self.names[name] = node_id
        return node_id

    def mark_adjoint(self, node_id: str, primal_id: str) -> None:
        """Record that backward node ``node_id`` is the cotangent of a node."""
        node = self.nodes[node_id]
        if node.role == "backward" and node.adjoint_of is None:
            node.adjoint_of = primal_id

    def prune(self, keep: Iterable[str]) -> None:
        """Drop every node that no node of ``keep`` depends on.

        Input variables stay: a variable the text names is one of the
        function's variables even where it cancels (its derivative is 0).
        """
        inputs = [n.id for n in self.nodes.values() if n.op == "input"]
        needed = set(self.ancestors([*keep, *inputs]))
        for node_id in [n for n in self.nodes if n not in needed]:
            node = self.nodes.pop(node_id)
            del self._by_symbol[node.symbol]
            del self._by_key[node.key]
            self._users.pop(node_id, None)
            for input_id in node.inputs:
                if input_id in self._users:
                    self._users[input_id] -= 1
        self._dag = None
        self.names = {k: v for k, v in self.names.items() if v in needed}

    # Internals.

    def _operand(self, value):
        if isinstance(value, str):
            node = self.nodes[value]
            if node.op == "constant" and node.value is None and not node.params:
                return node.expr
            return node.symbol
        return sympy.sympify(value)

    def _inputs_of(self, expr: sympy.Basic) -> tuple[str, ...]:
        ids = {self._by_symbol[s] for s in expr.free_symbols}
        return tuple(sorted(ids, key=self._position.__getitem__))

    def _broadcast(self, shapes: list[Shape], op: str) -> Shape:
        if all(s == () for s in shapes):
            return ()
        try:
            return tuple(np.broadcast_shapes(*shapes)) if shapes else ()
        except ValueError:
            listed = " and ".join(str(s) for s in shapes)
            raise ShapeError(
                f"{op}: shapes {listed} do not broadcast together"
            ) from None

    def _fresh(self, prefix: str) -> str:
        count = self._counters.get(prefix, 0)
        while True:
            count += 1
            candidate = f"{prefix}{count}"
            if candidate not in self.nodes and candidate not in self._reserved:
                self._counters[prefix] = count
                return candidate

    def _insert(self, node: Node, key: tuple) -> str:
        if key in self._by_key:
            return self._by_key[key]
        self._by_key[key] = node.id
        node.key = key
        self.nodes[node.id] = node
        self._position[node.id] = len(self._position)
        self._by_symbol[node.symbol] = node.id
        for input_id in node.inputs:
            self._users[input_id] = self._users.get(input_id, 0) + 1
        self._dag = None
        return node.id

    def _rename(self, old: str, new: str) -> str:
        node = self.nodes.pop(old)
        del self._by_symbol[node.symbol]
        node.id = new
        node.symbol = sympy.Symbol(new, real=True)
        # Unused by any node, it may move to the end of insertion order.
        self.nodes[new] = node
        self._position[new] = len(self._position)
        self._by_symbol[node.symbol] = new
        self._by_key[node.key] = new
        self._users[new] = self._users.pop(old, 0)
        self._dag = None
        return new

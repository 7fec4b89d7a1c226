"""Drawing: a graph and its derivative graph, in one Graphviz picture.

Forward nodes and derivative (backward) nodes share the picture and differ in
style; a dashed edge runs from each derivative node to the node it is the
derivative for (its ``adjoint_of``), and each derivative order has its own
shade.  Inputs, parameters and constants have their own shapes, and a legend
names every style used.  Given a point, each node also shows its value and
each forward node its gradient, the derivative of the output with respect to
it.

A graph over ``max_nodes`` is drawn coarser: the nodes of one kind, order,
operation and shape merge into one box that shows their count, so an unrolled
recurrence is drawn folded, as a cycle.

Labels are Graphviz HTML-like labels whose text is escaped in full (``&``,
``<``, ``>``, quotes, and the backslash, which Graphviz reads as an escape
even there: see :func:`escape`).  DOT ids are node ids where those are plain
identifiers and a position otherwise, so the same graph gives byte-identical
DOT.

>>> from symgrad_cli.api import differentiate
>>> drawing = draw_derivation(differentiate("sigmoid(w*x + b)"))
>>> drawing.counts["backward"]
3
"""

from __future__ import annotations

import colorsys
import copy
import html
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import graphviz
import numpy as np

from symgrad_cli import backward, export, files, lower
from symgrad_cli import functions as fn
from symgrad_cli.errors import InputError, RunError
from symgrad_cli.graph import Graph, Node

#: Graphs with more nodes than this are drawn coarse by default.
MAX_NODES = 200
#: The output formats, by file extension.
FORMATS = ("png", "svg", "pdf", "dot")
#: Definitions longer than this are cut short in a label.
LABEL_WIDTH = 36
#: PNG resolution: sharp on high-density screens, still a small file.
PNG_DPI = 120

INSTALL_HINT = (
    "install Graphviz (apt-get install graphviz, brew install graphviz, or "
    "https://graphviz.org/download/)"
)

_FONT = "Helvetica,Arial,sans-serif"
_INK = "#334155"
_FORWARD = {"fill": "#dbeafe", "line": "#1d4ed8"}
_INPUT = {"fill": "#dcfce7", "line": "#15803d"}
_PARAMETER = {"fill": "#bbf7d0", "line": "#166534"}
_CONSTANT = {"fill": "#f1f5f9", "line": "#64748b"}
_SHAPES = {"input": "ellipse", "parameter": "cylinder",
           "constant": "note", "forward": "box", "backward": "box"}
_KIND_NAMES = {"input": "input", "parameter": "parameter (wrt)",
               "constant": "constant", "forward": "forward operation"}
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class GraphvizMissingError(RunError):
    """Graphviz's ``dot`` program is not installed (exit status 1)."""


@dataclass
class Rendering:
    """A drawing of a graph: DOT source that Graphviz turns into a picture.

    Displays itself as SVG in Jupyter.

    Attributes
    ----------
    digraph : graphviz.Digraph
    counts : dict
        Graph nodes drawn, by kind: ``"input"``, ``"parameter"``,
        ``"constant"``, ``"forward"``, ``"backward"``.
    boxes : int
        DOT nodes drawn for the graph, the legend left out; fewer than the
        graph's nodes when ``coarse``.
    coarse : bool
        True when nodes were merged into boxes with counts.
    message : str or None
        What a reader should know about the drawing (that it is coarse).
    """

    digraph: graphviz.Digraph
    counts: dict[str, int]
    boxes: int
    coarse: bool = False
    message: str | None = None

    @property
    def source(self) -> str:
        """The DOT source."""
        return self.digraph.source

    def pipe(self, fmt: str) -> bytes:
        """The picture in format ``fmt``, drawn by Graphviz's ``dot``.

        Raises
        ------
        RunError
            When ``dot`` fails; :class:`GraphvizMissingError` when it is missing.
        """
        digraph = self.digraph
        if fmt == "png":
            digraph = digraph.copy()
            digraph.graph_attr["dpi"] = str(PNG_DPI)
        try:
            return digraph.pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise GraphvizMissingError(
                f"Graphviz's dot program was not found; {INSTALL_HINT}"
            ) from None
        except graphviz.CalledProcessError as err:
            detail = (err.stderr or b"").decode(errors="replace").strip()
            raise RunError(f"Graphviz's dot failed: {detail}") from None

    def save(self, path: str | os.PathLike, fmt: str | None = None) -> Path:
        """Write the picture to ``path``; see :func:`save`."""
        return save(self, path, fmt)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        return self.digraph._repr_mimebundle_(include, exclude, **kwargs)


@dataclass
class Overlay:
    """What a drawing shows besides the graph itself.

    Attributes
    ----------
    marks : dict
        Node id to lines naming what it holds (``"output f"``, ``"∂f/∂x"``).
    parameters : frozenset
        Ids of the inputs differentiated against, drawn as parameters.
    point : bool
        True when values were asked for.
    values, gradients : dict or None
        Node id to its value, and to the output's derivative with respect to
        it; see :func:`node_values`.
    notes : list of str
        Lines drawn beside the graph: derivatives that are plain numbers.
    """

    marks: dict[str, list[str]] = field(default_factory=dict)
    parameters: frozenset = frozenset()
    point: bool = False
    values: dict | None = None
    gradients: dict | None = None
    notes: list[str] = field(default_factory=list)


# Public entry points.


def draw_derivation(derivation, at: dict | None = None, *,
                    forward_only: bool = False, rankdir: str = "TB",
                    max_nodes: int = MAX_NODES) -> Rendering:
    """Draw a derivation: the function's graph and its derivative graph.

    Parameters
    ----------
    derivation : symgrad_cli.api.Derivation
    at : dict, optional
        A value for each variable; each node then shows its value and each
        forward node its gradient.
    forward_only : bool
        Leave the derivative nodes out.
    rankdir : {"TB", "LR"}
        Top to bottom or left to right.
    max_nodes : int
        Above this many nodes, draw coarse.

    Returns
    -------
    Rendering

    Raises
    ------
    InputError
        For a missing or unknown variable in ``at``, or an abstract function.
    """
    graph = derivation.graph
    output = derivation.output if isinstance(derivation.output, str) else None
    drawing = Overlay(parameters=frozenset(
        w for w in derivation.wrt if w in graph.nodes and graph[w].op == "input"
    ), point=at is not None)
    _mark(drawing, output, "output f")
    for key, target in derivation.derivatives.items():
        _mark_derivative(drawing, graph, "f", key.split(","), target)
    if at is not None and _fits(graph, forward_only, max_nodes):
        derivation.evaluate(at)  # names unknown variables, as diff does
        drawing.values, drawing.gradients = node_values(
            graph, output, at, derivation.kinks)
    return draw(graph, drawing, forward_only=forward_only, rankdir=rankdir,
                max_nodes=max_nodes, title=derivation.program.text)


def draw_model(model, at: dict | None = None, *, forward_only: bool = False,
               rankdir: str = "TB", max_nodes: int = MAX_NODES) -> Rendering:
    """Draw a built-in model: its loss and the loss's gradient graph.

    Parameters
    ----------
    model : symgrad_cli.models.Model
        With ``graph``, ``loss``, ``gradients`` (parameter id to node id)
        and ``parameters`` (parameter id to its initial value).
    at : dict, optional
        Values of the model's inputs; the parameters default to their
        initial values.  Each node then shows its value and gradient.

    Returns
    -------
    Rendering

    Raises
    ------
    InputError
        When ``at`` lacks a value the graph needs.
    """
    graph = model.graph
    drawing = Overlay(parameters=frozenset(model.parameters),
                      point=at is not None)
    _mark(drawing, model.loss, "output: loss")
    for name, target in model.gradients.items():
        _mark_derivative(drawing, graph, "loss", [name], target)
    if at is not None and _fits(graph, forward_only, max_nodes):
        values = {**model.parameters, **at}
        drawing.values, drawing.gradients = node_values(graph, model.loss, values)
    return draw(graph, drawing, forward_only=forward_only, rankdir=rankdir,
                max_nodes=max_nodes)


def node_values(graph: Graph, output: str | None, values: dict,
                kinks: str | None = None) -> tuple[dict, dict]:
    """Every node's value at a point, and each forward node's gradient.

    The gradient of a node is the derivative of ``output`` with respect to
    it.  It is built by one more backward sweep on a copy of the graph, so
    nodes whose cotangent the drawn graph holds only implicitly (the inputs
    of an addition share one) get a value too; ``graph`` is left unchanged.

    Returns
    -------
    values : dict
        Node id to value.
    gradients : dict
        Node id of each input and forward node to its gradient.

    Raises
    ------
    InputError
        When a variable has no value, or for an abstract function.
    """
    ids = list(graph.nodes)
    primals = [n.id for n in graph if n.role in ("input", "forward")]
    work = copy.deepcopy(graph)
    grads = {}
    if output is not None:
        with fn.using_kinks(kinks or fn.current_kinks().name):
            grads = backward.gradients(work, output, primals)
    wanted = [grads[p] for p in primals if p in grads]
    results = lower.evaluate(work, ids + wanted, values, checks=False,
                             kinks=kinks)
    by_id = dict(zip(ids, results))
    gradients = dict(zip([p for p in primals if p in grads], results[len(ids):]))
    return by_id, gradients


def draw(graph: Graph, drawing: Overlay | None = None, *,
         forward_only: bool = False, rankdir: str = "TB",
         max_nodes: int = MAX_NODES, title: str | None = None) -> Rendering:
    """Draw ``graph``, node by node, or coarse when it is over ``max_nodes``.

    Parameters
    ----------
    graph : Graph
    drawing : Overlay, optional
        Marks, parameters, values and notes to show.
    forward_only, rankdir, max_nodes
        As for :func:`draw_derivation`.
    title : str, optional
        A line above the picture.

    Returns
    -------
    Rendering

    Raises
    ------
    ValueError
        For a ``rankdir`` other than ``"TB"`` or ``"LR"``.
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR', got {rankdir!r}")
    drawing = drawing or Overlay()
    nodes = [n for n in graph if not (forward_only and n.role == "backward")]
    digraph = _new_digraph(rankdir, title)
    counts = Counter(_kind(n, drawing.parameters) for n in nodes)
    if len(nodes) > max_nodes:
        boxes = _draw_coarse(digraph, graph, nodes, drawing, max_nodes)
        message = (
            f"the graph has {len(nodes)} nodes, more than the {max_nodes} "
            f"drawn one by one: nodes of the same kind, order, operation and "
            f"shape are merged into {boxes} boxes, each with its count"
        )
        if drawing.point:
            message += "; values are shown only when nodes are drawn one by one"
    else:
        boxes = _draw_nodes(digraph, graph, nodes, drawing)
        message = None
    _draw_legend(digraph, nodes, drawing.parameters, rankdir)
    kinds = ("input", "parameter", "constant", "forward", "backward")
    return Rendering(digraph, {k: counts.get(k, 0) for k in kinds}, boxes,
                     coarse=message is not None, message=message)


# Writing files.


def output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format to write: ``fmt``, or else the extension of ``path``.

    Raises
    ------
    InputError
        For a format or extension other than png, svg, pdf and dot.
    """
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r}; use png, svg, pdf or dot")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    found = f"the extension '.{suffix}'" if suffix else "no extension"
    raise InputError(
        f"cannot tell the picture format of {os.fspath(path)!r}: it has "
        f"{found}; name it .png, .svg, .pdf or .dot, or give --format"
    )


def save(rendering: Rendering, path: str | os.PathLike,
         fmt: str | None = None) -> Path:
    """Write ``rendering`` to ``path`` as PNG, SVG, PDF or DOT.

    The file is written whole or not at all.  Without Graphviz's ``dot``
    program, the DOT source is written beside ``path`` (``graph.png`` gives
    ``graph.dot``) and the error says so.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        For an unknown format or extension.
    RunError
        When the file cannot be written, or ``dot`` is missing or fails.
    """
    path = Path(path)
    fmt = output_format(path, fmt)
    if fmt == "dot":
        _write(path, rendering.source.encode("utf-8"))
        return path
    try:
        data = rendering.pipe(fmt)
    except GraphvizMissingError:
        fallback = path.with_suffix(".dot")
        _write(fallback, rendering.source.encode("utf-8"))
        raise RunError(
            f"Graphviz's dot program was not found, so {path} was not drawn; "
            f"the graph is in {fallback}. To draw it, {INSTALL_HINT}, then "
            f"run: dot -T{fmt} {fallback} -o {path}"
        ) from None
    _write(path, data)
    return path


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` whole or not at all (:func:`files.replacing`)."""
    try:
        with files.replacing(path) as temporary:
            temporary.write_bytes(data)
    except OSError as err:
        raise RunError(f"cannot write {path}: {err.strerror or err}") from None


# Marks: the output and derivative results, named in their labels.


def _mark(drawing: Overlay, node_id, text: str) -> None:
    if isinstance(node_id, str):
        drawing.marks.setdefault(node_id, []).append(text)


def _mark_derivative(drawing: Overlay, graph: Graph, of: str,
                     wrt: list[str], target) -> None:
    """Name the node holding a derivative, or note a derivative that is a number."""
    text = derivative_name(of, wrt)
    if isinstance(target, str):
        _mark(drawing, target, text)
    else:
        drawing.notes.append(f"{text} = {export.to_text(target)}")


def derivative_name(of: str, wrt: list[str]) -> str:
    """``∂f/∂x``, ``∂²f/∂x∂y``, ``∂²f/∂x²``: a derivative, in Leibniz's way.

    >>> derivative_name("f", ["x", "x"])
    '∂²f/∂x²'
    """
    order = len(wrt)
    top = "∂" + (str(order).translate(_SUPERSCRIPTS) if order > 1 else "")
    if order > 1 and len(set(wrt)) == 1:
        below = f"∂{wrt[0]}{str(order).translate(_SUPERSCRIPTS)}"
    else:
        below = "".join(f"∂{w}" for w in wrt)
    return f"{top}{of}/{below}"


# Node by node.


def _fits(graph: Graph, forward_only: bool, max_nodes: int) -> bool:
    drawn = sum(1 for n in graph if not (forward_only and n.role == "backward"))
    return drawn <= max_nodes


def _new_digraph(rankdir: str, title: str | None) -> graphviz.Digraph:
    digraph = graphviz.Digraph("symgrad")
    # nslimit bounds the network simplex that places nodes: without it, a
    # few hundred nodes with long edges (an input used at every step) take
    # minutes.
    digraph.attr(rankdir=rankdir, newrank="true", nslimit="1", nodesep="0.25",
                 ranksep="0.35", fontname=_FONT, fontsize="12",
                 fontcolor=_INK, bgcolor="white")
    if title:
        digraph.attr(label=_html([[(_shorten(" ".join(title.split()), 60),
                                    "b")]]), labelloc="t")
    digraph.attr("node", fontname=_FONT, fontsize="11", fontcolor="#0f172a",
                 style="filled", penwidth="1.2", margin="0.08,0.04",
                 height="0.3")
    digraph.attr("edge", fontname=_FONT, fontsize="9", arrowsize="0.6",
                 color="#64748b", penwidth="1.0")
    return digraph


def _draw_nodes(digraph: graphviz.Digraph, graph: Graph, nodes: list[Node],
                drawing: Overlay) -> int:
    ids = _dot_ids(graph)
    drawn = {n.id for n in nodes}
    for node in nodes:
        kind = _kind(node, drawing.parameters)
        digraph.node(ids[node.id], _html(_node_lines(node, kind, drawing)),
                     **_node_style(kind, node.order))
    for node in nodes:
        for input_id in dict.fromkeys(node.inputs):
            digraph.edge(ids[input_id], ids[node.id],
                         **_edge_style(node.role, node.order))
    for node in nodes:
        if node.adjoint_of in drawn:
            digraph.edge(ids[node.id], ids[node.adjoint_of],
                         **_adjoint_style(node.order))
    if drawing.notes:
        digraph.node("#notes", _html([[(note, "")] for note in drawing.notes]),
                     shape="plaintext", style="", **{"class": "notes"})
    return len(nodes)


def _dot_ids(graph: Graph) -> dict[str, str]:
    """A DOT id per node: its own id when an identifier, else ``#`` and its
    position.

    Identifiers (``x``, ``t3``, ``α``, even ``node``) need no escape beyond
    the quotes the graphviz package adds; a ``#`` never starts one, so the
    two kinds never collide.
    """
    return {node_id: node_id if node_id.isidentifier() else f"#{position}"
            for position, node_id in enumerate(graph.nodes)}


def _kind(node: Node, parameters: frozenset) -> str:
    if node.op == "input" and node.id in parameters:
        return "parameter"
    return node.role


def _node_lines(node: Node, kind: str, drawing: Overlay) -> list:
    """A label's lines, each a list of (text, style) runs."""
    head = [(node.id, "b")]
    if kind in ("forward", "backward") or node.op == "constant":
        head.append((" = " + _shorten(export.node_text(node), LABEL_WIDTH), ""))
    lines = [head]
    if node.shape:
        lines.append([(f"shape {_shape_text(node.shape)}", "small")])
    for mark in drawing.marks.get(node.id, []):
        lines.append([(mark, "mark")])
    if drawing.values is not None and node.id in drawing.values:
        lines.append([("value ", "small"), (_value_text(drawing.values[node.id]),
                                            "")])
    if drawing.gradients is not None and node.id in drawing.gradients:
        lines.append([("grad ", "small"), (_value_text(drawing.gradients[node.id]),
                                           "grad")])
    return lines


def _node_style(kind: str, order: int) -> dict:
    colors = {"input": _INPUT, "parameter": _PARAMETER, "constant": _CONSTANT,
              "forward": _FORWARD}.get(kind)
    if colors is None:
        colors = {"fill": order_shade(order), "line": order_shade(order, 0.35)}
    style = "filled,rounded" if kind in ("forward", "backward") else "filled"
    if kind == "backward":
        style += ",bold"
    return {"shape": _SHAPES[kind], "style": style, "fillcolor": colors["fill"],
            "color": colors["line"], "class": kind}


def _edge_style(role: str, order: int) -> dict:
    """Edges into derivative nodes take their order's colour."""
    if role == "backward":
        return {"color": order_shade(order, 0.45)}
    return {}


def _adjoint_style(order: int) -> dict:
    """The dashed edge from a derivative node to the node it is for.

    It leaves the layout alone (``constraint=false``): the picture is laid
    out by the data flow only.
    """
    return {"style": "dashed", "color": order_shade(order, 0.55),
            "constraint": "false", "arrowhead": "empty", "penwidth": "0.9",
            "class": "adjoint"}


def order_shade(order: int, lightness: float | None = None) -> str:
    """The colour of derivative nodes of ``order``: orange, then redder.

    Each order moves the hue toward red and darkens it, so every order has
    its own shade; ``lightness`` overrides the darkening (for lines).
    """
    hue = ((32 - 12 * (order - 1)) % 360) / 360
    if lightness is None:
        lightness = max(0.62, 0.84 - 0.07 * (order - 1))
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, 0.95)
    return "#" + "".join(f"{round(c * 255):02x}" for c in (red, green, blue))


# Coarse drawing.


def _draw_coarse(digraph: graphviz.Digraph, graph: Graph, nodes: list[Node],
                 drawing: Overlay, max_nodes: int) -> int:
    """Merge nodes of one kind, order, op (and shape) into counted boxes.

    Inputs and parameters stay single while they are few; a box of one node
    is drawn as that node.
    """
    group_of = _groups(nodes, drawing.parameters, max_nodes, with_shape=True)
    if len(set(group_of.values())) > max_nodes:
        group_of = _groups(nodes, drawing.parameters, max_nodes, with_shape=False)
    members: dict[tuple, list[Node]] = {}
    for node in nodes:
        members.setdefault(group_of[node.id], []).append(node)
    names = {key: f"#group-{i}" for i, key in enumerate(members)}
    for key, name in names.items():
        group = members[key]
        kind = _kind(group[0], drawing.parameters)
        lines = (_node_lines(group[0], kind, Overlay(marks=drawing.marks))
                 if len(group) == 1 else _group_lines(key, len(group)))
        digraph.node(name, _html(lines), **_node_style(kind, group[0].order))
    edges: Counter = Counter()
    adjoints: Counter = Counter()
    for node in nodes:
        for input_id in dict.fromkeys(node.inputs):
            edges[group_of[input_id], group_of[node.id]] += 1
        if node.adjoint_of in group_of:
            adjoints[group_of[node.id], group_of[node.adjoint_of]] += 1
    for (source, target), count in edges.items():
        digraph.edge(names[source], names[target], **_counted(count),
                     **_edge_style(target[0], target[1]))
    for (source, target), count in adjoints.items():
        label = {"label": f"×{count}"} if count > 1 else {}
        digraph.edge(names[source], names[target], **_adjoint_style(source[1]),
                     **label)
    return len(names)


def _groups(nodes: list[Node], parameters: frozenset, max_nodes: int,
            with_shape: bool) -> dict[str, tuple]:
    """Each node's box: (kind, order, op, shape or None, own id or None)."""
    sources = sum(1 for n in nodes if n.op == "input")
    keep_sources = sources <= max_nodes // 4
    groups = {}
    for node in nodes:
        kind = _kind(node, parameters)
        shape = node.shape if with_shape else None
        own = node.id if keep_sources and node.op == "input" else None
        groups[node.id] = (kind, node.order, node.op, shape, own)
    return groups


def _group_lines(key: tuple, count: int) -> list:
    kind, order, op, shape, _ = key
    what = {"input": "inputs", "parameter": "parameters",
            "constant": "constants"}.get(kind, op)
    lines = [[(what, "b"), (f"  ×{count}", "")]]
    if shape:
        lines.append([(f"shape {_shape_text(shape)}", "small")])
    if kind == "backward":
        lines.append([(f"derivative, order {order}", "small")])
    return lines


def _counted(count: int) -> dict:
    if count == 1:
        return {}
    return {"label": f"×{count}", "penwidth": f"{min(4.0, 1 + np.log10(count)):.2f}"}


# Legend.


def _draw_legend(digraph: graphviz.Digraph, nodes: list[Node],
                 parameters: frozenset, rankdir: str) -> None:
    """A boxed key, in one row: a sample node per style the picture uses."""
    kinds = dict.fromkeys(_kind(n, parameters) for n in nodes)
    orders = sorted({n.order for n in nodes if n.role == "backward"})
    samples = [(f"#legend-{kind}", _KIND_NAMES[kind], _node_style(kind, 0))
               for kind in _KIND_NAMES if kind in kinds]
    for order in orders:
        text = "derivative" if len(orders) == 1 else f"derivative, order {order}"
        samples.append((f"#legend-order{order}", text,
                        _node_style("backward", order)))
    with digraph.subgraph(name="cluster_legend") as legend:
        legend.attr(label=_html([[("legend", "b")]]), style="rounded,dashed",
                    color="#94a3b8", fontsize="10", margin="6")
        if rankdir == "TB":
            legend.attr(rank="same")
        for name, text, style in samples:
            legend.node(name, _html([[(text, "")]]), **{**style, "class": "legend"})
        links = [{"style": "invis"}] * (len(samples) - 1)
        if orders:
            legend.node("#legend-of", _html([[("is the derivative for", "")]]),
                        shape="plaintext", style="", **{"class": "legend"})
            samples.append(("#legend-of", "", {}))
            links.append({**_adjoint_style(orders[-1]), "constraint": "true"})
        for (first, *_), (second, *_), link in zip(samples, samples[1:], links):
            legend.edge(first, second, **link)


# Label text.


def _html(lines: list) -> str:
    """An HTML-like label from lines of (text, style) runs, fully escaped."""
    rendered = []
    for line in lines:
        rendered.append("".join(_run(text, style) for text, style in line))
    return "<" + "<BR/>".join(rendered) + ">"


def _run(text: str, style: str) -> str:
    escaped = escape(text)
    if style == "b":
        return f"<B>{escaped}</B>"
    if style == "small":
        return f'<FONT POINT-SIZE="9" COLOR="#475569">{escaped}</FONT>'
    if style == "mark":
        return f'<FONT COLOR="#7c2d12"><I>{escaped}</I></FONT>'
    if style == "grad":
        return f'<FONT COLOR="#b45309">{escaped}</FONT>'
    return escaped


def escape(text: str) -> str:
    """``text`` for an HTML-like Graphviz label.

    Escapes what XML needs (``&``, ``<``, ``>``, quotes) and doubles each
    backslash: after decoding entities, Graphviz still reads ``\\N`` as the
    node's name (and ``\\G``, ``\\E``...), even in HTML-like labels, and
    ``\\\\`` as one backslash.  Control characters, which XML forbids,
    become U+FFFD.

    >>> escape('a<"b">\\\\N')
    'a&lt;&quot;b&quot;&gt;&#92;&#92;N'
    """
    text = _CONTROL.sub("\ufffd", text)
    return html.escape(text, quote=True).replace("\\", "&#92;&#92;")


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _value_text(value) -> str:
    """A value in a few characters: a number, a short list, or a range."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return _number(float(array))
    if array.size <= 4:
        return "[" + ", ".join(_number(float(v)) for v in array.ravel()) + "]"
    if not np.isfinite(array).all():
        return f"{int(np.isnan(array).sum())} nan, range " + _range(array)
    return "range " + _range(array)


def _range(array: np.ndarray) -> str:
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return "none finite"
    return f"[{_number(float(finite.min()))}, {_number(float(finite.max()))}]"


def _number(value: float) -> str:
    if np.isnan(value):
        return "nan"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"

"""Rendering: DOT that matches the graph, escaped labels, files and errors.

The DOT is parsed back with pydot and compared with the graph it was drawn
from; numbers shown in pictures are compared with sympy's.  Command-line
errors go through ``main()``, which assigns DESIGN.md's exit statuses.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import struct
import subprocess
import sys
from xml.etree import ElementTree

import pydot
import pytest
import sympy

from symgrad_cli import cli_render, render
from symgrad_cli.api import differentiate, parse_values
from symgrad_cli.cli import main
from symgrad_cli.graph import Graph
from symgrad_cli.models import build_model


SVG = "{http://www.w3.org/2000/svg}"

# pydot's parser calls pyparsing's old names.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated:DeprecationWarning")


def symgrad_command() -> list[str]:
    """The installed executable, or the package run as a module."""
    executable = shutil.which("symgrad")
    return [executable] if executable else [sys.executable, "-m", "symgrad_cli"]


def run(capsys, *args) -> tuple[int, str, str]:
    """Run ``main()`` in-process: exit status, standard output, standard error."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return exit_.value.code, captured.out, captured.err


def parse_dot(source: str):
    """Nodes (name to attributes) and edges (source, target, attributes)."""
    (graph,) = pydot.graph_from_dot_data(source)
    nodes, edges = {}, []
    pending = [graph]
    while pending:
        current = pending.pop()
        for node in current.get_nodes():
            if node.get_name() not in ("node", "edge", "graph"):
                nodes[unquote(node.get_name())] = node.get_attributes()
        for edge in current.get_edges():
            edges.append((unquote(edge.get_source()),
                          unquote(edge.get_destination()), edge.get_attributes()))
        pending.extend(current.get_subgraphs())
    return nodes, edges


def unquote(name: str) -> str:
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('\\"', '"')
    return name


def by_class(nodes: dict, kind: str) -> set[str]:
    return {name for name, attrs in nodes.items() if attrs.get("class") == kind}


def label_text(label: str) -> str:
    """The text Graphviz shows for an HTML-like label.

    Tags dropped, entities decoded, then a doubled backslash read as one, as
    Graphviz reads it.
    """
    text = html.unescape(re.sub(r"<[^>]*>", " ", label[1:-1]))
    return text.replace("\\\\", "\\")


def svg_nodes(path) -> dict[str, list[str]]:
    """Each SVG node's title and the texts drawn inside it."""
    root = ElementTree.parse(path).getroot()
    found = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class", "").startswith("node"):
            title = group.find(f"{SVG}title").text
            found[title] = [t.text or "" for t in group.iter(f"{SVG}text")]
    return found


def after(texts: list[str], word: str) -> float:
    """The number drawn right after ``word`` in a node."""
    index = [t.strip() for t in texts].index(word)
    return float(texts[index + 1])


def check_matches(graph: Graph, source: str, parameters=()) -> None:
    nodes, edges = parse_dot(source)
    roles = {kind: {n.id for n in graph if n.role == kind}
             for kind in ("forward", "backward", "constant")}
    for kind, ids in roles.items():
        assert by_class(nodes, kind) == ids, kind
    inputs = {n.id for n in graph if n.role == "input"}
    assert by_class(nodes, "input") | by_class(nodes, "parameter") == inputs
    assert by_class(nodes, "parameter") == set(parameters)
    legend = by_class(nodes, "legend")
    flow = {(a, b) for a, b, attrs in edges
            if attrs.get("class") != "adjoint" and a not in legend}
    assert flow == {(i, n.id) for n in graph for i in n.inputs}
    dashed = {(a, b) for a, b, attrs in edges
              if attrs.get("class") == "adjoint" and a not in legend}
    assert dashed == {(n.id, n.adjoint_of) for n in graph if n.adjoint_of}
    assert all(attrs["style"] == "dashed" for a, b, attrs in edges
               if attrs.get("class") == "adjoint")


# The picture matches the graph.


def test_dot_nodes_and_edges_match_the_derivation():
    """Forward, backward and input nodes and every edge of the DOT match the graph."""
    derivation = differentiate("sigmoid(w*x + b) * log(1 + x^2)")
    rendering = render.draw_derivation(derivation)
    check_matches(derivation.graph, rendering.source,
                  parameters=derivation.wrt)
    assert rendering.counts["backward"] == sum(
        1 for n in derivation.graph if n.role == "backward")
    assert not rendering.coarse and rendering.message is None


def test_dot_matches_the_xor_model_and_its_gradient():
    """The XOR model's DOT has its parameters, data, constants and backward nodes."""
    model = build_model("xor")
    rendering = render.draw_model(model)
    check_matches(model.graph, rendering.source, parameters=model.parameters)
    nodes, _ = parse_dot(rendering.source)
    for parameter, gradient in model.gradients.items():
        assert f"∂loss/∂{parameter}" in label_text(nodes[gradient]["label"])


def test_kinds_have_their_own_shapes_and_styles():
    """Inputs, parameters, constants differ in shape; forward, backward in fill."""
    rendering = render.draw_model(build_model("xor"))
    nodes, _ = parse_dot(rendering.source)
    graph_nodes = {k: v for k, v in nodes.items() if v.get("class") != "legend"}
    shapes = {kind: {v["shape"] for v in graph_nodes.values()
                     if v["class"] == kind}
              for kind in ("input", "parameter", "constant", "forward")}
    assert all(len(s) == 1 for s in shapes.values())
    assert len(set.union(*shapes.values())) == 4
    fills = {kind: {v["fillcolor"] for v in graph_nodes.values()
                    if v["class"] == kind} for kind in ("forward", "backward")}
    assert not fills["forward"] & fills["backward"]
    legend = " ".join(label_text(v["label"]) for v in nodes.values()
                      if v.get("class") == "legend")
    for word in ("input", "parameter", "constant", "forward", "derivative"):
        assert word in legend


def test_each_derivative_order_has_its_own_shade():
    """Backward nodes of orders 1 and 2 get distinct fills, both in the legend."""
    derivation = differentiate("sin(x*y)", order=2)
    nodes, _ = parse_dot(render.draw_derivation(derivation).source)
    fills = {}
    for node in derivation.graph:
        if node.role == "backward":
            fills.setdefault(node.order, set()).add(nodes[node.id]["fillcolor"])
    assert sorted(fills) == [1, 2]
    assert all(len(f) == 1 for f in fills.values())
    assert fills[1] != fills[2]
    legend = {label_text(v["label"]).strip() for v in nodes.values()
              if v.get("class") == "legend"}
    assert {"derivative, order 1", "derivative, order 2"} <= legend
    assert render.order_shade(3) not in (render.order_shade(1),
                                         render.order_shade(2))


def test_forward_only_leaves_the_derivative_graph_out():
    """--forward-only draws no backward node and no dashed edge."""
    derivation = differentiate("sigmoid(w*x + b)")
    nodes, edges = parse_dot(
        render.draw_derivation(derivation, forward_only=True).source)
    assert not by_class(nodes, "backward")
    assert not [e for e in edges if e[2].get("class") == "adjoint"]
    assert by_class(nodes, "forward") == {n.id for n in derivation.graph
                                          if n.role == "forward"}


def test_same_expression_gives_identical_dot():
    """Two derivations of one expression, and two XOR models, give the same DOT."""
    text = "where(x < y, sin(x*y), exp(z)) + x^2"
    first = render.draw_derivation(differentiate(text, order=2)).source
    second = render.draw_derivation(differentiate(text, order=2)).source
    assert first == second
    assert (render.draw_model(build_model("xor")).source
            == render.draw_model(build_model("xor")).source)


def test_dot_file_is_byte_identical_across_processes(tmp_path):
    """`symgrad render ... --out g.dot` writes the same bytes under any hash seed."""
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"g{seed}.dot"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([*symgrad_command(), "render", "--order", "2", "--out",
                        str(out), "sin(a*b) + exp(c*a)/b"], check=True, env=env,
                       capture_output=True)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(b"digraph")


# Labels.


def test_escape_covers_what_graphviz_reads_specially():
    """escape() turns &, <, >, quotes and backslashes into entities."""
    assert (render.escape('a<b>&"c"\\N')
            == "a&lt;b&gt;&amp;&quot;c&quot;&#92;&#92;N")
    assert render.escape("{x|y} α ∂") == "{x|y} α ∂"
    assert render.escape("a\x01b") == "a\ufffdb"


def test_label_with_quote_brace_angle_and_backslash_survives(tmp_path):
    """A name with ", {, <, \\ and Unicode reaches the DOT and the SVG as written."""
    name = 'a"{<b>}\\N|α'
    g = Graph()
    x = g.variable(name)
    y = g.apply(lambda s: sympy.sin(s) * 2, [x], op="sin")
    rendering = render.draw(g)
    nodes, edges = parse_dot(rendering.source)
    labels = {k: label_text(v["label"]) for k, v in nodes.items()}
    assert any(name in text for text in labels.values())
    assert any(f"2*sin({name})" in text for text in labels.values())
    assert [(a, b) for a, b, _ in edges if not a.startswith("#legend")] == [
        ("#0", y)]  # a DOT id of its own: the name is no identifier
    path = rendering.save(tmp_path / "odd.svg")
    texts = [t.strip() for group in svg_nodes(path).values() for t in group]
    assert name in texts
    assert f"= 2*sin({name})" in texts


def test_dot_keywords_and_unicode_names_are_node_ids():
    """Variables named node, edge, graph and α are drawn as nodes with edges."""
    derivation = differentiate("node*edge + graph*α")
    rendering = render.draw_derivation(derivation)
    check_matches(derivation.graph, rendering.source, parameters=derivation.wrt)
    assert {"node", "edge", "graph", "α"} <= set(parse_dot(rendering.source)[0])


# Values and gradients.


def test_svg_shows_values_and_gradients(tmp_path, capsys):
    """The README's example draws every value and gradient that sympy computes."""
    out = tmp_path / "g.svg"
    status, stdout, _ = run(capsys, "render", "sigmoid(w*x+b)", "--out", str(out),
                            "--at", "w=0.5,x=2,b=0.1")
    assert status == 0 and "wrote" in stdout
    w, x, b = sympy.symbols("w x b")
    f = 1 / (1 + sympy.exp(-(w * x + b)))
    point = {w: 0.5, x: 2, b: 0.1}
    nodes = svg_nodes(out)
    for name in ("w", "x", "b"):
        assert after(nodes[name], "value") == pytest.approx(float(point[
            sympy.Symbol(name)]))
        gradient = float(f.diff(sympy.Symbol(name)).subs(point))
        assert after(nodes[name], "grad") == pytest.approx(gradient, rel=1e-3)
        marked = [t for t in nodes.values() if f"∂f/∂{name}" in t]
        assert len(marked) == 1
        assert after(marked[0], "value") == pytest.approx(gradient, rel=1e-3)
    (output,) = [t for t in nodes.values() if "output f" in t]
    assert after(output, "value") == pytest.approx(float(f.subs(point)), rel=1e-3)
    assert after(output, "grad") == 1
    forward = [t for title, t in nodes.items() if "=" in " ".join(t)
               and "value" in [s.strip() for s in t] and title.startswith("t")]
    assert all("grad" in [s.strip() for s in t] for t in forward)


def test_every_forward_node_gets_a_gradient():
    """node_values gives each input of a sum a gradient, though they share one."""
    derivation = differentiate("exp(u*v) + u")
    values, gradients = render.node_values(derivation.graph, derivation.output,
                                           parse_values("u=0.5,v=2"))
    u, v = sympy.symbols("u v")
    f = sympy.exp(u * v) + u
    point = {u: 0.5, v: 2}
    assert values[derivation.output] == pytest.approx(float(f.subs(point)))
    assert gradients["u"] == pytest.approx(float(f.diff(u).subs(point)))
    assert gradients["v"] == pytest.approx(float(f.diff(v).subs(point)))
    (product,) = [n.id for n in derivation.graph if n.op == "mul"
                  and n.role == "forward"]
    assert gradients[product] == pytest.approx(float(sympy.exp(1)))
    assert len(derivation.graph) == len(differentiate("exp(u*v) + u").graph)


# Large graphs.


def test_large_graph_is_drawn_coarse_with_counts():
    """A graph over max_nodes becomes counted boxes whose counts add up to it."""
    steps = ["h0 = x"] + [f"h{i} = tanh(w*h{i - 1} + u)" for i in range(1, 30)]
    derivation = differentiate("; ".join(steps + ["h29^2"]), wrt=["w", "u"])
    size = len(derivation.graph)
    rendering = render.draw_derivation(derivation, parse_values("x=1,w=0.5,u=0.1"),
                                       max_nodes=40)
    assert rendering.coarse and "merged" in rendering.message
    assert "values are shown only" in rendering.message
    assert rendering.boxes < 40 < size
    nodes, edges = parse_dot(rendering.source)
    boxes = {k: label_text(v["label"]) for k, v in nodes.items()
             if v.get("class") != "legend"}
    assert len(boxes) == rendering.boxes
    counts = [int(m.group(1)) if (m := re.search(r"×(\d+)", text)) else 1
              for text in boxes.values()]
    assert sum(counts) == size
    assert any(a == b for a, b, _ in edges)  # the recurrence, folded


def test_render_command_says_when_it_draws_coarse(tmp_path, capsys):
    """The command prints a note naming --max-nodes when it merges nodes."""
    status, stdout, stderr = run(capsys, "render", "sin(sin(sin(sin(x))))*x",
                                 "--max-nodes", "5", "--out",
                                 str(tmp_path / "g.dot"))
    assert status == 0
    assert "boxes" in stdout
    assert "note:" in stderr and "--max-nodes" in stderr


# Files and errors.


def test_render_default_writes_a_png_of_xor(tmp_path):
    """`symgrad render --out graph.png` writes a real PNG of the XOR network."""
    result = subprocess.run([*symgrad_command(), "render", "--out", "graph.png"],
                            cwd=tmp_path, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "graph.png" in result.stdout
    data = (tmp_path / "graph.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 500 and height > 500
    assert len(data) > 20_000


@pytest.mark.parametrize("name, fmt, magic", [
    ("g.svg", None, b"<?xml"), ("g.pdf", None, b"%PDF"), ("g.PNG", None, b"\x89PNG"),
    ("g.txt", "svg", b"<?xml"), ("g.png", "dot", b"digraph"),
])
def test_format_follows_extension_unless_given(tmp_path, capsys, name, fmt, magic):
    """The extension picks the format; --format overrides it."""
    extra = ["--format", fmt] if fmt else []
    status, _, stderr = run(capsys, "render", "x*y", "--out",
                            str(tmp_path / name), *extra)
    assert status == 0, stderr
    assert (tmp_path / name).read_bytes().startswith(magic)


@pytest.mark.parametrize("out", ["graph.jpg", "graph"])
def test_unknown_extension_is_one_line_and_exit_2(tmp_path, capsys, out):
    """An output name without a known extension exits 2 with one line, no file."""
    status, _, stderr = run(capsys, "render", "x*y", "--out", str(tmp_path / out))
    assert status == 2
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert ".png" in stderr and "--format" in stderr
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_is_one_line_and_exit_1(tmp_path, capsys):
    """A missing directory, or a directory in the way, exits 1 with one line."""
    for out in (tmp_path / "missing" / "g.dot", tmp_path / "dir.dot"):
        (tmp_path / "dir.dot").mkdir(exist_ok=True)
        status, _, stderr = run(capsys, "render", "x*y", "--out", str(out))
        assert status == 1
        assert stderr.startswith("error: cannot write")
        assert stderr.count("\n") == 1 and "Traceback" not in stderr


def test_missing_dot_writes_the_dot_file_and_says_how_to_install(
        tmp_path, capsys, monkeypatch):
    """Without Graphviz the DOT is written beside the picture and exit is 1."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, _, stderr = run(capsys, "render", "x*y", "--out",
                            str(tmp_path / "g.png"))
    assert status == 1
    assert "apt-get install graphviz" in stderr and "brew" in stderr
    assert not (tmp_path / "g.png").exists()
    nodes, _ = parse_dot((tmp_path / "g.dot").read_text(encoding="utf-8"))
    assert {"x", "y"} <= set(nodes)


@pytest.mark.parametrize("args, words", [
    (["x*y", "--model", "xor"], "not both"),
    (["--model", "xor", "--wrt", "W1"], "--wrt"),
    (["x*y", "--at", "x=1"], "y"),
    (["x*y", "--at", "x=1,y=2,q=3"], "q"),
    (["f(x)", "--at", "x=1"], "abstract"),
    (["x +"], "expected"),
])
def test_bad_input_exits_2_without_traceback(tmp_path, capsys, args, words):
    """Usage mistakes give exit 2 and a message naming the problem."""
    status, _, stderr = run(capsys, "render", *args, "--out",
                            str(tmp_path / "g.dot"))
    assert status == 2
    assert words in stderr and "Traceback" not in stderr


def test_command_line_constants_match_the_library():
    """cli_render repeats render's formats and default limit without importing it."""
    assert cli_render.FORMATS == render.FORMATS
    assert cli_render.MAX_NODES == render.MAX_NODES


# Notebooks.


def test_rendering_displays_as_svg_in_notebooks():
    """A Rendering gives Jupyter an SVG through graphviz's rich display."""
    bundle = render.draw_derivation(differentiate("x*y"))._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_a_derivation_displays_as_its_picture_in_notebooks():
    """A Derivation shown in Jupyter is the SVG of its graph, derivative
    nodes included."""
    bundle = differentiate("sin(x)*y")._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert "<svg" in svg
    assert "sin(x)" in svg and "∂f/∂x" in svg


def test_a_symbolic_link_is_written_through(tmp_path, capsys):
    """--out naming a link writes the file it points at; the link stays."""
    target = tmp_path / "real.dot"
    target.write_text("old")
    (tmp_path / "link.dot").symlink_to(target)
    status, _, stderr = run(capsys, "render", "x*y", "--out",
                            str(tmp_path / "link.dot"))
    assert status == 0, stderr
    assert (tmp_path / "link.dot").is_symlink()
    assert target.read_text().startswith("digraph")


def test_a_fifo_is_written_in_place(tmp_path, capsys):
    """--out naming a FIFO writes into it (a reader gets the DOT); it is not
    replaced by a regular file."""
    fifo = tmp_path / "pipe.dot"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    status, _, stderr = run(capsys, "render", "x*y", "--out", str(fifo))
    text = reader.communicate(timeout=30)[0]
    assert status == 0, stderr
    assert text.startswith(b"digraph")
    assert not fifo.is_file() and fifo.exists()

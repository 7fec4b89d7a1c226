"""What ``symgrad diff`` prints: text, JSON and LaTeX reports of a derivation."""

from __future__ import annotations

import itertools

from symgrad_cli import export
from symgrad_cli import functions as fn
from symgrad_cli.api import Derivation


def _closed_forms_text(derivation: Derivation):
    function, derivatives = derivation.closed_forms()
    return (derivation.text(function),
            {k: derivation.text(v) for k, v in derivatives.items()})


def as_json(derivation: Derivation, evaluated=None) -> dict:
    """DESIGN.md's JSON object for a derivation (values with ``--at``)."""
    function, derivatives = _closed_forms_text(derivation)
    report = {
        "expression": function,
        "variables": derivation.program.variables,
        "wrt": derivation.wrt,
        "order": derivation.order,
        "derivatives": derivatives,
    }
    if evaluated is not None:
        value, values = evaluated
        report["value"] = export.json_number(value)
        report["derivative_values"] = {
            k: export.json_number(v) for k, v in values.items()
        }
    report["graph"] = export.graph_json(derivation.graph,
                                        fn.KINKS[derivation.kinks])
    return report


def as_latex(derivation: Derivation) -> str:
    """The function and its derivatives as LaTeX equations."""
    function, derivatives = derivation.closed_forms()
    lines = [f"f = {export.to_latex(function)}" if function is not None
             else "f: too large to print"]
    for key, form in derivatives.items():
        variables = key.split(",")
        if len(variables) == 1:
            name = rf"\frac{{\partial f}}{{\partial {_latex_name(key)}}}"
        else:
            below = " ".join(rf"\partial {_latex_name(v)}" for v in variables)
            name = rf"\frac{{\partial^{{{len(variables)}}} f}}{{{below}}}"
        body = export.to_latex(form) if form is not None else r"\text{(too large)}"
        lines.append(f"{name} = {body}")
    return "\n".join(lines)


def _latex_name(name: str) -> str:
    import sympy

    return sympy.latex(sympy.Symbol(name))


def as_text(derivation: Derivation, evaluated=None, values=None) -> str:
    """The listings of forward and backward nodes, closed forms and values."""
    g = derivation.graph
    kinks = fn.KINKS[derivation.kinks]
    function, derivatives = _closed_forms_text(derivation)
    out = [f"expression: {function if function is not None else '(too large)'}"]
    forward = [n for n in g if n.role == "forward"]
    backward = [n for n in g if n.role == "backward"]
    out.append("")
    out.append(f"forward graph ({_count(forward, 'node')}; inputs "
               f"{', '.join(derivation.program.variables) or 'none'}):")
    out.extend(_listing(forward, kinks))
    constants = sorted({i for n in g for i in n.inputs if g[i].op == "constant"},
                       key=list(g.nodes).index)
    if constants:
        out.append("  constants: " + ", ".join(
            f"{c} = {export.node_text(g[c], kinks)}" for c in constants))
    out.append("")
    orders = sorted({n.order for n in backward})
    label = f", orders {orders[0]}-{orders[-1]}" if len(orders) > 1 else ""
    out.append(f"backward graph ({_count(backward, 'new node')}{label}):")
    out.extend(_listing(backward, kinks) or ["  (none: every derivative is an "
                                             "existing node or a constant)"])
    out.append("")
    out.append("derivatives:")
    for key, node in derivation.derivatives.items():
        form = derivatives[key]
        where = f"  [{node}]" if isinstance(node, str) else ""
        shown = form if form is not None else (
            "(no closed form: too large, or tensor operations the language "
            "has no name for; see the graph)")
        out.append(f"  {_d(key)} = {shown}{where}")
    if evaluated is not None:
        value, grads = evaluated
        point = ", ".join(f"{k}={_number(v)}" for k, v in values.items())
        out.append("")
        out.append(f"at {point}:")
        out.append(f"  value = {_number(value)}")
        for key, v in grads.items():
            out.append(f"  {_d(key)} = {_number(v)}")
    return "\n".join(out) + "\n"


def _count(items, noun: str) -> str:
    """``1 node``, ``3 nodes``."""
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _listing(nodes, kinks) -> list[str]:
    lines = []
    for node in nodes:
        text = f"  {node.id} = {export.node_text(node, kinks)}"
        notes = []
        if node.shape:
            notes.append(f"shape {node.shape}")
        if node.adjoint_of:
            notes.append(f"d/d{node.adjoint_of}")
        if node.role == "backward" and node.order > 1:
            notes.append(f"order {node.order}")
        if notes:
            text = f"{text:<40}  # {', '.join(notes)}"
        lines.append(text)
    return lines


def _d(key: str) -> str:
    variables = key.split(",")
    if len(variables) == 1:
        return f"d/d{key}"
    runs = [(v, len(list(group))) for v, group in itertools.groupby(variables)]
    below = "".join(f"d{v}" if n < 3 else f"d{v}^{n}" for v, n in runs
                    for _ in range(1 if n >= 3 else n))
    return f"d^{len(variables)}/{below}"


def _number(value) -> str:
    import numpy as np

    array = np.asarray(value)
    if array.shape:
        return np.array2string(array, precision=10, separator=", ")
    return repr(float(array))

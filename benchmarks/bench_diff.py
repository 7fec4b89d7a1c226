"""Derivative graph size and derivation time, against sympy.diff + cse.

For each expression family, in one run: the forward nodes, the gradient
(backward) nodes symgrad builds for every variable, their ratio, the
operations inside those nodes, and the time of the backward sweep (both
sides start from the parsed expression), next to the same
gradient computed the closed-form way (``sympy.diff`` per variable followed
by ``sympy.cse`` of all of them).

    python benchmarks/bench_diff.py

Not part of the test suite.
"""

from __future__ import annotations

import sys
import time

import sympy

from symgrad_cli import backward, export
from symgrad_cli.functions import to_native
from symgrad_cli.parse import parse


def sigmoid_of_sum(n: int = 100) -> str:
    return "sigmoid(" + " + ".join(f"w{i}*x{i}" for i in range(n)) + ")"


def chain(depth: int = 200) -> str:
    text = "x"
    for i in range(depth):
        text = f"sin({text})" if i % 2 == 0 else f"exp({text})*a{i % 7}"
    return text


def product(n: int = 100) -> str:
    return "*".join(f"x{i}" for i in range(n))


def mlp(inputs: int = 4, hidden: int = 8) -> str:
    lines = []
    for j in range(hidden):
        total = " + ".join(f"w{i}_{j}*x{i}" for i in range(inputs))
        lines.append(f"h{j} = tanh({total} + b{j})")
    output = " + ".join(f"v{j}*h{j}" for j in range(hidden))
    lines.append(f"y = {output} + c")
    lines.append("(y - t)^2")
    return "; ".join(lines)


FAMILIES = {
    "sigmoid of a 100-term weighted sum": sigmoid_of_sum,
    "a 200-deep chain": chain,
    "a product of 100 variables": product,
    "a 4-8-1 tanh MLP": mlp,
}

#: Reference gradient/forward ratios measured for JAX and PyTensor.
REFERENCE = {
    "sigmoid of a 100-term weighted sum": 2.0,
    "a 200-deep chain": 3.5,
    "a product of 100 variables": 3.0,
    "a 4-8-1 tanh MLP": 1.9,
}


def operations(nodes) -> int:
    """Operations inside node expressions (1 for a tensor op)."""
    return sum(max(1, sympy.count_ops(n.expr)) if n.expr is not None else 1
               for n in nodes)


def measure_symgrad(text: str):
    """Parse, then time the backward sweep alone (sympy's side is given the
    parsed closed form too)."""
    program = parse(text)
    variables = program.variables
    start = time.perf_counter()
    backward.derivatives(program.graph, program.output, variables)
    seconds = time.perf_counter() - start
    nodes = list(program.graph)
    forward = [n for n in nodes if n.role == "forward"]
    grads = [n for n in nodes if n.role == "backward"]
    return program, forward, grads, seconds


def measure_sympy(program):
    (function,) = export.closed_forms(program.graph, [program.output],
                                      simplify=False, max_operations=10**6,
                                      max_depth=10**6)
    native = to_native(function)
    variables = [sympy.Symbol(v, real=True) for v in program.variables]
    start = time.perf_counter()
    gradient = [sympy.diff(native, v) for v in variables]
    replacements, reduced = sympy.cse(gradient)
    seconds = time.perf_counter() - start
    forward_ops = sympy.count_ops(native)
    gradient_ops = sum(sympy.count_ops(e) for _, e in replacements) + sum(
        sympy.count_ops(e) for e in reduced
    )
    return gradient_ops / max(1, forward_ops), seconds


def main() -> None:
    sys.setrecursionlimit(20000)  # sympy recurses over the closed forms
    header = (f"{'family':<38} {'fwd':>5} {'grad':>5} {'ratio':>6} "
              f"{'ops ratio':>9} {'JAX/PyTensor':>12} {'sympy+cse':>9} "
              f"{'symgrad s':>9} {'sympy s':>8} {'speed-up':>8}")
    print(header)
    print("-" * len(header))
    for name, family in FAMILIES.items():
        program, forward, grads, seconds = measure_symgrad(family())
        ratio = len(grads) / len(forward)
        ops_ratio = operations(grads) / operations(forward)
        sympy_ratio, sympy_seconds = measure_sympy(program)
        print(f"{name:<38} {len(forward):>5} {len(grads):>5} {ratio:>6.2f} "
              f"{ops_ratio:>9.2f} {REFERENCE[name]:>12.1f} {sympy_ratio:>9.1f} "
              f"{seconds:>9.3f} {sympy_seconds:>8.2f} "
              f"{sympy_seconds / seconds:>7.1f}x")


if __name__ == "__main__":
    main()

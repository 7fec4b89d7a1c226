"""The command line: DESIGN.md's contract, through CliRunner and the installed command.

CliRunner runs ``symgrad_cli.cli.cli`` in-process for output formats; the
exit statuses of errors, which ``main()`` assigns, are checked by running the
installed ``symgrad`` command.  Numbers are compared with sympy, mpmath or
worked examples, never with symgrad's own earlier output.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import runpy
import shutil
import subprocess
import sys
import types
import warnings

import pytest
import sympy
from click.testing import CliRunner
from strategies import close, oracle

import symgrad_cli
from symgrad_cli import cli as cli_module
from symgrad_cli import functions as fn
from symgrad_cli.api import differentiate
from symgrad_cli.cli import cli
from symgrad_cli.errors import SymgradWarning

DESIGN_KEYS = {"expression", "variables", "wrt", "order", "derivatives", "graph"}
NODE_KEYS = {"id", "op", "inputs", "expr", "shape", "role", "order", "adjoint_of"}
ROLES = {"input", "constant", "forward", "backward"}

w, x, y, b = sympy.symbols("w x y b", real=True)


def symgrad_command() -> list[str]:
    """The installed executable, or the package run as a module."""
    executable = shutil.which("symgrad")
    return [executable] if executable else [sys.executable, "-m", "symgrad_cli"]


def invoke(*args, input=None):
    """Run the command line in-process; a library exception propagates."""
    result = CliRunner().invoke(cli, list(args), input=input,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def strict_json(text: str) -> dict:
    def reject(name):
        raise ValueError(f"bare {name} is not JSON")

    return json.loads(text, parse_constant=reject)


def diff_json(*args, input=None) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return strict_json(invoke("diff", "--format", "json", *args,
                                  input=input).stdout)


def run(*args, input=None, timeout=60, env=None):
    """Run the installed command."""
    return subprocess.run(symgrad_command() + list(args), input=input,
                          capture_output=True, text=True, timeout=timeout,
                          env=env)


def value_of(text: str, point: dict) -> float:
    """The value of a printed expression, parsed back by symgrad's parser."""
    derivation = differentiate(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value, _ = derivation.evaluate(
            {v: point[v] for v in derivation.program.variables})
    return float(value)


def same(got, want, rel=1e-12) -> bool:
    """Equal within ``rel``, NaN equal to NaN, infinities exactly."""
    got, want = float(got), float(want)
    if math.isnan(want) or math.isinf(want):
        return got == want or (math.isnan(got) and math.isnan(want))
    return close(got, want, rel)


# The text report.

SIGMOID = fn.to_native(fn.sigmoid(w * x + b))
SIGMOID_POINT = {"w": 0.5, "x": 2.0, "b": 0.1}


def test_text_report_has_listings_and_three_closed_forms():
    """diff "sigmoid(w*x+b)" lists forward and backward nodes and three closed forms."""
    out = invoke("diff", "sigmoid(w*x+b)").stdout
    assert re.search(r"^forward", out, re.M) and re.search(r"^backward", out, re.M)

    forms = dict(re.findall(r"^\s*d/d(\w+) = (.*?)(?:\s+\[\w+\])?$", out, re.M))
    assert sorted(forms) == ["b", "w", "x"]
    for name, text in forms.items():
        want = oracle(SIGMOID, SIGMOID_POINT, name)
        assert close(value_of(text, SIGMOID_POINT), want, 1e-13), (name, text)


def test_text_report_listings_define_new_symbols():
    """Each listed node is 'id = definition' over earlier ids, and every id is new."""
    out = invoke("diff", "sigmoid(w*x+b)").stdout
    listed = re.findall(r"^  (\w+) = ([^#\n]+?)\s*(?:#.*)?$", out, re.M)
    ids = [node_id for node_id, _ in listed]
    assert len(ids) >= 5 and len(set(ids)) == len(ids)
    assert not {"w", "x", "b"} & set(ids)

    defined = {"w", "x", "b"}
    for node_id, definition in listed:
        used = differentiate(definition).program.variables
        assert set(used) <= defined, (node_id, definition)
        defined.add(node_id)


def test_text_report_with_values():
    """With --at the text report ends with the value and each derivative's value."""
    out = invoke("diff", "x^3 - 2*x", "--at", "x=1.5").stdout
    numbers = [float(n) for n in re.findall(r"= (-?\d+\.\d+)\s*$", out, re.M)]
    assert 0.375 in numbers and 4.75 in numbers


def test_abstract_functions_print_the_textbook_chain_rule():
    """diff "f(g(x))" prints Derivative(f(g(x)), g(x))*Derivative(g(x), x)."""
    out = invoke("diff", "f(g(x))").stdout
    assert "Derivative(f(g(x)), g(x))*Derivative(g(x), x)" in out


# JSON.


def test_json_has_exactly_the_design_keys():
    """JSON has DESIGN.md's keys, plus value and derivative_values with --at."""
    assert set(diff_json("sigmoid(w*x+b)")) == DESIGN_KEYS
    with_values = diff_json("sigmoid(w*x+b)", "--at", "w=0.5,x=2,b=0.1")
    assert set(with_values) == DESIGN_KEYS | {"value", "derivative_values"}
    assert with_values["variables"] == ["b", "w", "x"]
    assert with_values["wrt"] == ["b", "w", "x"]
    assert with_values["order"] == 1
    assert set(with_values["derivatives"]) == {"b", "w", "x"}
    for name in "bwx":
        assert close(with_values["derivative_values"][name],
                     oracle(SIGMOID, SIGMOID_POINT, name), 1e-13)


def test_json_variables_sorted_as_python_sorts():
    """variables and the default wrt follow Python's sorted() order."""
    names = ["zeta", "N", "α", "E", "a_1", "Q"]
    out = diff_json(" + ".join(names))
    assert out["variables"] == sorted(names)
    assert out["wrt"] == sorted(names)


@pytest.mark.parametrize("text, at, value, derivatives", [
    ("x*y", "x=nan,y=inf", "nan", {"x": "inf", "y": "nan"}),
    ("log(x)", "x=0", "-inf", {"x": "inf"}),
    ("x*y", "x=-inf,y=2", "-inf", {"x": 2.0, "y": "-inf"}),
])
def test_json_non_finite_numbers_are_strings(text, at, value, derivatives):
    """NaN and infinities are written as "nan", "inf", "-inf", never bare."""
    out = diff_json(text, "--at", at)
    assert out["value"] == value
    assert out["derivative_values"] == derivatives


def test_json_graph_nodes():
    """Graph nodes have DESIGN.md's fields, consistent ids, edges, roles and orders."""
    out = diff_json("sigmoid(w*x+b)", "--order", "2")
    nodes = out["graph"]["nodes"]
    ids = [node["id"] for node in nodes]
    assert len(set(ids)) == len(ids)

    seen = set()
    for node in nodes:
        assert set(node) == NODE_KEYS
        assert node["role"] in ROLES
        assert set(node["inputs"]) <= seen, "inputs come before their node"
        assert node["shape"] == []
        if node["role"] == "input":
            assert node["op"] == "input" and node["inputs"] == []
        if node["role"] in ("input", "constant", "forward"):
            assert node["order"] == 0
        else:
            assert node["order"] in (1, 2)
        assert node["adjoint_of"] is None or node["adjoint_of"] in seen
        seen.add(node["id"])

    edges = sorted(map(tuple, out["graph"]["edges"]))
    assert edges == sorted((i, n["id"]) for n in nodes for i in n["inputs"])
    assert {n["id"] for n in nodes if n["role"] == "input"} == {"w", "x", "b"}
    assert {n["order"] for n in nodes if n["role"] == "backward"} == {1, 2}


def test_json_node_expressions_are_in_terms_of_their_inputs():
    """Each node's expr parses and uses only its inputs' ids."""
    out = diff_json("sigmoid(w*x+b)*tanh(w)")
    for node in out["graph"]["nodes"]:
        if node["role"] in ("forward", "backward"):
            used = differentiate(node["expr"]).program.variables
            assert set(used) <= set(node["inputs"]), node


def test_json_adjoint_of_names_the_primal_node():
    """In sigmoid(w*x+b), a backward node is the adjoint of the sigmoid's input."""
    nodes = diff_json("sigmoid(w*x+b)")["graph"]["nodes"]
    by_id = {n["id"]: n for n in nodes}
    (s,) = [n for n in nodes if n["op"] == "sigmoid"]
    (inner,) = s["inputs"]
    assert by_id[inner]["role"] == "forward"
    assert any(n["adjoint_of"] == inner for n in nodes if n["role"] == "backward")


def test_derivative_that_is_an_existing_node_creates_none():
    """diff "x*y" makes no backward node: the derivatives are y and x themselves."""
    out = diff_json("x*y")
    assert [n for n in out["graph"]["nodes"] if n["role"] == "backward"] == []
    assert out["derivatives"] == {"x": "y", "y": "x"}


def test_json_is_byte_identical_across_runs():
    """Two runs, with different hash seeds, print the same bytes."""
    text = ("z = max(x, y)*lambda + where(x < y, sin(E), cos(N)); "
            "z*relu(x) + min(z, α) + sigmoid(z*y)")
    args = ["diff", text, "--order", "2", "--format", "json",
            "--at", "x=1,y=2,lambda=3,E=0.5,N=1,α=4"]
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = run(*args, env=env)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]


# Closed forms parse back.

ROUND_TRIP = [
    ("sigmoid(w*x+b)", {"w": 0.5, "x": 2.0, "b": 0.1}),
    ("E*exp(x) + e*x + pi", {"E": 1.5, "x": 0.3}),
    ("x^y + y^(1/3)", {"x": 1.7, "y": 0.6}),
    ("max(x, y)*min(x, y) + abs(x - 2*y)", {"x": 0.4, "y": -1.1}),
    ("relu(x)*x + step(x)*y + sign(y)*x", {"x": 0.8, "y": -0.5}),
    ("where(x < y, x*y, sin(y)) + where(x != 1, x, 2)", {"x": -0.2, "y": 0.9}),
    ("asin(x) + acos(x/2) + atan(x*y) + erf(y)", {"x": 0.4, "y": 1.3}),
    ("log1p(x) + expm1(y) + softplus(x*y)", {"x": 0.4, "y": -1.3}),
    ("lambda^2*gamma + N*S + I/Q", {"lambda": 1.1, "gamma": 2.0, "N": 3.0,
                                    "S": 0.5, "I": 2.5, "Q": 4.0}),
    ("0.1*x + 1e-3*x^2 + 2.5e3", {"x": 3.0}),
    ("z = 2*x + 2; q = relu(z) + z*x; q*x", {"x": -0.4}),
]


@pytest.mark.parametrize("text, point", ROUND_TRIP, ids=[c[0] for c in ROUND_TRIP])
@pytest.mark.parametrize("kinks", ["pytorch", "jax"])
def test_every_printed_closed_form_parses_back_to_the_same_value(text, point, kinks):
    """The JSON expression and each derivative, parsed back, have the printed values."""
    at = ",".join(f"{k}={v}" for k, v in point.items())
    out = diff_json(text, "--at", at, "--kinks", kinks)
    assert same(value_of(out["expression"], point), out["value"])
    for key, form in out["derivatives"].items():
        assert same(value_of(form, point), out["derivative_values"][key]), (key, form)


@pytest.mark.parametrize("text, at", [
    ("where(x > 0, log(x), 0)", "x=-1"),
    ("where(x > 0, sqrt(x), x)", "x=-1"),
    ("where(x > 0, 1/x, 0)", "x=0"),
])
def test_printed_where_keeps_the_untaken_branch_out(text, at):
    """A printed where keeps its NaN or infinite untaken branch out of the value."""
    point = {"x": float(at.split("=")[1])}
    out = diff_json(text, "--at", at)
    assert same(value_of(out["expression"], point), out["value"]), out["expression"]
    for key, form in out["derivatives"].items():
        assert same(value_of(form, point), out["derivative_values"][key]), form


def test_closed_form_of_a_where_with_a_constant_condition():
    """where(0 < 1, x, y) has a closed form equal to x, as sympy says."""
    function, forms = differentiate("where(0 < 1, x, y)").closed_forms()
    native = sympy.Piecewise((x, sympy.Lt(0, 1)), (y, True))
    assert function is not None
    assert sympy.simplify(fn.to_native(function) - native) == 0
    assert sympy.simplify(fn.to_native(forms["x"]) - native.diff(x)) == 0


def test_constant_e_and_variable_e_stay_distinct_in_print():
    """E*e printed and parsed back still has one variable E and the constant e."""
    out = diff_json("E*e + e^E")
    assert out["variables"] == ["E"]
    assert same(value_of(out["derivatives"]["E"], {"E": 2.0}),
                math.e + math.e**2 * 1.0)


# Options.


def test_order_two_keys_follow_itertools_product():
    """--order 2 --wrt x,y has keys x,x x,y y,x y,y in that order, matching sympy."""
    out = diff_json("x^2*y^3 + sin(x*y)", "--order", "2", "--wrt", "x,y",
                    "--at", "x=0.7,y=-0.4")
    assert list(out["derivatives"]) == ["x,x", "x,y", "y,x", "y,y"]
    assert out["order"] == 2 and out["wrt"] == ["x", "y"]
    native = x**2 * y**3 + sympy.sin(x * y)
    point = {"x": 0.7, "y": -0.4}
    for key, got in out["derivative_values"].items():
        assert close(got, oracle(native, point, *key.split(",")), 1e-13), key


def test_wrt_order_is_kept_as_given():
    """--wrt y,x keeps that order in wrt and in the keys."""
    out = diff_json("x*y^2", "--wrt", "y,x")
    assert out["wrt"] == ["y", "x"]
    assert list(out["derivatives"]) == ["y", "x"]


def test_dash_reads_the_expression_from_stdin():
    """EXPR '-' reads standard input: x^2*y at (2, 3) is 12 with slopes 12 and 4."""
    out = diff_json("-", "--at", "x=2,y=3", input="x^2*y\n")
    assert out["value"] == 12.0
    assert out["derivative_values"] == {"x": 12.0, "y": 4.0}


def test_program_on_stdin_with_newlines_and_comments():
    """A multi-line program with comments comes in on standard input."""
    program = "# a program\nz = 2*x + 2\nq = relu(z) + z*x  # named\nq*x\n"
    out = diff_json("-", "--at", "x=1.5", input=program)
    native = (sympy.Max(2 * x + 2, 0) + (2 * x + 2) * x) * x
    assert close(out["value"], oracle(native, {"x": 1.5}), 1e-14)
    assert close(out["derivative_values"]["x"], oracle(native, {"x": 1.5}, "x"), 1e-14)


def test_double_dash_before_an_expression_starting_with_minus():
    """symgrad diff -- "-x^2" is -(x^2): -9 and -6 at x = 3."""
    out = diff_json("--at", "x=3", "--", "-x^2")
    assert out["value"] == -9.0
    assert out["derivative_values"] == {"x": -6.0}


def test_at_with_lists():
    """--at v=[1,2,3],w=[4,5,6]: sum(v*w) is 32 with gradients w and v."""
    out = diff_json("sum(v*w)", "--at", "v=[1,2,3],w=[4,5,6]")
    assert out["value"] == 32.0
    assert out["derivative_values"] == {"v": [4.0, 5.0, 6.0], "w": [1.0, 2.0, 3.0]}


def test_at_with_nested_lists_and_non_finite_entries():
    """--at m=[[1,2],[3,nan]]: sum(m*m) is nan, gradient 2m with nan kept."""
    out = diff_json("sum(m*m)", "--at", "m=[[1,2],[3,nan]]")
    assert out["value"] == "nan"
    assert out["derivative_values"] == {"m": [[2.0, 4.0], [6.0, "nan"]]}


def test_at_accepts_json_numbers():
    """--at takes JSON numbers: exponents, negative values, inf."""
    out = diff_json("x*y + z", "--at", "x=-2.5e-1,y=4E1,z=-inf")
    assert out["value"] == "-inf"
    assert out["derivative_values"] == {"x": 40.0, "y": -0.25, "z": 1.0}


@pytest.mark.parametrize("kinks, slope", [("pytorch", 0.0), ("jax", 0.0),
                                          ("sympy", 0.5)])
def test_kinks_option(kinks, slope):
    """--kinks picks relu'(0): 0 for PyTorch and JAX, 1/2 for sympy."""
    out = diff_json("relu(x)", "--at", "x=0", "--kinks", kinks)
    assert out["derivative_values"] == {"x": slope}


def test_kink_warning_goes_to_stderr():
    """An evaluation on a kink prints a warning naming the convention, exit 0."""
    proc = run("diff", "relu(x)", "--at", "x=0")
    assert proc.returncode == 0
    assert re.search(r"warning.*relu.*pytorch", proc.stderr)


# Errors.

ERRORS = [
    (["diff", "x*y", "--at", "x=1,y=2,z=3"], r"\bz\b"),
    (["diff", "x*y", "--wrt", "x,q"], r"\bq\b"),
    (["diff", "x*y", "--at", "x=1"], r"\by\b"),
    (["diff", "x $ y"], r"\$"),
    (["diff", "v*2", "--at", "v=[1,2]"], r"sum"),
    (["diff", "f(x)", "--at", "x=1"], r"abstract|f\(x\)"),
    (["diff", "x*y", "--at", "x=foo,y=1"], r"foo"),
    (["diff", "x", "--at", "x=[1,[2]]"], r"x"),
    (["diff", "x", "--order", "0"], r"order"),
    (["diff", "x", "--kinks", "theano"], r"kinks"),
    (["diff", "x", "--format", "xml"], r"format"),
    (["check", "2x"], r"2\*x"),
    (["diff"], r"EXPR|argument"),
]


@pytest.mark.parametrize("args, message", ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_bad_input_exits_2_with_a_message_and_no_traceback(args, message, capsys):
    """Bad usage or input: main() exits 2 with one short message on stderr."""
    with pytest.raises(SystemExit, match="^2$") as stop:
        cli_module.main(list(args))
    out, err = capsys.readouterr()
    assert stop.value.code == 2, err
    assert "Traceback" not in err
    assert re.search(message, err), err
    assert out == ""


@pytest.mark.parametrize("args", [ERRORS[0][0], ERRORS[4][0], ERRORS[5][0],
                                  ERRORS[6][0]], ids=["unknown --at", "tensor",
                                                      "abstract --at", "bad --at"])
def test_installed_command_exits_2_on_bad_input(args):
    """The installed command exits 2 with a message and no traceback."""
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_parse_error_message_has_the_expression_and_a_caret():
    """A parse error shows the expression and a caret under the column."""
    proc = run("diff", "sin(x) + y ? 2")
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    assert "sin(x) + y ? 2" in lines[caret - 1]
    assert lines[caret - 1][lines[caret].index("^")] == "?"


@pytest.mark.parametrize("text", ["10^5000*x", "1" * 5000 + "*x"],
                         ids=["10^5000*x", "a 5000-digit literal"])
def test_huge_exact_numbers_are_not_an_internal_error(text):
    """An exact number of thousands of digits is handled or refused, not a crash."""
    proc = run("diff", text, "--format", "json")
    assert proc.returncode in (0, 2), proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


def test_tower_of_exact_powers_does_not_hang():
    """9^9^9*x (an integer of 370 million digits) answers or is refused within 5 s."""
    try:
        proc = run("diff", "9^9^9*x", timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("symgrad diff '9^9^9*x' did not finish in 5 s")
    assert proc.returncode in (0, 2)


def test_printed_infinite_constant_parses_back():
    """1e999*x prints in the language: the derivative parses back to infinity."""
    out = diff_json("1e999*x", "--at", "x=1")
    printed = differentiate(out["derivatives"]["x"])
    assert printed.program.variables == [], out["derivatives"]["x"]
    assert value_of(out["derivatives"]["x"], {}) == math.inf


@pytest.mark.parametrize("text", ["x*log(0)", "x/0.0", "0^z + x", "x*tan(pi/2)"])
def test_printed_forms_introduce_no_variables(text):
    """Printed closed forms of awkward constants parse back with no new variable."""
    out = diff_json(text)
    for form in [out["expression"], *out["derivatives"].values()]:
        extra = set(differentiate(form).program.variables) - set(out["variables"])
        assert not extra, (form, extra)


CONSTANT_EDGES = ["x*(1/0.0)", "x + 0.0/0.0", "x/0.0", "x*erf(-cosh(1e308))",
                  "x*cosh(cosh(1e308))", "where(acos(2) > 0, x, 1)"]


@pytest.mark.parametrize("text", CONSTANT_EDGES)
def test_awkward_constants_are_not_internal_errors(text, capsys):
    """Constants that overflow, divide by 0.0 or leave the reals are no crash."""
    with pytest.raises(SystemExit, match="^[0-9]+$") as stop:
        cli_module.main(["diff", "--at", "x=1", "--format", "json", "--", text])
    _, err = capsys.readouterr()
    assert stop.value.code in (0, 2), err
    assert "internal error" not in err and "nested too deeply" not in err, err


# Other formats.


PYTHON_CASES = [
    ("sigmoid(w*x+b) + E*lambda", 1,
     SIGMOID + sympy.Symbol("E", real=True) * sympy.Symbol("lambda", real=True),
     {"E": 1.5, "b": 0.1, "lambda": -2.0, "w": 0.5, "x": 2.0}),
    ("erf(x)*relu(y) + where(x < y, softplus(x), abs(y)) + step(x)*sign(y)"
     " + max(x, y) + log1p(x^2) + expm1(y) + x^(1/3)", 2,
     fn.to_native(sympy.erf(x) * fn.relu(y)
                  + fn.where(x < y, fn.softplus(x), fn.absolute(y))
                  + fn.step(x) * fn.sign(y) + fn.maximum(x, y)
                  + fn.log1p(x**2) + fn.expm1(y) + x ** sympy.Rational(1, 3)),
     {"x": 0.7, "y": -0.3}),
]


@pytest.mark.parametrize("text, order, native, point", PYTHON_CASES,
                         ids=["sigmoid", "vocabulary, order 2"])
def test_python_format_runs_as_is_and_gives_the_same_numbers(
        text, order, native, point, tmp_path):
    """--format python is a runnable module whose function matches sympy's values."""
    source = invoke("diff", text, "--order", str(order), "--format", "python").stdout
    path = tmp_path / "generated.py"
    path.write_text(source)
    proc = subprocess.run([sys.executable, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr

    namespace = runpy.run_path(str(path))
    (function,) = [v for k, v in namespace.items()
                   if isinstance(v, types.FunctionType) and not k.startswith("_")]
    results = function(*[point[k] for k in sorted(point)])
    keys = list(itertools.product(sorted(point), repeat=order))
    assert len(results) == 1 + len(keys)
    assert close(results[0], oracle(native, point), 1e-14)
    for key, got in zip(keys, results[1:], strict=True):
        assert close(got, oracle(native, point, *key), 1e-12), key


def test_python_format_call_hint_works(tmp_path):
    """The generated source's "Call as" line is a call that works as written."""
    source = invoke("diff", "sigmoid(w*x+b)", "--format", "python").stdout
    (hint,) = re.findall(r"^# Call as: (.*)$", source, re.M)
    call = hint.replace("...", "1.0")
    namespace = {}
    exec(compile(source, "generated", "exec"), namespace)
    results = eval(call, namespace)
    assert close(results[0], 1 / (1 + math.exp(-2.0)), 1e-14)


def test_latex_format():
    """--format latex has f and one \\frac line per derivative with sympy's LaTeX."""
    out = invoke("diff", "x^2*y", "--format", "latex").stdout
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 3
    assert sympy.latex(x**2 * y) in lines[0]
    assert r"\partial x" in lines[1] and sympy.latex(2 * x * y) in lines[1]
    assert r"\partial y" in lines[2] and sympy.latex(x**2) in lines[2]


# Other commands.


def test_check_exits_0_on_a_correct_expression():
    """symgrad check agrees with sympy.diff and finite differences: exit 0."""
    result = CliRunner().invoke(cli, ["check", "sin(x)*y + sigmoid(x*y)"])
    assert result.exit_code == 0, result.output
    assert "agree" in result.stdout


def test_check_prints_no_warnings_for_points_it_discards(capsys):
    """check warns about nothing at the random points it tried and discarded."""
    with pytest.raises(SystemExit, match="^0$"):
        cli_module.main(["check", "log(x)*sqrt(x)"])
    out, err = capsys.readouterr()
    assert "agree" in out
    assert "warning" not in err, err


def test_check_at_a_point():
    """symgrad check --at x=1,y=2 checks that one point: one row per variable."""
    result = CliRunner().invoke(cli, ["check", "sin(x)*y", "--at", "x=1,y=2"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "x=1" in line]
    assert len(rows) == 2
    assert any(f"{math.cos(1) * 2:.10f}"[:10] in row for row in rows)


def test_check_marks_a_kink_as_the_convention():
    """relu at 0 has no derivative: check says 'kink' and exits 0, although
    sympy's Heaviside(0) = 1/2 differs from PyTorch's 0."""
    with pytest.warns(SymgradWarning, match="relu at 0"):
        result = CliRunner().invoke(cli, ["check", "relu(x)", "--at", "x=0"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2].endswith("kink")
    assert "0.5" in result.stdout.splitlines()[2]


@pytest.mark.parametrize("text, at", [("sqrt(x)*y", "x=0,y=1"), ("x^y", "x=0,y=2"),
                                      ("log(x)", "x=-1")])
def test_check_at_a_domain_edge_agrees(text, at):
    """An infinite slope (sqrt at 0), PyTorch's value where the textbook
    formula is 0*inf (x^y at 0) and a point outside the domain are no crash
    and no disagreement."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(cli, ["check", text, "--at", at])
    assert result.exit_code == 0, result.output
    assert "all derivatives agree" in result.stdout
    assert all(issubclass(w.category, SymgradWarning) for w in caught)


def test_check_exits_1_on_a_disagreement(monkeypatch):
    """A finite difference that differs from symgrad's value is a
    disagreement: NO in its row, exit 1."""
    from symgrad_cli import checking

    real = checking._finite_difference
    monkeypatch.setattr(checking, "_finite_difference",
                        lambda *args: real(*args) + 0.01)
    result = CliRunner().invoke(cli, ["check", "sin(x)", "--at", "x=1"])
    assert result.exit_code == 1
    assert "NO" in result.stdout and "DISAGREEMENT" in result.stdout


def test_version():
    """symgrad --version prints the package's version and exits 0."""
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert symgrad_cli.__version__ in result.stdout
    proc = run("--version")
    assert proc.returncode == 0 and symgrad_cli.__version__ in proc.stdout


def test_help_lists_the_commands():
    """symgrad --help names diff and check."""
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "diff" in result.stdout and "check" in result.stdout


def test_closed_pipe_is_not_an_error():
    """symgrad diff ... | head -1: exit 0, no traceback, when the reader goes away."""
    # About 130 kB of JSON: more than a pipe's buffer, so a write must fail.
    text = " + ".join(f"x{i}*y{i}" for i in range(300))
    proc = subprocess.Popen(symgrad_command() + ["diff", "--format", "json", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdin.write(text.encode())
    proc.stdin.close()
    first = proc.stdout.read(100)
    proc.stdout.close()
    status = proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert first.startswith(b"{")
    assert status == 0, err
    assert "Traceback" not in err and "Error" not in err


@pytest.mark.parametrize("args, words", [
    (["diff", "x*y", "--wrt", "x,x"], "more than once"),
    (["diff", "sin(x)", "--order", "99999999999999999999"], "at most 100"),
    (["diff", "sin(x*y)", "--order", "11"], "2^11 derivatives"),
])
def test_requests_beyond_reason_are_input_errors(args, words, capsys):
    """A repeated --wrt name, or more derivatives than can be built, is one
    message and exit 2, not a collapsed key or an endless run."""
    with pytest.raises(SystemExit, match="^2$"):
        cli_module.main(args)
    assert words in capsys.readouterr().err


def test_an_unwritable_standard_output_is_exit_1(tmp_path):
    """symgrad diff x^2 > /dev/full: one message, exit 1, no traceback."""
    if not os.path.exists("/dev/full"):
        pytest.fail("this test needs /dev/full (Linux)")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "symgrad_cli", "diff", "x^2"],
                              stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1
    assert "No space left" in done.stderr and "Traceback" not in done.stderr


def test_latex_writes_the_vocabulary_in_its_usual_notation():
    """abs as bars, max and min as \\max and \\min, sigmoid as sigma, where as
    cases; no sympy class name (absolute, maximum) leaks into the LaTeX."""
    out = invoke("diff", "abs(x) + max(x, y, z) + min(x, y) + sigmoid(x) "
                 "+ where(x > 0, expm1(x), log1p(y))", "--format", "latex").stdout
    first = out.splitlines()[0]
    for notation in (r"\left|x\right|", r"\max\left(x, y, z\right)",
                     r"\min\left(x, y\right)", r"\sigma\left(x\right)",
                     r"\begin{cases}", r"\operatorname{expm1}"):
        assert notation in first
    assert "absolute" not in out and "maximum" not in out


def test_abstract_function_of_an_expression_prints_the_chain_rule():
    """f(2*x): d/dx is 2 times f' at 2*x, which sympy writes with Subs (the
    derivative cannot be taken with respect to 2*x itself)."""
    out = strict_json(invoke("diff", "f(2*x)", "--format", "json").stdout)
    form = out["derivatives"]["x"]
    assert form.startswith("2*Subs(Derivative(f(") and form.endswith(", 2*x)")


@pytest.mark.parametrize("text, point", [("where(x == 0, 1, x)", [0.0]),
                                         ("where(x < y, x, y) + 1/x", [0.0, 2.0])])
def test_format_python_runs_on_python_floats(text, point):
    """--format python called with plain Python floats gives --at's values:
    a negated condition is not ~True = -2, and 1/0 is inf, not an error."""
    source = invoke("diff", text, "--format", "python").stdout
    namespace = {}
    exec(source, namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = namespace["forward_and_backward"](*point)
        names = sorted({"x", "y"} & set(re.findall(r"[xy]", text)))
        at = ",".join(f"{n}={v}" for n, v in zip(names, point))
        out = strict_json(invoke("diff", text, "--at", at, "--format", "json").stdout)
    want = [out["value"], *out["derivative_values"].values()]
    assert [json.dumps(float(g)) if math.isfinite(g) else str(float(g))
            for g in got] == [json.dumps(float(w)) if isinstance(w, float)
                              else w for w in want]


@pytest.mark.parametrize("text, at", [
    ("sum(x - x + y)", "x=[1,2,3],y=2"),
    ("sum(x)*y + sum(y + 0*x)", "x=[1,2,3],y=2"),
    ("mean(x*y) + sum(x^0*y)", "x=[1,2,3],y=2"),
])
def test_a_tensor_closed_form_reads_back_to_its_value(text, at):
    """The printed expression, parsed again, has the value of the original
    (a cancelled vector still counts its elements: sum(x - x + y) is 3*y)."""
    first = strict_json(invoke("diff", text, "--at", at, "--format", "json").stdout)
    # Only the variables the printed form still names get a value.
    names = set(re.findall(r"\b[xy]\b", first["expression"]))
    again_at = at if names == {"x", "y"} else at.split(",")[-1]
    again = strict_json(invoke("diff", first["expression"], "--at", again_at,
                               "--format", "json").stdout)
    assert again["value"] == first["value"]


@pytest.mark.parametrize("value, want", [(".5", 0.25), ("+5", 25.0), ("5.", 25.0),
                                         ("[.5,+1,2.]", 5.25)])
def test_at_reads_numbers_as_python_writes_them(value, want):
    """--at x=.5, +5, 5. and lists of them are numbers, though JSON's are not."""
    out = strict_json(invoke("diff", "sum(x^2)", "--at", f"x={value}",
                             "--format", "json").stdout)
    assert out["value"] == want

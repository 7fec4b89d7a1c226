"""The parser: DESIGN.md's expression language, its errors, and its limits.

Values are checked against worked examples and against sympy expressions
built directly (never through symgrad's parser).
"""

from __future__ import annotations

import builtins
import math
import time
import warnings

import pytest
import sympy

from symgrad_cli.api import differentiate
from symgrad_cli.errors import ParseError, SymgradError
from symgrad_cli.parse import parse


def at(text: str, **point):
    """The value and first derivatives of ``text`` at ``point``, as floats."""
    derivation = differentiate(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value, grads = derivation.evaluate(point)
    return float(value), {k: float(v) for k, v in grads.items()}


def caret_column(err: ParseError) -> int:
    """The column of the text that the caret line of ``pretty()`` points at."""
    lines = err.pretty().splitlines()
    i = next(i for i, line in enumerate(lines) if line.strip() == "^")
    shown, caret = lines[i - 1], lines[i]
    start = err.text.rfind("\n", 0, err.column) + 1
    end = err.text.find("\n", start)
    line = err.text[start:] if end == -1 else err.text[start:end]
    return start + caret.index("^") - shown.index(line)


# Precedence and associativity.


def test_unary_minus_binds_looser_than_power():
    """-x^2 is -(x^2): at x = 3 the value is -9 and the slope -6."""
    assert at("-x^2", x=3.0) == (-9.0, {"x": -6.0})


def test_power_is_right_associative():
    """2^3^2 is 2^9 = 512, an exact integer."""
    assert parse("2^3^2").output == 512
    assert parse("2**3**2").output == sympy.Integer(512)


def test_negative_exponent_without_parentheses():
    """x^-2 is x^(-2): at x = 2 the value is 1/4 and the slope -2/x^3 = -1/4."""
    assert at("x^-2", x=2.0) == (0.25, {"x": -0.25})


def test_double_star_is_the_same_operator_as_caret():
    """x**3 and x^3 build the same node, with derivative 3x^2 = 12 at x = 2."""
    assert parse("x**3").graph[parse("x**3").output].expr == sympy.Symbol(
        "x", real=True) ** 3
    assert at("x**3", x=2.0) == at("x^3", x=2.0) == (8.0, {"x": 12.0})


@pytest.mark.parametrize("text, value", [
    ("8 - 4 - 2", 2), ("8 / 4 / 2", 1), ("2 * 3 + 4", 10), ("2 + 3 * 4", 14),
    ("-2^2", -4), ("(-2)^2", 4), ("2^-1", sympy.Rational(1, 2)),
    ("-(-3)", 3), ("+3", 3), ("2^3*2", 16), ("-2*-3", 6),
])
def test_constant_arithmetic_follows_python(text, value):
    """Constant expressions have Python's precedence and stay exact."""
    assert parse(text).output == value


# Exact numbers.


def test_half_times_x_has_derivative_exactly_one_half():
    """1/2*x differentiates to the exact rational 1/2, not 0.5 and not 0."""
    derivative = differentiate("1/2*x").derivatives["x"]
    assert derivative == sympy.Rational(1, 2)
    assert isinstance(derivative, sympy.Rational)


def test_fractions_sum_exactly():
    """1/3 + 1/6 is exactly 1/2 and (1/3)*3*x has derivative exactly 1."""
    assert parse("1/3 + 1/6").output == sympy.Rational(1, 2)
    assert differentiate("(1/3)*3*x").derivatives["x"] == 1


@pytest.mark.parametrize("text, value", [
    ("0.5", 0.5), ("1e-3", 0.001), ("2.5E2", 250.0), (".25", 0.25), ("3.", 3.0),
])
def test_decimal_numbers(text, value):
    """Decimal and exponent notation give the float they spell."""
    assert float(parse(f"{text}*x").graph[parse(f"{text}*x").output].expr
                 .coeff(sympy.Symbol("x", real=True))) == value


def test_a_very_long_integer_is_parsed_or_refused_cleanly():
    """A 5,000-digit integer literal parses, or raises a SymgradError; nothing else."""
    try:
        program = parse("1" * 5000 + "*x")
    except SymgradError:
        return
    assert program.variables == ["x"]


# Names.

SPECIAL_NAMES = ["N", "S", "I", "E", "Q", "O", "beta", "gamma", "lambda", "zeta"]


def test_builtin_names_are_plain_variables():
    """N S I E Q O beta gamma lambda zeta are all real variables."""
    program = parse(" + ".join(SPECIAL_NAMES))
    assert program.variables == sorted(SPECIAL_NAMES)


def test_builtin_names_differentiate_as_variables():
    """In a product of the special names, each partial is the product of the rest."""
    values = {name: 1.0 + i / 10 for i, name in enumerate(SPECIAL_NAMES)}
    value, grads = at("*".join(SPECIAL_NAMES), **values)
    assert value == pytest.approx(math.prod(values.values()), rel=1e-14)
    for name in SPECIAL_NAMES:
        others = math.prod(v for k, v in values.items() if k != name)
        assert grads[name] == pytest.approx(others, rel=1e-14)


@pytest.mark.parametrize("names", [["α", "β"], ["x_0", "x_1"], ["λ", "σ2"],
                                   ["résumé", "ß"], ["_a", "b_"]])
def test_unicode_and_underscore_names(names):
    """Greek and other Unicode letters and underscores make variable names."""
    a, b = names
    value, grads = at(f"{a}^2*{b}", **{a: 3.0, b: 5.0})
    assert parse(f"{a}^2*{b}").variables == sorted(names)
    assert (value, grads) == (45.0, {a: 30.0, b: 9.0})


def test_pi_and_e_are_the_only_constants():
    """pi and e are numbers, not variables; E is a variable."""
    assert parse("pi*e").variables == []
    assert float(parse("pi*e").output) == pytest.approx(math.pi * math.e)
    value, grads = at("E*e^x", E=2.0, x=1.0)
    assert value == pytest.approx(2 * math.e, rel=1e-15)
    assert grads == pytest.approx({"E": math.e, "x": 2 * math.e}, rel=1e-15)


def test_pi_times_x_has_derivative_pi():
    """The derivative of pi*x is the number pi."""
    assert sympy.simplify(differentiate("pi*x").derivatives["x"] - sympy.pi) == 0


# Programs.


def test_program_with_semicolons_and_named_results():
    """z = 2*x + 2; q = relu(z) + z*x; q*x matches sympy at x = 1.5."""
    x = sympy.Symbol("x", real=True)
    z = 2 * x + 2
    native = (sympy.Max(z, 0) + z * x) * x
    value, grads = at("z = 2*x + 2; q = relu(z) + z*x; q*x", x=1.5)
    assert value == pytest.approx(float(native.subs(x, 1.5)), rel=1e-14)
    assert grads["x"] == pytest.approx(float(native.diff(x).subs(x, 1.5)), rel=1e-14)
    assert {"z", "q"} <= set(parse("z = 2*x + 2; q = relu(z) + z*x; q*x").graph.names)


def test_program_with_newlines_and_comments():
    """Statements on lines, with # comments and blank lines: 2*(x^2 + 1)."""
    text = "# a program\na = x*x  # square\n\nb = a + 1 # plus one\r\nb*2\n"
    assert at(text, x=3.0) == (20.0, {"x": 12.0})


def test_the_last_statement_is_the_output():
    """Only the last statement is the output; earlier ones are named results."""
    assert at("a = x^3; b = a*2; a", x=2.0) == (8.0, {"x": 12.0})


def test_a_name_may_be_reassigned_after_use():
    """A later assignment to the same name rebinds it: x*3 then +1."""
    assert at("a = x*3; a = a + 1; a*a", x=1.0) == (16.0, {"x": 24.0})


# Abstract functions.


def test_abstract_function_chain_rule_matches_sympy():
    """f(g(x)) differentiates to sympy's f'(g(x))*g'(x)."""
    x = sympy.Symbol("x", real=True)
    f, g = sympy.Function("f", real=True), sympy.Function("g", real=True)
    _, forms = differentiate("f(g(x))").closed_forms()
    assert sympy.simplify(forms["x"] - sympy.diff(f(g(x)), x)) == 0


@pytest.mark.parametrize("name", ["gamma", "N", "zeta", "beta", "E", "exec"])
def test_other_names_called_are_abstract_functions(name):
    """Any name outside the vocabulary called with arguments is an abstract function."""
    x = sympy.Symbol("x", real=True)
    _, forms = differentiate(f"{name}(x)*x").closed_forms()
    h = sympy.Function(name, real=True)
    assert sympy.simplify(forms["x"] - sympy.diff(h(x) * x, x)) == 0


def test_abstract_function_of_two_arguments():
    """h(x, y) has both partials in sympy's notation."""
    x, y = sympy.symbols("x y", real=True)
    h = sympy.Function("h", real=True)
    _, forms = differentiate("h(x, y)").closed_forms()
    assert sympy.simplify(forms["x"] - sympy.diff(h(x, y), x)) == 0
    assert sympy.simplify(forms["y"] - sympy.diff(h(x, y), y)) == 0


# Errors.


@pytest.mark.parametrize("text, column, message", [
    ("x $ y", 2, "unexpected character '\\$'"),
    ("2x", 1, "unexpected 'x'"),
    ("x + * y", 4, "unexpected '\\*'"),
    ("sin(x))", 6, "unexpected '\\)'"),
    ("x ** * 2", 5, "unexpected '\\*'"),
    ("a = x\nb = a +* 2\nb", 13, "unexpected '\\*'"),
    ("x < 1", 2, "comparison can only be the condition of where"),
    ("log(x >= 1)", 6, "comparison can only be the condition of where"),
    ("where(x, 1, 2)", 6, "condition must be a comparison"),
])
def test_parse_error_points_at_the_offending_column(text, column, message):
    """A parse error carries the column of the offending text and names it."""
    with pytest.raises(ParseError, match=message) as info:
        parse(text)
    assert info.value.column == column
    assert caret_column(info.value) == column


@pytest.mark.parametrize("text", ["sin(x", "x +"])
def test_end_of_input_caret_points_past_the_last_character(text):
    """An unexpected end of input puts the caret after the text, not on its end."""
    with pytest.raises(ParseError, match="end of input") as info:
        parse(text)
    assert info.value.column == len(text)


def test_pretty_error_shows_the_expression_and_a_caret():
    """pretty() gives the message, the expression, and a caret under the column."""
    with pytest.raises(ParseError, match="unexpected character") as info:
        parse("sin(x) + y ? 2")
    lines = info.value.pretty().splitlines()
    assert "sin(x) + y ? 2" in lines[1]
    assert lines[1][lines[2].index("^")] == "?"


def test_juxtaposed_number_and_name_gets_a_hint():
    """2x fails with a hint to write 2*x."""
    with pytest.raises(ParseError, match="unexpected") as info:
        parse("3 + 2x")
    assert "2*x" in info.value.hint
    assert "2*x" in info.value.pretty()


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "# only a comment", ";;"])
def test_empty_input_is_a_parse_error(text):
    """An expression with no statement is a parse error, not a crash."""
    with pytest.raises(ParseError, match="empty|unexpected"):
        parse(text)


@pytest.mark.parametrize("text, message", [
    ("sin(x, y)", "sin takes 1 argument, got 2"),
    ("exp()", "exp takes 1 argument, got 0"),
    ("max(x)", "max takes 2 or more arguments, got 1"),
    ("where(x < 1, x)", "where takes 3 arguments, got 2"),
    ("log(x, y, z)", "log takes 1 argument, got 3"),
])
def test_wrong_arity_is_a_parse_error(text, message):
    """A vocabulary function with the wrong number of arguments names the count."""
    with pytest.raises(ParseError, match=message) as info:
        parse(text)
    assert info.value.column == 0


@pytest.mark.parametrize("text", ["x == 1", "x != y", "(x > 0) * 2",
                                  "c = x < 1; where(c, 1, 2)"])
def test_comparison_outside_where_is_a_parse_error(text):
    """A comparison is only allowed as where's condition."""
    with pytest.raises(ParseError, match="comparison"):
        parse(text)


@pytest.mark.parametrize("text, message", [
    ("pi = 3; pi", "constant"), ("e(x)", "not a function"),
    ("a = x; a(2)", "not a function"), ("y*2; y = 3", "before this assignment"),
])
def test_misused_names_are_parse_errors(text, message):
    """Assigning a constant, calling a constant or a result, or late binding fails."""
    with pytest.raises(ParseError, match=message):
        parse(text)


# Security.

MALICIOUS = [
    "__import__('os').system('touch owned')",
    '__import__("os").system("touch owned")',
    "exec(compile(x, x, x))",
    "eval(x)",
    "__import__(os)",
    "x.__class__",
    "lambda: 0",
    "sympy.parse_expr(x)",
    "[open('owned', 'w')]",
]


@pytest.mark.parametrize("text", MALICIOUS)
def test_user_text_never_runs(text, tmp_path, monkeypatch):
    """Code-like text is parsed or refused, never run: no eval, exec or parse_expr."""
    import sympy.parsing.sympy_parser as sympy_parser

    parse("x")  # build the grammar's tables before the traps are set
    monkeypatch.chdir(tmp_path)

    def trap(*args, **kwargs):
        raise AssertionError("user text reached eval/exec/parse_expr")

    monkeypatch.setattr(builtins, "eval", trap)
    monkeypatch.setattr(builtins, "exec", trap)
    monkeypatch.setattr(builtins, "__import__", _guarded_import(builtins.__import__))
    monkeypatch.setattr(sympy_parser, "parse_expr", trap)
    try:
        parse(text)
    except ParseError:
        pass
    assert list(tmp_path.iterdir()) == []


def _guarded_import(original):
    def guarded(name, *args, **kwargs):
        if name in ("os", "subprocess"):
            raise AssertionError(f"user text imported {name}")
        return original(name, *args, **kwargs)

    return guarded


# Limits.


def test_deep_nesting_parses_without_recursion_error():
    """sin(sin(...sin(x)...)) nested 20,000 deep parses into 20,000 sin nodes."""
    program = parse("sin(" * 20000 + "x" + ")" * 20000)
    assert sum(node.op == "sin" for node in program.graph) == 20000


def test_deep_parentheses_and_minus_signs_parse():
    """20,000 nested parentheses and 20,001 minus signs parse; 2,001 evaluate."""
    assert parse("(" * 20000 + "x" + ")" * 20000).variables == ["x"]
    assert parse("-" * 20001 + "x").variables == ["x"]
    assert at("-" * 2001 + "x", x=2.0) == (-2.0, {"x": -1.0})


def test_a_2000_term_sum_parses_in_well_under_a_second():
    """x0*y0 + ... + x1999*y1999 parses in under a second of CPU time."""
    text = " + ".join(f"x{i}*y{i}" for i in range(2000))
    parse("x")
    # CPU time, not wall time: with xdist's other worker and other programs
    # on two cores, wall time would measure the neighbours.
    start = time.process_time()
    program = parse(text)
    elapsed = time.process_time() - start
    assert len(program.variables) == 4000
    assert elapsed < 1.0

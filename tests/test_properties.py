"""Property tests: random expressions against sympy.diff, random text too.

The expressions come from ``strategies.expressions``, which renders each
random tree both as text for symgrad and as a native sympy expression built
without symgrad; the oracle is ``sympy.diff`` of that native form, evaluated
at 30 digits.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import close, expressions, garbage, oracle, points

from symgrad_cli import cli
from symgrad_cli import functions as fn
from symgrad_cli.api import differentiate
from symgrad_cli.errors import ParseError, SymgradError
from symgrad_cli.export import time_limit
from symgrad_cli.parse import parse

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def evaluate(derivation, point):
    """The derivation's value and derivatives at ``point``, warnings silenced."""
    values = {v: point[v] for v in derivation.program.variables}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return derivation.evaluate(values)


def defined_point(expression, seed):
    point = points(expression, seed)
    assume(point is not None)
    return point


@SETTINGS
@given(expression=expressions(), seed=st.integers(0, 2**32 - 1))
def test_first_derivatives_agree_with_sympy_diff(expression, seed):
    """Every first partial of a random expression equals sympy.diff's at a point."""
    point = defined_point(expression, seed)
    derivation = differentiate(expression.text)
    value, grads = evaluate(derivation, point)

    want = oracle(expression.native, point)
    assume(want is not None)
    assert close(value, want), (value, want)
    for name in expression.variables:
        want = oracle(expression.native, point, name)
        assume(want is not None)
        # A variable sympy cancelled (x - x) is not in the program: its
        # derivative must then be 0.
        got = grads.get(name, 0.0)
        assert close(got, want), (name, got, want)


@settings(SETTINGS, max_examples=40)
@given(expression=expressions(max_leaves=6), seed=st.integers(0, 2**32 - 1))
def test_second_derivatives_agree_with_sympy_diff(expression, seed):
    """Every second partial, mixed ones included, equals sympy.diff's at a point."""
    point = defined_point(expression, seed)
    derivation = differentiate(expression.text, order=2)
    _, grads = evaluate(derivation, point)

    variables = derivation.program.variables
    for first in variables:
        for second in variables:
            want = oracle(expression.native, point, first, second)
            assume(want is not None)
            got = grads[f"{first},{second}"]
            assert close(got, want), (first, second, got, want)


@settings(SETTINGS, max_examples=30)
@given(expression=expressions(max_leaves=6), seed=st.integers(0, 2**32 - 1))
def test_closed_forms_parse_back_to_equal_values(expression, seed):
    """The printed function and derivatives parse back to the values they print."""
    point = defined_point(expression, seed)
    derivation = differentiate(expression.text)
    value, grads = evaluate(derivation, point)
    function, forms = derivation.closed_forms()

    printed = {"@": (function, value)}
    printed.update((key, (form, grads[key])) for key, form in forms.items())
    for key, (form, want) in printed.items():
        text = derivation.text(form)
        assume(text is not None and np.isfinite(want))
        reparsed = differentiate(text)
        assert set(reparsed.program.variables) <= set(point), (key, text)
        got, _ = evaluate(reparsed, point)
        assert close(got, float(want)), (key, text, got, want)


@SETTINGS
@given(expression=expressions(max_leaves=6), seed=st.integers(0, 2**32 - 1))
def test_parsed_function_matches_native_form(expression, seed):
    """The parsed function, written natively by to_native, has the oracle's value."""
    point = defined_point(expression, seed)
    derivation = differentiate(expression.text)
    function, _ = derivation.closed_forms(simplify=False)

    with fn.using_kinks("pytorch"):
        native = fn.to_native(function)
    got = oracle(native, point)
    want = oracle(expression.native, point)
    assume(want is not None)
    assert got is not None and close(got, want, 1e-12), (got, want)


@settings(SETTINGS, max_examples=300)
@given(text=garbage())
def test_random_text_parses_or_raises_parse_error(text):
    """Any string either parses or raises a SymgradError with a message."""
    try:
        with time_limit(5):
            parse(text)
    except SymgradError as err:
        assert str(err)
        if isinstance(err, ParseError):
            assert 0 <= err.column <= len(text)
            assert "^" in err.pretty()


@settings(SETTINGS, max_examples=150, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=garbage())
def test_random_text_through_main_exits_0_or_2(text, capsys):
    """The command line's main() on any string exits 0 or 2, with a message for 2."""
    assume(text != "-")  # "-" means standard input
    with time_limit(5), pytest.raises(SystemExit, match="^[0-9]+$") as stop:
        cli.main(["diff", "--format", "json", "--", text])
    out, err = capsys.readouterr()
    assert stop.value.code in (0, 2), (stop.value.code, err)
    assert "Traceback" not in err
    if stop.value.code == 2:
        assert err.strip()
    else:
        assert out.strip()


@settings(SETTINGS, max_examples=4)
@given(text=garbage())
def test_random_text_through_the_installed_command(text):
    """The installed command on any stdin text exits 0 or 2, never with a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "symgrad_cli", "diff", "-"],
        input=text.encode("utf-8", "surrogatepass"), capture_output=True,
        timeout=60,
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode in (0, 2), err
    assert "Traceback" not in err
    if proc.returncode == 2:
        assert err.strip()

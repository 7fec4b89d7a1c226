"""Every case of the shared diff_cases.json, run through the installed command.

The comparison rules are those of ``shared/cases/check_cases.py``: the exit
status must match; a failure must print a message on standard error and no
traceback; a success must print strict JSON whose value and derivative
values agree with the case to a relative tolerance (1e-9 unless the case
says otherwise).  The cases are read from the shared directory when it is
there, and from the copy in ``tests/data`` otherwise.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).parents[1] / ".." / "shared" / "cases" / "diff_cases.json"
COPY = Path(__file__).parent / "data" / "diff_cases.json"
NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def load_cases() -> list[dict]:
    path = SHARED if SHARED.exists() else COPY
    return json.loads(path.read_text())


def symgrad_command() -> list[str]:
    """The installed executable, or the package run as a module."""
    executable = shutil.which("symgrad")
    return [executable] if executable else [sys.executable, "-m", "symgrad_cli"]


def as_number(value) -> float:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value in NONFINITE:
        return NONFINITE[value]
    raise TypeError(f"{value!r} is not a number")


def close(got, want, tol: float) -> bool:
    """check_cases.py's rule: NaN matches NaN, infinities exactly, else relative."""
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(close(g, w, tol) for g, w in zip(got, want)))
    try:
        got, want = as_number(got), as_number(want)
    except TypeError:
        return False
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    return abs(got - want) <= tol * max(1.0, abs(want))


def command_for(case: dict) -> tuple[list[str], str | None]:
    cmd = symgrad_command() + ["diff"]
    if case.get("wrt"):
        cmd += ["--wrt", ",".join(case["wrt"])]
    if case.get("order", 1) != 1:
        cmd += ["--order", str(case["order"])]
    if case.get("at"):
        compact = (",", ":")
        cmd += ["--at", ",".join(f"{k}={json.dumps(v, separators=compact)}"
                                 for k, v in case["at"].items())]
    cmd += ["--format", "json"] + case.get("options", [])
    if len(case["expr"]) > 8000:
        return cmd + ["-"], case["expr"]
    return cmd + ["--", case["expr"]], None


def reject_constant(name):
    raise ValueError(f"bare {name} is not JSON")


CASES = load_cases()


#: Cases of faults found here and fixed, each kind of fault once, in the
#: same format; their values come from mpmath at 50 digits (sympy.diff of
#: the expression where it has a real value), or by hand for a convention.
REGRESSIONS = json.loads(
    (Path(__file__).parent / "data" / "regression_cases.json").read_text())


def test_the_cases_are_there():
    """The case file holds cases, and the copy in tests/data matches the shared one."""
    assert len(CASES) >= 19
    if SHARED.exists():
        assert json.loads(COPY.read_text()) == json.loads(SHARED.read_text())


@pytest.mark.parametrize("case", CASES + REGRESSIONS,
                         ids=[c["id"] for c in CASES + REGRESSIONS])
def test_case(case, tmp_path):
    """One case: exit status, message or JSON values as the case expects."""
    cmd, stdin = command_for(case)
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                          timeout=case.get("timeout", 60), cwd=tmp_path)
    expect = case["expect"]

    assert proc.returncode == expect.get("exit", 0), proc.stderr[-2000:]
    for name in expect.get("absent_files", []):
        assert not (tmp_path / name).exists(), f"the input created {name}"
    if expect.get("exit", 0) != 0:
        assert proc.stderr.strip(), "failed without a message on standard error"
        assert "Traceback" not in proc.stderr
        return

    out = json.loads(proc.stdout, parse_constant=reject_constant)
    tol = case.get("tol", 1e-9)
    for key, want in expect.get("values", {}).items():
        got = out["value"] if key == "@value" else out["derivative_values"][key]
        assert close(got, want, tol), (key, got, want)

"""tau2's `calculate` tool without `eval`: the same results and error messages, no hangs.

tau2-bench computes `str(round(float(eval(expression, {"__builtins__": None}, {})), 2))` after
checking that the expression uses only `0123456789+-*/(). `. Those characters can only form
numbers, `...`, `()`, the operators `+ - * / // **` and parentheses, so walking Python's own
syntax tree and applying the same operators gives exactly what `eval` gives, including every
exception text (`division by zero`, `float() argument must be ... not 'tuple'`, syntax errors
from the same compiler). Deliberate differences: an integer power whose result would have
more than a million bits raises instead of letting the process compute for minutes, and the
wording of a `*`-unpacking error inside a call (`1(*1)`) may differ from CPython's.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

__all__ = ["ALLOWED_CHARACTERS", "calculate"]

ALLOWED_CHARACTERS = "0123456789+-*/(). "
"""The characters tau2 lets through to the evaluator (tested with `in`, as tau2 does)."""

_MAX_POWER_BITS = 1_000_000

# The operators themselves, so every TypeError/ZeroDivisionError text is Python's own.
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Pow: lambda a, b: a**b,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: lambda a: +a,
    ast.USub: lambda a: -a,
}


def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression and round the result to 2 decimals, as tau2 does.

    Args:
        expression: E.g. `"652.61 + 473.43"`.

    Returns:
        The rounded result as text, e.g. `"1126.04"`.

    Raises:
        ValueError: The expression has a character outside `0123456789+-*/(). `
            ("Invalid characters in expression") or a power too large to compute.
        SyntaxError, ZeroDivisionError, TypeError, OverflowError: Exactly where `eval` raises.
    """
    if not all(char in ALLOWED_CHARACTERS for char in expression):
        raise ValueError("Invalid characters in expression")
    # Arguments are not validated (as in tau2): a list of digit strings passes the check above.
    if not isinstance(expression, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError("eval() arg 1 must be a string, bytes or code object")
    # eval() strips leading spaces of a source string; compile() would call them an indent.
    source = expression.lstrip(" ")
    compile(source, "<string>", "eval")  # the compiler's own syntax errors, word for word
    tree = ast.parse(source, "<string>", mode="eval")
    value: Any = _evaluate(tree.body)
    return str(round(float(value), 2))


def _evaluate(node: ast.expr) -> object:
    """The value of one node of an expression made of the allowed characters."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple) and not node.elts:
        return ()
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Call):  # "2(3 + 4)": an agent's implicit multiplication
        return _call(node)
    # Unreachable with the allowed characters; kept so a new Python syntax cannot slip through.
    raise ValueError("Invalid characters in expression")


def _call(node: ast.Call) -> object:
    """Evaluate a call's parts in Python's order, then fail: no value here is callable.

    Call arguments can only be plain or `*`/`**`-unpacked (no names, no commas), and only
    `()` unpacks; the unpacking messages follow CPython 3.11's wording for the common case.
    """
    function = _evaluate(node.func)
    for argument in node.args:
        if isinstance(argument, ast.Starred):
            value = _evaluate(argument.value)
            if not isinstance(value, tuple):
                raise TypeError(f"Value after * must be an iterable, not {type(value).__name__}")
        else:
            _evaluate(argument)
    for keyword in node.keywords:
        value = _evaluate(keyword.value)
        raise TypeError(
            f"{function!r} argument after ** must be a mapping, not {type(value).__name__}"
        )
    raise TypeError(f"'{type(function).__name__}' object is not callable")


def _check_power(base: object, exponent: object) -> None:
    """Refuse integer powers so large that computing them would stall the process."""
    # int-to-float comparison is exact, so a huge exponent cannot overflow here
    if (
        type(base) is int
        and type(exponent) is int
        and abs(base) > 1
        and exponent > _MAX_POWER_BITS / math.log2(abs(base))
    ):
        raise ValueError("Expression too large to calculate")

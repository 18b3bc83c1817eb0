"""Exact money.

Gives the decimal contexts every amount is computed in (`EXACT` traps any
inexact result, so nothing is ever rounded by accident), `round_amount` for the
one place rounding is wanted, and `plain`, the one way amounts become text
(`0.0003888`, never `3.888E-4`, never a float).
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from functools import reduce
from typing import Iterable

ZERO = Decimal(0)
# 200 digits: an amount within the limits (prices of at most 30 significant digits and 30 decimals, per
# token down to 36 decimals; under 10**27 tokens a record, and any number of records a machine can read)
# needs fewer than 100, so every product and sum is exact; `Inexact` is trapped all the same.
PRECISION = 200
EXACT = decimal.Context(prec=PRECISION, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
ROUNDING = decimal.Context(prec=PRECISION, traps=[decimal.InvalidOperation, decimal.Overflow])


def exact_sum(amounts: Iterable[Decimal]) -> Decimal:
    """The exact sum. Python's `sum` would add in the thread's context: 28 digits, rounding silently."""
    return reduce(EXACT.add, amounts, ZERO)


def round_amount(amount: Decimal, quantum: Decimal, mode: str) -> Decimal:
    return amount.quantize(quantum, mode, ROUNDING)


def plain(amount: Decimal) -> str:
    """An exact amount as text, without exponent or trailing zeros."""
    text = format(amount.normalize(ROUNDING), "f")
    return "0" if text in ("0", "-0") else text

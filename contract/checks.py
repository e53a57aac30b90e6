"""Parameter and input checks shared by every layer: one message style a user can act on."""
from __future__ import annotations

import argparse
import math
import numbers

import numpy as np


def check_int(name: str, value, lo: int, hi: int | None = None) -> int:
    """Return `value` if it is an integer in [lo, hi]; raise TypeError/ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ValueError(f"{name} must be {rng}, not {value!r}")
    return int(value)


def check_choice(name: str, value, choices, why: str):
    """Return `value` if it is one of `choices`; else ValueError naming the parameter, the choices and
    `why` (what the choice selects)."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))} ({why}), not {value!r}")
    return value


def check_finite(name: str, values, *, sample: int | None = None) -> np.ndarray:
    """Return `values` as a float64 array if every element is finite; else raise ValueError naming the
    argument, the sample (when given) and the first offending element."""
    arr = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        first = float(arr[where])
        at = f" of sample {sample}" if sample is not None else ""
        pos = f" at index {where[0] if len(where) == 1 else where}" if where else ""
        raise ValueError(f"{name}{at} must be finite, found {first}{pos}")
    return arr


def check_finite_scalar(name: str, value) -> float:
    """Return float(value) if it is a finite real number; else raise ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value!r}")
    return float(value)


def check_finite_samples(*named_rows: tuple[str, object], start: int = 0) -> list[np.ndarray]:
    """Check batches of samples given as (name, rows) pairs (row j of every array is sample start + j):
    return the arrays as float64 if every element is finite; else raise the ValueError of `check_finite`
    for the first sample, in sample order and then argument order, that has a non-finite element."""
    arrays = [np.asarray(rows, dtype=np.float64) for _, rows in named_rows]
    if all(np.isfinite(arr).all() for arr in arrays):
        return arrays
    for j in range(max(len(arr) for arr in arrays)):
        for (name, _), arr in zip(named_rows, arrays):
            if j < len(arr):
                check_finite(name, arr[j], sample=start + j)
    raise AssertionError("unreachable: a non-finite element was found above")  # pragma: no cover


class CliParser(argparse.ArgumentParser):
    """The argument parser of every command-line entry point (flow, bench, demo, experiments): an error is
    one line on stderr, `<prog>: error: <message>`, exit status 2 (no usage block: --help prints that)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")

"""Construction-time parameter checks shared by the generators: messages a user can act on."""
from __future__ import annotations

import numbers


def check_int(name: str, value, lo: int, hi: int | None = None) -> int:
    """Return `value` if it is an integer in [lo, hi]; raise TypeError/ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ValueError(f"{name} must be {rng}, not {value!r}")
    return int(value)

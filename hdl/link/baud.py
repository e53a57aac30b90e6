"""Clock divisor of the UART (hdl/link/uart_rx.py, uart_tx.py): one bit lasts `divisor` clock cycles.

The receiver samples each bit in its middle after a 2-flip-flop synchroniser, so it needs at least 4 clocks
per bit; clock/baud is rounded to the nearest integer and the resulting rate may differ from `baud` by less
than 2 % (a UART frame of 10 bits tolerates about +-4 % between both ends; half of it is left to the host).
"""
from __future__ import annotations

MIN_CLOCKS_PER_BIT = 4
MAX_RATE_ERROR = 0.02


def baud_divisor(clk_hz: float, baud: float) -> int:
    """Clock cycles per UART bit for `clk_hz` and `baud`; ValueError saying what to change otherwise."""
    if not isinstance(clk_hz, (int, float)) or isinstance(clk_hz, bool) or clk_hz <= 0:
        raise ValueError(f"clk_hz must be a positive number of Hz, not {clk_hz!r}")
    if not isinstance(baud, (int, float)) or isinstance(baud, bool) or baud <= 0:
        raise ValueError(f"baud must be a positive number of bits/s, not {baud!r}")
    div = round(clk_hz / baud)
    if div < MIN_CLOCKS_PER_BIT:
        raise ValueError(f"clock {clk_hz / 1e6:g} MHz gives {clk_hz / baud:.2f} clocks per bit at {baud:g} baud; "
                         f"the UART needs at least {MIN_CLOCKS_PER_BIT}: raise the clock to "
                         f">= {MIN_CLOCKS_PER_BIT * baud / 1e6:g} MHz or lower the baud rate")
    err = abs(clk_hz / div - baud) / baud
    if err >= MAX_RATE_ERROR:
        raise ValueError(f"clock {clk_hz / 1e6:g} MHz / {div} = {clk_hz / div:.0f} baud is {100 * err:.1f} % off "
                         f"{baud:g} baud (limit {100 * MAX_RATE_ERROR:g} %): choose a clock that is a near "
                         f"multiple of the baud rate")
    return div

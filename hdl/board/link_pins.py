"""The host link's pins on a board: UART rx/tx and the busy/error LEDs of a HostTop (hdl/link/host_top.py)."""
from __future__ import annotations

from amaranth.lib import io


def connect_link_pins(m, platform, host, *, busy_led: tuple[str, int], error_led: tuple[str, int]) -> None:
    """Wire `host`'s rx/tx to the platform's "uart" 0 and its busy/error LEDs to the (resource name,
    number) given, through amaranth.lib.io buffers (platform.request with dir="-"; the LED resources
    carry their polarity, e.g. active low on the iCEBreaker, and the buffers apply it)."""
    uart = platform.request("uart", 0, dir="-")
    m.submodules.rx_buf = rx = io.Buffer("i", uart.rx)
    m.submodules.tx_buf = tx = io.Buffer("o", uart.tx)
    m.submodules.led_busy = led_busy = io.Buffer("o", platform.request(*busy_led, dir="-"))
    m.submodules.led_err = led_err = io.Buffer("o", platform.request(*error_led, dir="-"))
    m.d.comb += [host.rx.eq(rx.i), tx.o.eq(host.tx), led_busy.o.eq(host.busy_led), led_err.o.eq(host.error_led)]

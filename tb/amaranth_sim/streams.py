"""Helpers for fast Amaranth-simulator tests of stream blocks: seeded stalls on both sides.

put/get follow the Amaranth 0.5 stream rules (a transfer at a tick where valid and ready are high).
The pause patterns are seeded so a failure reproduces.
"""
from __future__ import annotations

import random


async def stream_put(ctx, port, payload, *, rng: random.Random | None = None, p_gap: float = 0.0):
    """Send one beat on `port` (an In stream of the DUT), after a random number of idle cycles."""
    while rng is not None and rng.random() < p_gap:
        ctx.set(port.valid, 0)
        await ctx.tick()
    ctx.set(port.payload, payload)
    ctx.set(port.valid, 1)
    await ctx.tick().until(port.ready)
    ctx.set(port.valid, 0)


async def stream_get(ctx, port, *, rng: random.Random | None = None, p_stall: float = 0.0):
    """Receive one beat from `port` (an Out stream of the DUT), refusing it at random cycles."""
    while True:
        ready = not (rng is not None and rng.random() < p_stall)
        ctx.set(port.ready, int(ready))
        _, _, payload, valid = await ctx.tick().sample(port.payload, port.valid)
        if ready and valid:
            ctx.set(port.ready, 0)
            return payload

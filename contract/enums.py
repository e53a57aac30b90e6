"""Enumerations shared by the golden models and the RTL: one encoding each.

Vec         which vector a beat, a microcode operand or a hand-over register belongs to. The same
            encoding on the engine's sample stream, in the microcode and on the update stream:
            D (delta / Dhat, the a row lines) = 0, X (x / Xhat, the b column lines) = 1.
Status      the update controller's status bits (layouts.STATUS_LAYOUT names the same bits in RTL).
Segment     the scalar unit's microcode segments, in ROM order (microcode.rom()).
"""
from __future__ import annotations

from enum import IntEnum, IntFlag


class Vec(IntEnum):
    D = 0       #: delta on the sample stream, D in the engine state, Dhat on the update stream (rows)
    X = 1       #: x on the sample stream, X in the engine state, Xhat on the update stream (columns)


class Status(IntFlag):
    """Flags of one finished update of the controller (golden and RTL). A flagged update writes nothing."""
    BL_ZERO = 1     #: the bl register is 0
    BL_POW2 = 2     #: deterministic mode with a bl that is not a power of two
    OVERFLOW = 4    #: the scale needs more than BL slots even with every slot passing
    PROTOCOL = 8    #: (RTL only) the beat counts or order differ from the update-stream contract


class Segment(IntEnum):
    """Microcode segments, in the order microcode.rom() lays them out."""
    CHAIN = 0       #: per sample, once its dot products are latched
    RESCALE = 1     #: after FINAL: the state becomes the next batch's warm start
    INIT = 2        #: after a state reset
    FINAL = 3       #: after the last sample's CHAIN: s and the read-out scales

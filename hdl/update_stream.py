"""The rank-1 update stream: the contract between the SBE engine (producer) and the crossbar update
controller (consumer). One update per batch: W <- W - eta * s * outer(Dhat, Xhat).

Beat layout (Amaranth StructLayout, first field in the low bits of the flattened Verilog payload):

    s_mant : signed(mant_width)   s = s_mant * 2**s_exp, signed (never squared or abs'd); the same on
    s_exp  : signed(exp_width)    every beat of one update, so a consumer may latch it from any beat
    elems  : lanes x signed(elem_width)
                                  unit-vector elements in Q1.(elem_width-1): value = elems[k] / 2**(elem_width-1),
                                  saturated to [-1, 1 - 2**-(elem_width-1)]; lanes past a vector's end are 0
    vec    : 1                    0: the beat carries Dhat (length a, row lines); 1: Xhat (length b, column lines)
    last   : 1                    last beat of this vector

Order within one update: ceil(a/lanes) Dhat beats (the last flagged), then ceil(b/lanes) Xhat beats
(the last flagged: the end of the update). A zero update (all-zero batch) is sent as s_mant = 0.
"""
from __future__ import annotations

from amaranth import signed
from amaranth.lib import data

from .params import check_int


def update_layout(*, lanes: int = 1, elem_width: int = 16, mant_width: int = 16,
                  exp_width: int = 8) -> data.StructLayout:
    """Layout of one beat of the update stream (see the module docstring for the formats)."""
    check_int("lanes", lanes, 1, 8)
    check_int("elem_width", elem_width, 2, 32)
    check_int("mant_width", mant_width, 2, 32)
    check_int("exp_width", exp_width, 2, 16)
    return data.StructLayout({
        "s_mant": signed(mant_width),
        "s_exp": signed(exp_width),
        "elems": data.ArrayLayout(signed(elem_width), lanes),
        "vec": 1,
        "last": 1,
    })

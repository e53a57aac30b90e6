"""Stream and register layouts shared by producers and consumers, and the one way to cut a vector into
beats. Amaranth StructLayouts: the first field sits in the low bits of the flattened Verilog payload.

Sample stream (into the SBE engine), `sample_layout(lanes, in_width, exp_width)`:

    elems         : lanes x signed(in_width)   x or delta elements (binary point x_frac / delta_frac)
    exp           : signed(exp_width)          the vector's block exponent: value = elems * 2**(exp - frac);
                                               read on the vector's `last` beat (ignored on the others)
    vec           : 1                          enums.Vec: X (x) or D (delta)
    last          : 1                          last beat of this vector
    last_of_batch : 1                          on the last delta beat of the batch's last sample

Per sample: ceil(b/L) x beats, then ceil(a/L) delta beats. Lanes past a vector's end are ignored.

Update stream (engine -> crossbar update controller), `update_layout(...)`; one rank-1 update per batch,
W <- W - eta * s * outer(Dhat, Xhat):

    s_mant : signed(mant_width)   s = s_mant * 2**s_exp, signed (never squared or abs'd); the same on
    s_exp  : signed(exp_width)    every beat of one update, so a consumer may latch it from any beat
    elems  : lanes x signed(elem_width)
                                  unit-vector elements in Q1.(elem_width-1): value = elems[k] / 2**(elem_width-1),
                                  saturated to [-1, 1 - 2**-(elem_width-1)]; lanes past a vector's end are 0
    vec    : 1                    enums.Vec: D (Dhat, length a, row lines) or X (Xhat, length b, column lines)
    last   : 1                    last beat of this vector

Order within one update: ceil(a/lanes) Dhat beats (the last flagged), then ceil(b/lanes) Xhat beats
(the last flagged: the end of the update). A zero update (all-zero batch) is sent as s_mant = 0.

Controller registers: MODE_LAYOUT {det, bl_mgmt, two_phase}; STATUS_LAYOUT names the bits of
enums.Status (bit k of the 4-bit status port is the flag of value 2**k).
"""
from __future__ import annotations

from amaranth import signed
from amaranth.lib import data

from .checks import check_int
from .enums import Status, Vec

MODE_LAYOUT = data.StructLayout({"det": 1, "bl_mgmt": 1, "two_phase": 1})
STATUS_LAYOUT = data.StructLayout({flag.name.lower(): 1 for flag in sorted(Status, key=int)})


def lane_chunks(values, lanes: int) -> list[tuple[list[int], bool]]:
    """Cut a vector into beats of `lanes` int elements, the last beat zero padded: [(elems, last), ...].
    The one beat-cutting rule of every stream of the project."""
    check_int("lanes", lanes, 1)
    vals = [int(v) for v in values]
    n = len(vals)
    if n == 0:
        raise ValueError("a vector must have at least one element")
    return [(vals[k:k + lanes] + [0] * max(0, k + lanes - n), k + lanes >= n) for k in range(0, n, lanes)]


def sample_layout(lanes: int = 1, in_width: int = 16, exp_width: int = 6) -> data.StructLayout:
    """Layout of one beat of the engine's sample stream (see the module docstring)."""
    return data.StructLayout({
        "elems": data.ArrayLayout(signed(in_width), lanes),
        "exp": signed(exp_width),
        "vec": 1,
        "last": 1,
        "last_of_batch": 1,
    })


def sample_beats(x, delta, lanes: int, last_of_batch: bool, x_exp: int = 0, delta_exp: int = 0) -> list[dict]:
    """One sample as `sample_layout` beat values (dicts): x beats then delta beats, lanes zero padded; the
    block exponent on every beat of its vector."""
    out = []
    for tag, v, e in ((Vec.X, x, x_exp), (Vec.D, delta, delta_exp)):
        for elems, last in lane_chunks(v, lanes):
            out.append({"elems": elems, "exp": int(e), "vec": int(tag), "last": int(last),
                        "last_of_batch": int(last and tag == Vec.D and bool(last_of_batch))})
    return out


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


def update_beats(dhat, xhat, s_mant: int, s_exp: int, lanes: int) -> list[dict]:
    """One update as `update_layout` beat values (dicts): Dhat beats, then Xhat beats."""
    out = []
    for tag, v in ((Vec.D, dhat), (Vec.X, xhat)):
        for elems, last in lane_chunks(v, lanes):
            out.append({"s_mant": int(s_mant), "s_exp": int(s_exp), "elems": elems, "vec": int(tag),
                        "last": int(last)})
    return out


def serial_layout(serial_width: int) -> data.StructLayout:
    """Beat of the controller's serial slot output: S lines' fire and polarity bits, `last` on a slot's end."""
    check_int("serial_width", serial_width, 1)
    return data.StructLayout({"fire": serial_width, "pol": serial_width, "last": 1})

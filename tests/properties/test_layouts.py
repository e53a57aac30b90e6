"""Properties of contract/layouts.py: the stream/register layouts round-trip through the bench packer
(tb/drivers/streams.py pack/unpack) and agree with Amaranth's own packer (layout.const(...)); the beat
cutters (lane_chunks, sample_beats, update_beats) reassemble the original vectors, pad with zeros and
flag `last` where the stream contract says. References: explicit bit arithmetic on the documented field
order (first field in the low bits), never the functions under test.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from contract.enums import Status, Vec
from contract.layouts import (MODE_LAYOUT, STATUS_LAYOUT, lane_chunks, sample_beats, sample_layout,
                              update_beats, update_layout)
from tb.drivers.streams import pack, unpack


def sint(width):
    return st.integers(-(1 << (width - 1)), (1 << (width - 1)) - 1)


def amaranth_raw(layout, value) -> int:
    """Amaranth's packing of a layout value (independent of tb/drivers/streams.py)."""
    return layout.const(value).as_value().value


def twos(v: int, width: int) -> int:
    return v & ((1 << width) - 1)


@st.composite
def sample_case(draw):
    lanes, in_width, exp_width = draw(st.integers(1, 8)), draw(st.integers(2, 32)), draw(st.integers(2, 12))
    value = {"elems": draw(st.lists(sint(in_width), min_size=lanes, max_size=lanes)),
             "exp": draw(sint(exp_width)), "vec": draw(st.sampled_from([int(Vec.D), int(Vec.X)])),
             "last": draw(st.integers(0, 1)), "last_of_batch": draw(st.integers(0, 1))}
    return (lanes, in_width, exp_width), value


@st.composite
def update_case(draw):
    lanes, ew, mw, xw = (draw(st.integers(1, 8)), draw(st.integers(2, 32)), draw(st.integers(2, 32)),
                         draw(st.integers(2, 16)))
    value = {"s_mant": draw(sint(mw)), "s_exp": draw(sint(xw)),
             "elems": draw(st.lists(sint(ew), min_size=lanes, max_size=lanes)),
             "vec": draw(st.sampled_from([int(Vec.D), int(Vec.X)])), "last": draw(st.integers(0, 1))}
    return (lanes, ew, mw, xw), value


@given(sample_case())
def test_sample_layout_packs_like_amaranth_and_round_trips(case):
    (lanes, in_width, exp_width), value = case
    layout = sample_layout(lanes, in_width, exp_width)
    raw = pack(layout, value)
    assert raw == amaranth_raw(layout, value)
    assert unpack(layout, raw) == value
    # documented field order, first field in the low bits
    want, pos = 0, 0
    for e in value["elems"]:
        want |= twos(e, in_width) << pos
        pos += in_width
    for name, w in (("exp", exp_width), ("vec", 1), ("last", 1), ("last_of_batch", 1)):
        want |= twos(value[name], w) << pos
        pos += w
    assert raw == want and layout.size == pos and 0 <= raw < 1 << pos


@given(update_case())
def test_update_layout_packs_like_amaranth_and_round_trips(case):
    (lanes, ew, mw, xw), value = case
    layout = update_layout(lanes=lanes, elem_width=ew, mant_width=mw, exp_width=xw)
    raw = pack(layout, value)
    assert raw == amaranth_raw(layout, value)
    assert unpack(layout, raw) == value
    want = twos(value["s_mant"], mw) | twos(value["s_exp"], xw) << mw
    pos = mw + xw
    for e in value["elems"]:
        want |= twos(e, ew) << pos
        pos += ew
    want |= value["vec"] << pos | value["last"] << (pos + 1)
    assert raw == want and layout.size == pos + 2


@given(update_case(), st.sampled_from(["s_mant", "s_exp", "elems"]), st.booleans())
def test_pack_rejects_a_value_that_does_not_fit(case, field, high):
    (lanes, ew, mw, xw), value = case
    layout = update_layout(lanes=lanes, elem_width=ew, mant_width=mw, exp_width=xw)
    w = {"s_mant": mw, "s_exp": xw, "elems": ew}[field]
    bad = (1 << (w - 1)) if high else -(1 << (w - 1)) - 1
    if field == "elems":
        value["elems"][0] = bad
    else:
        value[field] = bad
    with pytest.raises(ValueError):
        pack(layout, value)


@given(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1))
def test_mode_layout_bits(det, bl_mgmt, two_phase):
    value = {"det": det, "bl_mgmt": bl_mgmt, "two_phase": two_phase}
    raw = pack(MODE_LAYOUT, value)
    assert raw == amaranth_raw(MODE_LAYOUT, value) == det | bl_mgmt << 1 | two_phase << 2
    assert unpack(MODE_LAYOUT, raw) == value and MODE_LAYOUT.size == 3


@given(st.sets(st.sampled_from(list(Status))))
def test_status_layout_bit_k_is_the_flag_of_value_2_pow_k(flags):
    value = {f.name.lower(): int(f in flags) for f in Status}
    raw = pack(STATUS_LAYOUT, value)
    assert raw == amaranth_raw(STATUS_LAYOUT, value) == sum(int(f) for f in flags)
    assert unpack(STATUS_LAYOUT, raw) == value and STATUS_LAYOUT.size == 4
    assert Status(raw) == Status(sum(int(f) for f in flags))


def test_vec_encoding():
    assert (int(Vec.D), int(Vec.X)) == (0, 1)


# -- beat cutting ---------------------------------------------------------------------------------------

vectors = st.lists(st.integers(-(1 << 15), (1 << 15) - 1), min_size=1, max_size=40)


@given(vectors, st.integers(1, 9))
def test_lane_chunks_reassemble_pad_and_flag_last(vec, lanes):
    beats = lane_chunks(vec, lanes)
    assert len(beats) == math.ceil(len(vec) / lanes)
    flat = [e for elems, _ in beats for e in elems]
    assert all(len(elems) == lanes for elems, _ in beats)
    assert flat[:len(vec)] == vec and flat[len(vec):] == [0] * (len(flat) - len(vec))
    assert [last for _, last in beats] == [False] * (len(beats) - 1) + [True]


@pytest.mark.parametrize("vec, lanes", [([], 1), ([1], 0), ([1, 2], -1)])
def test_lane_chunks_rejects(vec, lanes):
    with pytest.raises(ValueError):
        lane_chunks(vec, lanes)


def check_vector_beats(beats, tag, vec, lanes):
    """`beats` are exactly vec's beats: tag on each, last only on the final one, elements reassemble."""
    assert len(beats) == math.ceil(len(vec) / lanes)
    assert all(b["vec"] == int(tag) for b in beats)
    assert [b["last"] for b in beats] == [0] * (len(beats) - 1) + [1]
    flat = [e for b in beats for e in b["elems"]]
    assert flat[:len(vec)] == vec and not any(flat[len(vec):]) and len(flat) == len(beats) * lanes


@given(vectors, vectors, st.integers(1, 8), st.booleans(), st.integers(-32, 31), st.integers(-32, 31))
def test_sample_beats_are_x_then_delta(x, delta, lanes, lob, x_exp, d_exp):
    beats = sample_beats(x, delta, lanes, lob, x_exp, d_exp)
    nx = math.ceil(len(x) / lanes)
    check_vector_beats(beats[:nx], Vec.X, x, lanes)
    check_vector_beats(beats[nx:], Vec.D, delta, lanes)
    assert all(b["exp"] == x_exp for b in beats[:nx]) and all(b["exp"] == d_exp for b in beats[nx:])
    assert [b["last_of_batch"] for b in beats] == [0] * (len(beats) - 1) + [int(lob)]
    layout = sample_layout(lanes, 16, 6)
    for b in beats:                                           # every beat fits its layout and round-trips
        assert unpack(layout, pack(layout, b)) == b == unpack(layout, amaranth_raw(layout, b))


@given(vectors, vectors, st.integers(1, 8), sint(16), sint(8))
def test_update_beats_are_dhat_then_xhat(dhat, xhat, lanes, s_mant, s_exp):
    beats = update_beats(dhat, xhat, s_mant, s_exp, lanes)
    nd = math.ceil(len(dhat) / lanes)
    check_vector_beats(beats[:nd], Vec.D, dhat, lanes)
    check_vector_beats(beats[nd:], Vec.X, xhat, lanes)
    assert all((b["s_mant"], b["s_exp"]) == (s_mant, s_exp) for b in beats)
    layout = update_layout(lanes=lanes, elem_width=16, mant_width=16, exp_width=8)
    for b in beats:
        assert unpack(layout, pack(layout, b)) == b == unpack(layout, amaranth_raw(layout, b))


@pytest.mark.parametrize("kw", [dict(lanes=0), dict(lanes=9), dict(elem_width=1), dict(elem_width=33),
                                dict(mant_width=1), dict(exp_width=17)])
def test_update_layout_rejects_out_of_range_widths(kw):
    with pytest.raises(ValueError):
        update_layout(**kw)

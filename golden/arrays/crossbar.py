"""Behavioural memristor crossbar: the golden array that receives pulse writes and serves analog reads.

Geometry: ``a`` rows (layer outputs, driven by u / delta) x ``b`` columns (layer inputs, driven by v / x);
device (i, j) holds weight ``W[i, j]``, so ``forward(x) = W x`` and ``backward(delta) = W^T delta``. The
784-input, 100-output layer of the paper is ``Crossbar(100, 784)``. A weight stands for a differential pair
of conductances (G+ - G-) scaled to weight units; the pair is modelled as one device with signed weight,
bounds [w_min, w_max] and separate up/down step sizes, as aihwkit does for a single device.

Pulse slots (``apply_slot``): in one slot each row line and each column line fires or not, with a
polarity +1 / -1. Every device whose row AND column fire (a coincidence) takes one step of the device
model in direction ``d = sign * row_pol[i] * col_pol[j]`` (+1 up, -1 down). Devices on only one firing line
(half-selected) do not move unless ``half_select_disturb`` > 0. Only the coincident devices are computed
(the others are not touched at all). ``apply_slots(slots)`` applies a whole list (a write) vectorised
across slots, bit-identical to ``apply_slot`` on each slot in order (tests/golden_models/
test_crossbar_batched.py); ``golden/rtl/update_controller.apply_write`` uses it.

Random streams (all ``numpy.random.Generator(PCG64(seed))``, independent of each other):

* construction: ``device.draw`` with ``construction_seed`` (device-to-device parameters, once);
* noise (``noise_seed``): cycle-to-cycle and write noise. Normals are drawn ONLY for devices that move.
  For a slot with n = nr*nc coincidences (nr firing rows x nc firing columns): ``standard_normal(n)``
  for c2c (only if dw_min_std > 0), then ``standard_normal(n)`` for write noise (only if
  write_noise_std > 0), each assigned to the coincident devices in row-major order (row index ascending,
  then column index ascending; the same values as ``standard_normal((nr, nc))``). A slot without
  coincidences draws nothing, so two arrays built with the same seeds and fed the same sequence of
  non-empty slots end bit-identical, even if one of them also sees empty slots. ``program`` draws
  ``standard_normal((a, b))`` (write noise only); ``apply_coincidence_counts`` and ``apply_ideal``
  document their draws;
* read (``read_seed``): output noise of ``forward``/``backward`` only, so reads never perturb the
  update noise stream.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.checks import check_finite, check_finite_samples

from golden.arrays.devices import ConstantStep, GokmenVlasov, PulsedDevice

__all__ = ["Crossbar", "ReadParams"]


@dataclass(frozen=True)
class ReadParams:
    """Peripheral (DAC/ADC) model of an analog read; defaults are aihwkit's forward ``IOParameters``.

    Every non-ideality is disabled by None (or False); :meth:`perfect` disables all of them.

    Parameters
    ----------
    in_bits : int or None
        DAC resolution: a symmetric converter with 2**in_bits - 1 levels over [-in_bound, in_bound],
        step 2*in_bound / (2**in_bits - 2) (aihwkit inp_res = 1/(2**7 - 2) of the full range).
    in_bound : float or None
        Inputs (after noise management) are clipped to [-in_bound, in_bound]. Required by in_bits.
    out_bits : int or None
        ADC resolution, step 2*out_bound / (2**out_bits - 2). Requires out_bound.
    out_bound : float or None
        Outputs are clipped to [-out_bound, out_bound] (saturation; no bound management).
    out_noise : float or None
        Std of additive Gaussian noise on each output, added before the bound and the ADC.
    noise_management : bool
        aihwkit "abs max": each input vector is divided by its max |x| before the DAC and the output
        multiplied back, so in_bound and out_bound act on the normalised read. A zero vector is not scaled.
    """

    in_bits: int | None = 7
    in_bound: float | None = 1.0
    out_bits: int | None = 9
    out_bound: float | None = 12.0
    out_noise: float | None = 0.06
    noise_management: bool = True

    def __post_init__(self):
        for name in ("in_bits", "out_bits"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 2):
                raise ValueError(f"{name} must be an integer >= 2 or None, not {v!r}")
        for name in ("in_bound", "out_bound"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
                raise ValueError(f"{name} must be a positive number or None, not {v!r}")
        v = self.out_noise
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            raise ValueError(f"out_noise must be a non-negative number or None, not {self.out_noise!r}")
        if self.in_bits is not None and self.in_bound is None:
            raise ValueError("in_bits needs in_bound (the DAC range)")
        if self.out_bits is not None and self.out_bound is None:
            raise ValueError("out_bits needs out_bound (the ADC range)")
        if not isinstance(self.noise_management, bool):
            raise TypeError(f"noise_management must be a bool, not {self.noise_management!r}")

    @classmethod
    def perfect(cls) -> "ReadParams":
        """An exact read: W x in float64."""
        return cls(in_bits=None, in_bound=None, out_bits=None, out_bound=None, out_noise=None,
                   noise_management=False)

    @property
    def in_step(self) -> float | None:
        """DAC step, or None for no input quantisation."""
        return None if self.in_bits is None else 2.0 * self.in_bound / (2 ** self.in_bits - 2)

    @property
    def out_step(self) -> float | None:
        """ADC step, or None for no output quantisation."""
        return None if self.out_bits is None else 2.0 * self.out_bound / (2 ** self.out_bits - 2)


def _seed(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ValueError(f"{name} must be a non-negative integer, not {v!r}")
    return int(v)


class Crossbar:
    """An a x b array of behavioural devices with pulse-slot writes, analog reads and counters.

    Parameters
    ----------
    a, b : int
        Rows (layer outputs) and columns (layer inputs).
    device : PulsedDevice
        Device model and parameters (a preset such as ``GokmenVlasov()`` or a model such as
        ``ConstantStep(dw_min=...)``). Default ``GokmenVlasov()``.
    construction_seed : int or None
        Seed of the device-to-device draws; None uses ``device.construction_seed``.
    noise_seed : int
        Seed of the cycle-to-cycle and write noise stream (see the module docstring for its order).
    read_seed : int
        Seed of the output noise of reads.
    forward_io, backward_io : ReadParams or None
        Peripheral models of ``forward`` and ``backward``; backward_io None means the same as forward_io.
    half_select_disturb : float
        Fraction of a step (noiseless, in the firing line's polarity times ``sign``) that a half-selected
        device takes per slot. 0 (default) is the ideal half-select.

    Attributes
    ----------
    coincidences_up, coincidences_down : ndarray of int64, shape (a, b)
        Up / down coincidences seen by each device (stuck devices included).
    row_pulses, col_pulses : ndarray of int64, shapes (a,) and (b,)
        Slots in which each row / column line fired.
    slots : int
        Pulse slots applied (``apply_slot`` calls).

    Raises
    ------
    TypeError, ValueError
        On invalid arguments, with the offending value in the message.
    """

    def __init__(self, a: int, b: int, *, device: PulsedDevice | None = None,
                 construction_seed: int | None = None, noise_seed: int = 0, read_seed: int = 0,
                 forward_io: ReadParams | None = None, backward_io: ReadParams | None = None,
                 half_select_disturb: float = 0.0):
        for name, v in (("a", a), ("b", b)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        device = GokmenVlasov() if device is None else device
        if not isinstance(device, PulsedDevice):
            raise TypeError(f"device must be a PulsedDevice (e.g. GokmenVlasov()), not {device!r}")
        forward_io = ReadParams() if forward_io is None else forward_io
        backward_io = forward_io if backward_io is None else backward_io
        for name, io in (("forward_io", forward_io), ("backward_io", backward_io)):
            if not isinstance(io, ReadParams):
                raise TypeError(f"{name} must be a ReadParams, not {io!r}")
        if (isinstance(half_select_disturb, bool) or not isinstance(half_select_disturb, (int, float))
                or not 0 <= half_select_disturb <= 1):
            raise ValueError(f"half_select_disturb must be a number in [0, 1], not {half_select_disturb!r}")

        self._a, self._b = int(a), int(b)
        self._device = device
        self._construction_seed = (device.construction_seed if construction_seed is None
                                   else _seed("construction_seed", construction_seed))
        self._noise_seed = _seed("noise_seed", noise_seed)
        self._read_seed = _seed("read_seed", read_seed)
        self.forward_io, self.backward_io = forward_io, backward_io
        self._disturb = float(half_select_disturb)

        p = device.draw(self._a, self._b, seed=self._construction_seed)
        self._stuck = p.pop("corrupt")
        self._names = device.param_names
        # Per-device parameters stacked as (k, a, b) in device.param_names order; rows 0/1 are the bounds.
        self._P = np.stack([p[n] for n in self._names])
        self._lo, self._hi = self._P[0], self._P[1]
        self._pfull = {n: self._P[k] for k, n in enumerate(self._names)}
        self._noise_rng = np.random.Generator(np.random.PCG64(self._noise_seed))
        self._read_rng = np.random.Generator(np.random.PCG64(self._read_seed))
        self._wn = device.write_noise_std * device.dw_min   # write noise std in weight units
        self._w = np.clip(np.zeros((self._a, self._b)), self._lo, self._hi)
        self._wa = self._w.copy() if self._wn > 0 else None
        self.reset_counters()

    # -- properties ------------------------------------------------------------------------------
    @property
    def a(self) -> int:
        """Number of rows (outputs)."""
        return self._a

    @property
    def b(self) -> int:
        """Number of columns (inputs)."""
        return self._b

    @property
    def shape(self) -> tuple[int, int]:
        return (self._a, self._b)

    @property
    def device(self) -> PulsedDevice:
        """The device model and its parameters."""
        return self._device

    @property
    def construction_seed(self) -> int:
        return self._construction_seed

    @property
    def noise_seed(self) -> int:
        return self._noise_seed

    @property
    def read_seed(self) -> int:
        return self._read_seed

    @property
    def weights(self) -> np.ndarray:
        """Apparent weights (hidden weights plus write noise), a copy, shape (a, b)."""
        return (self._w if self._wa is None else self._wa).copy()

    @property
    def hidden_weights(self) -> np.ndarray:
        """Device states without write noise (aihwkit's persistent weights), a copy."""
        return self._w.copy()

    @property
    def stuck(self) -> np.ndarray:
        """Boolean (a, b) mask of corrupt (stuck) devices, a copy."""
        return self._stuck.copy()

    @property
    def device_params(self) -> dict[str, np.ndarray]:
        """Per-device parameters (copies): w_min_bound, w_max_bound, scale_up, scale_down, model extras."""
        return {n: self._P[k].copy() for k, n in enumerate(self._names)}

    @property
    def coincidences(self) -> np.ndarray:
        """Total coincidences per device (up + down)."""
        return self.coincidences_up + self.coincidences_down

    def reset_counters(self) -> None:
        """Zero the coincidence, line-pulse and slot counters."""
        self.coincidences_up = np.zeros((self._a, self._b), dtype=np.int64)
        self.coincidences_down = np.zeros((self._a, self._b), dtype=np.int64)
        self.row_pulses = np.zeros(self._a, dtype=np.int64)
        self.col_pulses = np.zeros(self._b, dtype=np.int64)
        self.slots = 0

    # -- programming -----------------------------------------------------------------------------
    def program(self, W) -> None:
        """Set the device states to W (broadcast to (a, b)), clipped to each device's bounds.

        Stuck devices keep their value. With write noise, every apparent weight is resampled
        (one ``standard_normal((a, b))`` from the noise stream). Counters are not touched. A non-finite
        element raises ValueError (nothing is written).
        """
        W = np.broadcast_to(check_finite("W", W), (self._a, self._b))
        self._w = np.clip(W, self._lo, self._hi)
        if self._wa is not None:
            self._wa = self._w + self._wn * self._noise_rng.standard_normal((self._a, self._b))

    # -- pulse writes ----------------------------------------------------------------------------
    def _require_pulsed(self, what):
        if not self._device.pulsed:
            raise ValueError(f"{type(self._device).__name__} has no pulse step (dw_min -> 0); "
                             f"{what} is undefined for it, write with apply_ideal(delta_w)")

    @staticmethod
    def _fire(x, n, name):
        x = np.asarray(x)
        if x.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), not {x.shape}")
        if x.dtype == np.bool_:
            return x
        if not np.issubdtype(x.dtype, np.integer) or not np.all((x == 0) | (x == 1)):
            raise ValueError(f"{name} must be booleans or 0/1 integers")
        return x.astype(bool)

    @staticmethod
    def _pol(x, n, name):
        if x is None:
            return np.ones(n, dtype=np.int8)
        x = np.asarray(x)
        if x.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), not {x.shape}")
        if x.dtype == np.bool_:          # the RTL's `neg` bit: True means polarity -1
            return np.where(x, -1, 1).astype(np.int8)
        if not np.issubdtype(x.dtype, np.integer) or not np.all((x == 1) | (x == -1)):
            raise ValueError(f"{name} must be +1/-1 integers or booleans (True = negative)")
        return x.astype(np.int8)

    def apply_slot(self, row_fire, row_pol, col_fire, col_pol, *, sign: int = 1) -> int:
        """Apply one pulse slot; return the number of coincidences.

        Parameters
        ----------
        row_fire, col_fire : array of bool (or 0/1), shapes (a,) and (b,)
            Lines that fire in this slot.
        row_pol, col_pol : array of +1/-1 integers, or of bool with True = negative, or None (all +1)
            Line polarities; ignored where the line does not fire.
        sign : +1 or -1
            Global sign multiplying every direction (e.g. the sign of the update).

        Every coincident device (i, j) moves one step in direction sign*row_pol[i]*col_pol[j] with the
        device model's rule and c2c noise, then is clipped to its own bounds. Noise draws: see the
        module docstring. Counters: coincidences_up/down of the coincident devices, row_pulses and
        col_pulses of the firing lines, slots += 1.
        """
        self._require_pulsed("apply_slot")
        if sign not in (1, -1) or isinstance(sign, bool):
            raise ValueError(f"sign must be +1 or -1, not {sign!r}")
        rf = self._fire(row_fire, self._a, "row_fire")
        cf = self._fire(col_fire, self._b, "col_fire")
        rp = self._pol(row_pol, self._a, "row_pol")
        cp = self._pol(col_pol, self._b, "col_pol")
        return self._apply_one(rf, rp, cf, cp, sign)

    def _apply_one(self, rf, rp, cf, cp, sign) -> int:
        """apply_slot on checked arguments (bool fire masks, int8 polarities)."""
        self.slots += 1
        self.row_pulses += rf
        self.col_pulses += cf
        ri, ci = np.flatnonzero(rf), np.flatnonzero(cf)
        n = len(ri) * len(ci)
        if n:
            # Only the coincident block is computed, as flat indices in row-major order (rows ascending,
            # then columns): d = +-1 there.
            flat = np.add.outer(ri * self._b, ci).ravel()
            d = np.multiply.outer(rp[ri] * float(sign), cp[ci]).ravel()
            dev = self._device
            xi = self._noise_rng.standard_normal(n) if dev.dw_min_std > 0 else None
            Pb = self._P.reshape(len(self._names), -1)[:, flat]
            p = {name: Pb[k] for k, name in enumerate(self._names)}
            wf = self._w.reshape(-1)
            w = dev.update(wf[flat], d, p, xi)
            wf[flat] = w
            if self._wa is not None:
                self._wa.reshape(-1)[flat] = w + self._wn * self._noise_rng.standard_normal(n)
            if (d > 0).all():
                self.coincidences_up.reshape(-1)[flat] += 1
            elif (d < 0).all():
                self.coincidences_down.reshape(-1)[flat] += 1
            else:
                self.coincidences_up.reshape(-1)[flat] += d > 0
                self.coincidences_down.reshape(-1)[flat] += d < 0
        if self._disturb > 0:
            self._half_select(rf, rp, cf, cp, sign)
        return n

    # -- many slots at once --------------------------------------------------------------------------
    #: Slots per chunk of apply_slots (bounds K, the rounds of one chunk) and events per chunk (memory).
    CHUNK_SLOTS = 64
    CHUNK_EVENTS = 1 << 20
    #: Above this mean number of coincidences per slot a chunk is applied slot by slot (the same
    #: result): numpy is then busy with the elements either way, and the batched bookkeeping costs more
    #: than the per-slot calls it saves (bench/crossbar.py: break-even near 700 at 100x784).
    DENSE_SLOT = 512

    def apply_slots(self, slots, *, sign: int = 1) -> int:
        """Apply a sequence of pulse slots (row_fire, row_pol, col_fire, col_pol) in order; return the total
        number of coincidences. Arguments as apply_slot's; all slots are checked before any is applied.

        Bit-identical to ``for s in slots: apply_slot(*s, sign=sign)``: the same weights (hidden and
        apparent, bit for bit), counters and noise-stream state afterwards, for every device model. The
        list is cut into chunks (``CHUNK_SLOTS`` slots, at most ``CHUNK_EVENTS`` coincidences). In a chunk
        the noise normals are one ``standard_normal`` call (a Generator's normals do not depend on how the
        draws are split, so the per-slot order of the module docstring is kept: slot by slot, the c2c block
        then the write-noise block, row-major); then every coincident device takes its own steps in slot
        order, vectorised across devices: round k applies the k-th step of every device that has one
        (devices sorted by their number of coincidences, so a round is a prefix, with no gather or
        scatter). A device changes only at its own coincidences, so each device sees exactly the operations
        of the per-slot path, in the same order. A chunk with more than ``DENSE_SLOT`` coincidences per slot
        on average is applied slot by slot (there the per-slot path is as fast); with
        ``half_select_disturb`` > 0 (half-selected devices move in every slot) the whole list is.
        Gain over apply_slot: bench/crossbar.py.
        """
        self._require_pulsed("apply_slots")
        if sign not in (1, -1) or isinstance(sign, bool):
            raise ValueError(f"sign must be +1 or -1, not {sign!r}")
        checked = [(self._fire(rf, self._a, "row_fire"), self._pol(rp, self._a, "row_pol"),
                    self._fire(cf, self._b, "col_fire"), self._pol(cp, self._b, "col_pol"))
                   for rf, rp, cf, cp in slots]
        if self._disturb > 0:
            return sum(self.apply_slot(*s, sign=sign) for s in checked)
        total, start, events = 0, 0, 0
        for t, (rf, _, cf, _) in enumerate(checked):
            n = int(np.count_nonzero(rf)) * int(np.count_nonzero(cf))
            if t > start and (t - start >= self.CHUNK_SLOTS or events + n > self.CHUNK_EVENTS):
                total += self._apply_chunk(checked[start:t], sign)
                start, events = t, 0
            events += n
        if start < len(checked):
            total += self._apply_chunk(checked[start:], sign)
        return total

    def _apply_chunk(self, chunk, sign):
        a, b, T = self._a, self._b, len(chunk)
        R = np.array([s[0] for s in chunk])
        C = np.array([s[2] for s in chunk])
        nr, nc = R.sum(axis=1), C.sum(axis=1)
        n = nr * nc
        E = int(n.sum())
        if E > self.DENSE_SLOT * T:
            return sum(self._apply_one(*s, sign) for s in chunk)
        self.slots += T
        self.row_pulses += R.sum(axis=0)
        self.col_pulses += C.sum(axis=0)
        if E == 0:
            return 0
        # Events in stream order: slot by slot, the coincident block row-major (the order of the normals),
        # with each event's rank (its device's earlier events in this chunk).
        flats, ds, ranks = [], [], []
        run = np.zeros(a * b, dtype=np.intp)
        for t in np.flatnonzero(n):
            rf, rp, cf, cp = chunk[t]
            ri, ci = np.flatnonzero(rf), np.flatnonzero(cf)
            f = np.add.outer(ri * b, ci).ravel()
            flats.append(f)
            ds.append(np.multiply.outer(rp[ri], cp[ci]).ravel())
            ranks.append(run[f])
            run[f] += 1
        flat, d, rank = np.concatenate(flats), np.concatenate(ds), np.concatenate(ranks)
        if sign < 0:
            d = -d
        dev = self._device
        c2c, wnz = dev.dw_min_std > 0, self._wa is not None
        k_draw = int(c2c) + int(wnz)
        z = self._noise_rng.standard_normal(k_draw * E) if k_draw else None
        # z holds per slot t (events eoff[t] .. eoff[t] + n[t] - 1) its c2c block then its write-noise block
        eoff = np.cumsum(n) - n
        st = np.repeat(np.arange(T), n)
        base = np.arange(E) + (k_draw - 1) * eoff[st]     # index in z of the event's first normal
        # Coincident devices ("groups"), most coincidences first; g = each event's group
        devs = flat[rank == 0]
        devs = devs[np.argsort(-run[devs], kind="stable")]
        counts = run[devs]
        G = len(devs)
        gid = np.empty(a * b, dtype=np.intp)
        gid[devs] = np.arange(G)
        g = gid[flat]
        # Round-major layout: round k holds the k-th event of groups 0..m[k]-1 (a prefix, as counts are
        # descending), at positions rs[k] .. rs[k] + m[k] - 1.
        m = np.bincount(rank)
        rs = np.cumsum(m) - m
        pos = rs[rank] + g
        dk = np.empty(E)
        dk[pos] = d
        xk = None
        if c2c:
            xk = np.empty(E)
            xk[pos] = z[base]
        Pg = self._P.reshape(len(self._names), -1)[:, devs]
        wf = self._w.reshape(-1)
        w = wf[devs]
        for k in range(len(m)):
            mk, r0 = int(m[k]), int(rs[k])
            p = {name: Pg[idx, :mk] for idx, name in enumerate(self._names)}
            w[:mk] = dev.update(w[:mk], dk[r0:r0 + mk], p, None if xk is None else xk[r0:r0 + mk])
        wf[devs] = w
        if wnz:
            last = rank == counts[g] - 1                  # each device's last event
            zl = np.empty(G)
            zl[g[last]] = z[base[last] + (n[st[last]] if c2c else 0)]
            self._wa.reshape(-1)[devs] = w + self._wn * zl
        up = d > 0
        self.coincidences_up.reshape(-1)[devs] += np.bincount(g[up], minlength=G)
        self.coincidences_down.reshape(-1)[devs] += np.bincount(g[~up], minlength=G)
        return E

    def _half_select(self, rf, rp, cf, cp, sign):
        # Half-selected devices move a fraction of a noiseless step in the firing line's polarity.
        d = (np.outer(np.where(rf, rp, 0), ~cf) + np.outer(~rf, np.where(cf, cp, 0))) * (sign * self._disturb)
        if not d.any():
            return
        old = self._w
        self._w = self._device.update(old, d, self._pfull, None)
        if self._wa is not None:
            self._wa += self._w - old

    def apply_coincidence_counts(self, n_up, n_down, *, row_pulses=None, col_pulses=None) -> None:
        """Apply integer coincidence counts per device (a fast path for golden runs).

        ``n_up`` / ``n_down`` are non-negative integer (a, b) arrays. Line counters are only updated
        from the optional ``row_pulses`` (a,) / ``col_pulses`` (b,); ``slots`` is not changed.

        ConstantStep (closed form): w <- clip(w + scale_up*(n_up + dw_min_std*sqrt(n_up)*xi_u)
        - scale_down*(n_down + dw_min_std*sqrt(n_down)*xi_d)), one normal per device with n_up > 0 then
        per device with n_down > 0 (row-major), then the write noise of touched devices. Without c2c
        noise this equals applying the coincidences one by one (up to float rounding of repeated adds)
        whenever no device gets both up and down pulses, or no device reaches a bound in between; a
        single-sign write (one rank-1 update) always satisfies the first condition. With c2c noise the sum
        of n steps is drawn as one Gaussian: the same distribution as one-by-one application away from
        the bounds (not the same values, and not the same noise stream as slots).

        Other models (state-dependent steps): rounds k = 1..max count, each applying one up step to every
        device with n_up >= k then one down step to every device with n_down >= k, c2c normals drawn per
        step for the moving devices in row-major order. This is the one-by-one rule with that order.
        """
        self._require_pulsed("apply_coincidence_counts")
        n_up = self._counts(n_up, "n_up")
        n_down = self._counts(n_down, "n_down")
        dev = self._device
        std = dev.dw_min_std
        lo, hi = self._lo, self._hi
        if isinstance(dev, ConstantStep):
            su, sd = self._P[2], self._P[3]
            mu, md = n_up > 0, n_down > 0
            dw = np.zeros((self._a, self._b))
            if std > 0:
                dw[mu] = su[mu] * (n_up[mu] + std * np.sqrt(n_up[mu])
                                   * self._noise_rng.standard_normal(mu.sum()))
                dw[md] -= sd[md] * (n_down[md] + std * np.sqrt(n_down[md])
                                    * self._noise_rng.standard_normal(md.sum()))
            else:
                dw = su * n_up - sd * n_down
            self._w = np.clip(self._w + dw, lo, hi)
        else:
            for k in range(1, int(max(n_up.max(), n_down.max())) + 1):
                for counts, direction in ((n_up, 1.0), (n_down, -1.0)):
                    m = counts >= k
                    if not m.any():
                        continue
                    xi = self._noise_rng.standard_normal(m.sum()) if std > 0 else None
                    P = {n: self._P[j][m] for j, n in enumerate(self._names)}
                    self._w[m] = dev.update(self._w[m], np.full(m.sum(), direction), P, xi)
        touched = (n_up + n_down) > 0
        if self._wa is not None:
            self._wa[touched] = self._w[touched] + self._wn * self._noise_rng.standard_normal(touched.sum())
        self.coincidences_up += n_up
        self.coincidences_down += n_down
        if row_pulses is not None:
            self.row_pulses += self._counts(row_pulses, "row_pulses", (self._a,))
        if col_pulses is not None:
            self.col_pulses += self._counts(col_pulses, "col_pulses", (self._b,))

    def _counts(self, n, name, shape=None):
        shape = (self._a, self._b) if shape is None else shape
        n = np.asarray(n)
        if n.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, not {n.shape}")
        if not np.issubdtype(n.dtype, np.integer) or (n < 0).any():
            raise ValueError(f"{name} must hold non-negative integers")
        return n.astype(np.int64)

    def apply_ideal(self, delta_w) -> None:
        """Ideal-mode write: W <- clip(W + delta_w, per-device bounds), exactly, for any device model.

        This is the dw_min -> 0 limit (continuous update applied as the real-valued product). Stuck
        devices do not move; devices with delta_w != 0 get new write noise (row-major normals).
        Counters are not changed (no pulses). A non-finite element raises ValueError (nothing is written).
        """
        dW = np.asarray(delta_w, dtype=np.float64)
        if dW.shape != (self._a, self._b):
            raise ValueError(f"delta_w must have shape ({self._a}, {self._b}), not {dW.shape}")
        check_finite("delta_w", dW)
        self._w = np.clip(self._w + dW, self._lo, self._hi)
        if self._wa is not None:
            touched = dW != 0
            self._wa[touched] = self._w[touched] + self._wn * self._noise_rng.standard_normal(touched.sum())

    # -- analog reads ----------------------------------------------------------------------------
    def _read(self, M, x, io, n_in, name):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[-1] != n_in:
            raise ValueError(f"{name} must have shape ({n_in},) or (n, {n_in}), not {x.shape}")
        if x.ndim == 1:
            check_finite(name, x)
        else:
            check_finite_samples((name, x))
        X = np.atleast_2d(x)
        alpha = None
        if io.noise_management:
            alpha = np.max(np.abs(X), axis=1, keepdims=True)
            alpha[alpha == 0] = 1.0
            X = X / alpha
        if io.in_bound is not None:
            X = np.clip(X, -io.in_bound, io.in_bound)
        if io.in_bits is not None:
            step = io.in_step
            X = np.round(X / step) * step
        Y = X @ M.T
        if io.out_noise:
            Y = Y + io.out_noise * self._read_rng.standard_normal(Y.shape)
        if io.out_bound is not None:
            Y = np.clip(Y, -io.out_bound, io.out_bound)
        if io.out_bits is not None:
            step = io.out_step
            Y = np.round(Y / step) * step
        if alpha is not None:
            Y = Y * alpha
        return Y[0] if x.ndim == 1 else Y

    def forward(self, x) -> np.ndarray:
        """Analog read W x through ``forward_io``; x of shape (b,) or (n, b) -> (a,) or (n, a).

        Pipeline per vector: noise management, clip to in_bound, DAC rounding (np.round, half to even),
        W x with the apparent weights, + output noise, clip to out_bound, ADC rounding, undo scaling.
        A non-finite element of x raises ValueError naming it (and its sample, row, for a batch).
        """
        W = self._w if self._wa is None else self._wa
        return self._read(W, x, self.forward_io, self._b, "x")

    def backward(self, delta) -> np.ndarray:
        """Transposed analog read W^T delta through ``backward_io``; (a,) or (n, a) -> (b,) or (n, b).
        Non-finite input: ValueError, as in `forward`."""
        W = self._w if self._wa is None else self._wa
        return self._read(W.T, delta, self.backward_io, self._a, "delta")

    def __repr__(self):
        return (f"Crossbar({self._a}, {self._b}, device={self._device!r}, "
                f"construction_seed={self._construction_seed}, noise_seed={self._noise_seed})")

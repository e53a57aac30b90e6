"""The one epoch/batch loop of the trainers, and the counters of the pulse writes.

Used by golden/training/mlp.py (`train`), golden/training/crossbar_training.py (`train_on_crossbars`) and
golden/training/closed_loop.py (`ClosedLoop.train`, and `ClosedLoop.batches` for the RTL bench).

Batch order: one numpy.random.default_rng(seed + 1) stream (separate from the network's initialisation,
which draws from default_rng(seed)); every epoch draws a fresh permutation of the n training samples and
cuts it into consecutive batches of batch_size indices, the last one short when batch_size does not
divide n (ceil(n / batch_size) batches per epoch).

Epoch records: `record(0)` for the initial network, then `record(epoch)` after the last batch of every
epoch, each followed by `progress(epoch, history)` and the trainer's stop test. A run cut short (by
`max_batches` or by a batch asking to stop) records the epoch it stopped in, once, and ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from contract.checks import check_int

from golden.rtl.update_controller import Write, apply_write


def shuffled_batches(n: int, batch_size: int, epochs: int, seed: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(epoch, batch, sample indices) of every batch of a run, epochs counted from 1 and batches from 0
    within their epoch, in the order of the module docstring."""
    check_int("batch_size", batch_size, 1)
    rng = np.random.default_rng(seed + 1)
    for ep in range(1, epochs + 1):
        order = rng.permutation(n)
        for bi, i in enumerate(range(0, n, batch_size)):
            yield ep, bi, order[i:i + batch_size]


def run_epochs(n: int, *, batch_size: int, epochs: int, seed: int,
               step: Callable[[int, int, np.ndarray], bool | None], record: Callable[[int], None],
               history, progress: Callable | None = None, stop: Callable | None = None,
               max_batches: int | None = None) -> int:
    """Run the batches of `shuffled_batches(n, batch_size, epochs, seed)`; return how many ran.

    step(epoch, batch, idx)   trains on one batch; a true return value ends the run after this batch
    record(epoch)             appends one epoch's metrics to `history`: epoch 0 before the first batch,
                              then every finished epoch (and the epoch a run is cut short in)
    progress(epoch, history)  optional, after every record but the initial one
    stop(history) -> bool     optional, after progress: True ends the run (early stopping)
    max_batches               optional: end the run after this many batches (at least one runs)
    """
    record(0)
    done, current = 0, None

    def close(ep: int) -> bool:
        record(ep)
        if progress is not None:
            progress(ep, history)
        return bool(stop is not None and stop(history))

    for ep, bi, idx in shuffled_batches(n, batch_size, epochs, seed):
        if current is not None and ep != current and close(current):
            return done
        current = ep
        halt = step(ep, bi, idx)
        done += 1
        if halt or (max_batches is not None and done >= max_batches):
            break
    if current is not None:
        close(current)
    return done


@dataclass
class WriteStats:
    """Counters of the rank-1 pulse writes of a run (all layers)."""

    writes: int = 0               # writes issued to a controller
    flagged: int = 0              # writes the controller flagged (status != 0): no slot, nothing applied
    slots: int = 0                # pulse slots driven
    coincidences: int = 0         # device moves
    per_layer_slots: list = field(default_factory=list)

    @classmethod
    def for_layers(cls, layers: int) -> "WriteStats":
        return cls(per_layer_slots=[0] * layers)

    def count(self, layer: int, slots: int, flagged: bool) -> None:
        """One write of `layer` that drove `slots` slots (0 when flagged)."""
        self.writes += 1
        self.flagged += int(flagged)
        self.slots += slots
        self.per_layer_slots[layer] += slots

    def apply(self, layer: int, write: Write, array) -> None:
        """Count `write` and, unless the controller flagged it, drive `array` (a golden Crossbar) with its
        slots, as the hardware does."""
        flagged = bool(write.plan.status)
        self.count(layer, 0 if flagged else len(write.slots), flagged)
        if not flagged:
            self.coincidences += apply_write(array, write)

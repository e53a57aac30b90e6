"""Formal property wrappers of `make formal` (flow/formal.py): Amaranth components with no ports that
instantiate the engine, a lane or the update controller with small parameters, drive every input with
free values (AnySeq), constrain the environment with Assume and state the properties with Assert.

    common.py      FormalTop (the base: reset held low), free inputs, the stream rules
    controller.py  ControllerProps: the controller's stream rules, framing and slot window
    engine.py      EngineStreamProps, EngineCounterProps (sample counter, clear), LaneSaturationProps
    out_fifo.py    OutFIFOProps: the engine's output FIFO on its own (stream rules, level, invariants)
"""
from .common import FormalTop, drive_free, stream_rules
from .controller import ControllerProps
from .engine import EngineCounterProps, EngineStreamProps, LaneSaturationProps
from .out_fifo import OutFIFOProps

__all__ = ["FormalTop", "drive_free", "stream_rules", "ControllerProps", "EngineStreamProps",
           "EngineCounterProps", "LaneSaturationProps", "OutFIFOProps"]

"""Parameters of one SBE layer (engine feeding the update controller of one a x b crossbar), shared by
the RTL top (hdl/sbe_layer.py) and its golden twin (golden/rtl/sbe_layer.py).

Keyword parameters go to the engine (EngineConfig) or, prefixed `ctrl_`, to the controller
(ControllerConfig, e.g. ctrl_bl_width=12). The layer sets the controller's a, b, lanes and seed itself
and takes its update-stream formats (elem_width, mant_width, exp_width) from the engine's, so those
cannot be given with the prefix. ctrl_serial_width 0 (the default): the layer drives parallel line
outputs; S > 0: the controller's serial slot stream of S lines per beat, and with it ctrl_line_store
"ram" (line state in memory banks, S compare units) for arrays whose per-line registers would not fit.
"""
from __future__ import annotations

from .controller_config import ControllerConfig
from .engine_config import EngineConfig

#: Controller parameters the layer sets itself.
LAYER_SET = ("mant_width", "exp_width", "elem_width", "a", "b", "lanes", "seed")


def layer_configs(*, a: int, b: int, lanes: int = 1, seed: int = 0, **params) -> tuple[EngineConfig, ControllerConfig]:
    """(engine, controller) configurations of one layer; a bad parameter raises TypeError/ValueError."""
    ctrl = {k[len("ctrl_"):]: v for k, v in params.items() if k.startswith("ctrl_")}
    eng = {k: v for k, v in params.items() if not k.startswith("ctrl_")}
    for bad in LAYER_SET:
        if bad in ctrl:
            raise ValueError(f"ctrl_{bad} is set by the layer (the engine's formats and the layer's a, b, "
                             f"lanes, seed); remove it")
    e = EngineConfig(a=a, b=b, lanes=lanes, **eng)
    c = ControllerConfig(a=a, b=b, lanes=lanes, seed=seed, elem_width=e.elem_width, mant_width=e.s_mant_width,
                         exp_width=e.s_exp_width, **ctrl)
    return e, c

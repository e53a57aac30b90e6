"""The crossbar update controller (update_controller.UpdateController) and its parts: per-line cells with
their LFSRs, set-up arithmetic, slot sequencer, serialiser. Golden twin: golden/rtl/update_controller.py
(and golden/rtl/lfsr.py for the LFSRs)."""

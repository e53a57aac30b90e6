"""The SBE engine (sbe_engine.SBEEngine) and its parts: state init sequencer, issue stage, vector datapath
and its lanes, segment scheduler, microcoded scalar unit and its float ALU. Golden twin:
golden/rtl/sbe_engine.py (and golden/rtl/scalar_unit.py for the scalar unit)."""

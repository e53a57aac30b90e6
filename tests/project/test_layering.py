"""The layering of the project holds: imports run one way only.

    contract  <-  golden  <-  experiments
    contract  <-  hdl     <-  flow
    contract  <-  host                      (the host driver of the board link)
    golden, hdl, flow, host  <-  tb  <-  bench, demo, tests

`contract` imports nothing else of the project; `golden` and `hdl` import `contract` and never each
other; the flow sees the RTL but no golden model; benches and experiments sit on top. Every import
statement of every module is checked, including those inside functions.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contract", "golden", "hdl", "host", "flow", "tb", "bench", "experiments", "demo", "tests")

#: layer -> the project layers it may import (itself always allowed)
ALLOWED = {
    "contract": set(),
    "golden": {"contract"},
    "hdl": {"contract"},
    "host": {"contract"},
    "flow": {"contract", "hdl"},
    "experiments": {"contract", "golden"},
    "tb": {"contract", "golden", "hdl", "flow", "host"},
    "bench": {"contract", "golden", "hdl", "flow", "tb", "host"},
    "demo": {"contract", "golden", "hdl", "flow", "tb", "host"},
    "tests": {"contract", "golden", "hdl", "flow", "tb", "bench", "experiments", "demo", "host"},
}


def layer_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imported_layers(path: Path) -> list[tuple[int, str]]:
    """(line, top-level project package) of every import in the file, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                out.append((node.lineno, top))
    return out


def violations(paths) -> list[str]:
    bad = []
    for path in paths:
        layer = layer_of(path)
        if layer not in ALLOWED:
            continue
        for line, top in imported_layers(path):
            if top != layer and top not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {layer} imports {top}")
    return bad


def project_files():
    return sorted(p for p in ROOT.rglob("*.py")
                  if not {".venv", "build", "sim_build", ".git"} & set(p.relative_to(ROOT).parts))


def test_every_layer_is_a_known_package():
    layers = {layer_of(p) for p in project_files()}
    assert layers <= set(ALLOWED), f"files outside the known layers: {sorted(layers - set(ALLOWED))}"


def test_imports_follow_the_layering():
    bad = violations(project_files())
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


@pytest.mark.parametrize("layer,line,expect_bad", [
    ("golden", "from hdl.controller.lfsr import leap_value", True),           # a golden model importing the RTL
    ("hdl", "from golden.rtl.lfsr import leap", True),              # the RTL importing a golden model
    ("contract", "from golden.rtl import sbe_engine", True),        # the contract importing anything
    ("flow", "import tb.runner", True),                             # the flow importing the benches
    ("hdl", "from contract.layouts import update_layout", False),
    ("tb", "from golden.rtl.sbe_engine import SBEFixedEngine", False),
    ("host", "from golden.link.board_model import BoardModel", True),   # the driver importing a golden model
    ("host", "from contract.host_protocol import Cmd", False),
])
def test_the_check_catches_a_back_import(tmp_path, monkeypatch, layer, line, expect_bad):
    """A module written against the direction is reported (the check can fail)."""
    (tmp_path / layer / "sub").mkdir(parents=True)
    f = tmp_path / layer / "sub" / "mod.py"
    f.write_text(line + "\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert bool(violations([f])) == expect_bad


def test_a_relative_import_is_resolved_to_its_package(tmp_path, monkeypatch):
    (tmp_path / "golden" / "rtl").mkdir(parents=True)
    f = tmp_path / "golden" / "rtl" / "mod.py"
    f.write_text("from ...hdl import sbe_engine\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert violations([f]) == ["golden/rtl/mod.py:1: golden imports hdl"]

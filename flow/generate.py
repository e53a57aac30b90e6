"""Verilog generation: `make verilog [CONFIG=...]` -> build/<name>.v.

A configuration names a block of the registry below, its keyword parameters and the Verilog module
name. Configurations live as JSON files in flow/configs/ ({"name": ..., "block": ..., "params": {...}});
with no argument every file there is generated. Ad hoc:

    python -m flow.generate flow/configs/dot_product_l4.json
    python -m flow.generate --block dot_product --name dp8 --param width=8 --param lanes=2

Parameters are validated by the block's constructor; a bad value stops with its message and writes
nothing (the Verilog is written to a temporary file and renamed).
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from flow.verilog_out import BUILD, write_verilog

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

#: block name -> "module:Class" of a wiring.Component taking keyword parameters.
BLOCKS = {
    "dot_product": "hdl.dot_product:DotProduct",
    "sbe_engine": "hdl.sbe_engine:SBEEngine",
    "update_controller": "hdl.update_controller:UpdateController",
    "sbe_layer": "hdl.sbe_layer:SBELayer",
    "sbe_network": "hdl.sbe_layer:SBENetwork",
}


def build_component(block: str, params: dict):
    if block not in BLOCKS:
        raise SystemExit(f"unknown block {block!r}; known blocks: {', '.join(sorted(BLOCKS))}")
    mod, cls = BLOCKS[block].split(":")
    return getattr(importlib.import_module(mod), cls)(**params)


def load_config(path: str | Path) -> dict:
    cfg = json.loads(Path(path).read_text())
    missing = {"name", "block"} - cfg.keys()
    if missing:
        raise SystemExit(f"{path}: missing key(s) {sorted(missing)}")
    cfg.setdefault("params", {})
    return cfg


def default_configs() -> list[dict]:
    return [load_config(p) for p in sorted(CONFIG_DIR.glob("*.json"))]


def generate(cfg: dict, out_dir: Path = BUILD) -> Path:
    """Write the Verilog of one configuration; return its path."""
    try:
        component = build_component(cfg["block"], cfg["params"])
    except (TypeError, ValueError) as e:
        raise SystemExit(f"{cfg['name']}: {e}") from None
    return write_verilog(component, cfg["name"], Path(out_dir) / f"{cfg['name']}.v")


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="*", help="JSON configuration files (default: all of flow/configs/)")
    ap.add_argument("--block", help="ad hoc: block name")
    ap.add_argument("--name", help="ad hoc: Verilog module / file name")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="ad hoc parameter")
    ap.add_argument("--out", default=str(BUILD), help="output folder (default build/)")
    args = ap.parse_args(argv)
    if args.block:
        params = {}
        for kv in args.param:
            k, sep, v = kv.partition("=")
            if not sep:
                ap.error(f"--param expects KEY=VALUE, got {kv!r}")
            params[k] = _parse_value(v)
        cfgs = [{"name": args.name or args.block, "block": args.block, "params": params}]
    else:
        cfgs = [load_config(p) for p in args.configs] if args.configs else default_configs()
    for cfg in cfgs:
        path = generate(cfg, Path(args.out))
        print(f"{cfg['name']}: {cfg['block']} {cfg['params']} -> {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main(sys.argv[1:])

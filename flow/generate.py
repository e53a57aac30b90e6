"""Verilog generation: `make verilog [CONFIG=...]` -> build/<name>.v.

A configuration names a block of the registry below, its keyword parameters and the Verilog module
name. Configurations live as JSON files in flow/configs/ ({"name": ..., "block": ..., "params": {...},
and for `make synth` "synth": [targets]}); with no argument every file there is generated. Ad hoc:

    python -m flow.generate flow/configs/dot_product_w16_l4.json
    python -m flow.generate --block dot_product --name dp8 --param width=8 --param lanes=2

Every configuration is checked before anything is written: a missing or malformed file, an unknown
block or parameter, or a value the block's constructor rejects stops the run with one line saying what
is wrong (exit status 2). The Verilog is written to a temporary file and renamed, so a failed
conversion leaves no partial file.

`CliParser` is the argument parser of the flow's command-line entry points and of those above the flow
(bench, demo): its errors are one line.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from pathlib import Path

from contract.checks import CliParser
from flow.verilog_out import BUILD, write_verilog

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

#: block name -> "module:Class" of a wiring.Component taking keyword parameters.
BLOCKS = {
    "dot_product": "hdl.dot_product:DotProduct",
    "sbe_engine": "hdl.engine.sbe_engine:SBEEngine",
    "update_controller": "hdl.controller.update_controller:UpdateController",
    "sbe_layer": "hdl.sbe_layer:SBELayer",
    "sbe_network": "hdl.sbe_layer:SBENetwork",
    "host_top": "hdl.link.host_top:HostTop",
}

#: Keys of a configuration file; name and block are required.
CONFIG_KEYS = ("name", "block", "params", "synth", "goals")


class ConfigError(ValueError):
    """A configuration that cannot be generated; the message says what is wrong and what is allowed."""


def _block_class(block: str):
    if block not in BLOCKS:
        raise ConfigError(f"unknown block {block!r}; known blocks: {', '.join(sorted(BLOCKS))}")
    mod, cls = BLOCKS[block].split(":")
    return getattr(importlib.import_module(mod), cls)


def block_parameters(block: str) -> list[str]:
    """The keyword parameters of `block`'s constructor (ConfigError for an unknown block)."""
    sig = inspect.signature(_block_class(block).__init__)
    return [n for n, p in list(sig.parameters.items())[1:]          # [0] is self
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def build_component(block: str, params: dict):
    """The component of `block` with keyword `params`; ConfigError for an unknown block or parameter and
    for any value the constructor rejects (with the constructor's message)."""
    cls = _block_class(block)
    if not isinstance(params, dict):
        raise ConfigError(f"params must be a JSON object of keyword parameters, not {params!r}")
    sig = inspect.signature(cls.__init__)
    named = block_parameters(block)
    takes_any = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [k for k in params if k not in named]
    if unknown and not takes_any:
        raise ConfigError(f"unknown parameter(s) {', '.join(map(repr, unknown))} of block {block!r}; "
                          f"its parameters: {', '.join(named)}")
    try:
        return cls(**params)
    except (TypeError, ValueError) as e:
        m = re.fullmatch(r"([\w.]+)\(\) got an unexpected keyword argument '(\w+)'", str(e))
        if m:       # a block that passes extra parameters on to a part of it
            raise ConfigError(f"unknown parameter {m[2]!r} of block {block!r} (passed on to "
                              f"{m[1].removesuffix('.__init__')}, which has no such parameter)") from None
        raise ConfigError(str(e)) from None


def load_config(path: str | Path) -> dict:
    """Read and check one configuration file (ConfigError if it cannot be used)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        known = ", ".join(p.name for p in sorted(CONFIG_DIR.glob("*.json")))
        raise ConfigError(f"{path}: no such configuration file (those of the project, in flow/configs/: "
                          f"{known})") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it: {e.strerror}") from None
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a JSON object with keys {', '.join(CONFIG_KEYS)}")
    missing = [k for k in ("name", "block") if k not in cfg]
    unknown = [k for k in cfg if k not in CONFIG_KEYS]
    if missing or unknown:
        what = (f"missing key(s) {', '.join(missing)}" if missing else "") + \
               ("; " if missing and unknown else "") + (f"unknown key(s) {', '.join(unknown)}" if unknown else "")
        raise ConfigError(f"{path}: {what} (keys: {', '.join(CONFIG_KEYS)}; name and block required)")
    cfg.setdefault("params", {})
    try:
        check_name(cfg["name"])
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    return cfg


def check_name(name) -> str:
    """A configuration name is the Verilog module and file name: a plain identifier."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ConfigError(f"name must be a Verilog identifier (letters, digits, _; not starting with a digit), "
                          f"not {name!r}")
    return name


def default_configs() -> list[dict]:
    """Every configuration of flow/configs/, in file-name order."""
    return [load_config(p) for p in sorted(CONFIG_DIR.glob("*.json"))]


def check(cfg: dict):
    """The component of one configuration (ConfigError naming the configuration if it is rejected)."""
    try:
        return build_component(cfg["block"], cfg["params"])
    except ConfigError as e:
        raise ConfigError(f"{cfg['name']}: {e}") from None


def generate(cfg: dict, out_dir: Path = BUILD, component=None) -> Path:
    """Write the Verilog of one configuration (of `component` if already built from it); return its path."""
    component = check(cfg) if component is None else component
    return write_verilog(component, cfg["name"], Path(out_dir) / f"{cfg['name']}.v")


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _configs(ap: argparse.ArgumentParser, args) -> list[dict]:
    if args.block is None:
        if args.param or args.name:
            ap.error("--name and --param describe an ad hoc configuration: give --block too")
        return [load_config(p) for p in args.configs] if args.configs else default_configs()
    if args.configs:
        ap.error("give configuration files or an ad hoc --block, not both")
    params = {}
    for kv in args.param:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            ap.error(f"--param expects KEY=VALUE, got {kv!r}")
        params[k] = _parse_value(v)
    return [{"name": check_name(args.name or args.block), "block": args.block, "params": params}]


def main(argv=None) -> int:
    ap = CliParser(prog="python -m flow.generate", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="*", help="JSON configuration files (default: all of flow/configs/)")
    ap.add_argument("--block", help=f"ad hoc: block name ({', '.join(sorted(BLOCKS))})")
    ap.add_argument("--name", help="ad hoc: Verilog module / file name (default: the block name)")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="ad hoc: a keyword parameter of the block; VALUE is JSON, else a string (repeatable)")
    ap.add_argument("--out", default=str(BUILD), help=f"output folder (default {BUILD})")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        ap.error(f"--out {args.out}: not a folder")
    try:
        built = [(cfg, check(cfg)) for cfg in _configs(ap, args)]      # everything checked before writing
    except ConfigError as e:
        ap.error(str(e))
    for cfg, component in built:
        path = generate(cfg, out, component)
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        print(f"{cfg['name']}: {cfg['block']} {cfg['params']} -> {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

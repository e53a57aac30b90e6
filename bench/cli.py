"""The entry point of one benchmark module run alone (`python -m bench.<name>`): no options (--help prints
the module docstring), run it, show the result."""
from __future__ import annotations

import argparse
import json

from contract.checks import CliParser


def run_alone(prog: str, doc: str, run, argv=None, show=None) -> dict:
    """Parse `argv` (none allowed), call `run()`, show the result (default: indented JSON); return it."""
    CliParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    r = run()
    if show is None:
        print(json.dumps(r, indent=2, default=float))
    else:
        show(r)
    return r

"""The argument parser of the experiments' command-line entry points: errors are one line.

The experiments import only contract and golden, so they cannot use flow.generate.CliParser, the
parser of the flow, bench and demo entry points; the two are kept alike.
"""
from __future__ import annotations

import argparse

from golden.training.data import load_dataset


class CliParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr, `<prog>: error: <message>`, exit status 2
    (no usage block: --help prints that)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def check_dataset(parser: argparse.ArgumentParser, name: str) -> None:
    """End the run through `parser` (one line, exit status 2) if data set `name` cannot be loaded, e.g.
    MNIST without its files: before hours of work on the other data set."""
    try:
        load_dataset(name)
    except (OSError, ValueError) as e:
        parser.error(f"argument --dataset: {name} is not available: {e}")

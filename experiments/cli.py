"""Argument checks of the experiments' command-line entry points (the parser is contract.checks.CliParser)."""
from __future__ import annotations

import argparse


from golden.training.data import load_dataset


def check_dataset(parser: argparse.ArgumentParser, name: str) -> None:
    """End the run through `parser` (one line, exit status 2) if data set `name` cannot be loaded, e.g.
    MNIST without its files: before hours of work on the other data set."""
    try:
        load_dataset(name)
    except (OSError, ValueError) as e:
        parser.error(f"argument --dataset: {name} is not available: {e}")

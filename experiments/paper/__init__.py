"""The paper's experiments (Hoskins et al. 2019), one module per figure; `python -m experiments.paper` runs all.

Each module is a CLI: `python -m experiments.paper.<fig> --dataset digits|mnist [--quick] [--out DIR]`, writing
CSV/JSON and a PNG under build/paper/<dataset>/ (build/paper/<dataset>-quick/ with --quick).
Settings and caps of the full and quick runs are in `_common.CONFIGS`.
"""

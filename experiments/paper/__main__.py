"""`python -m experiments.paper [--dataset digits|mnist|all] [--quick]`: all four figures, one after the other."""
from __future__ import annotations

import sys

from contract.checks import CliParser
from experiments.cli import check_dataset
from experiments.paper import fig1_spectrum, fig3_vector_error, fig4_loss_curves, fig5_batch_sweep


def main(argv=None) -> int:
    p = CliParser(prog="python -m experiments.paper", description=__doc__)
    p.add_argument("--dataset", choices=("digits", "mnist", "all"), default="all")
    p.add_argument("--quick", action="store_true", help="fast smoke run (data subset, tiny grids and caps)")
    p.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bars")
    a = p.parse_args(argv)
    datasets = ("digits", "mnist") if a.dataset == "all" else (a.dataset,)
    for ds in datasets:                  # every data set is there before the first figure starts
        check_dataset(p, ds)
    for ds in datasets:
        extra = ["--dataset", ds] + (["--quick"] if a.quick else []) + (["--no-progress"] if a.no_progress else [])
        for fig in (fig1_spectrum, fig3_vector_error, fig4_loss_curves, fig5_batch_sweep):
            fig.main(extra)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

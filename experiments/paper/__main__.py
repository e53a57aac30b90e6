"""`python -m experiments.paper [--dataset digits|mnist|all] [--quick]`: all four figures, one after the other."""
from __future__ import annotations

import argparse

from experiments.paper import fig1_spectrum, fig3_vector_error, fig4_loss_curves, fig5_batch_sweep


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", choices=("digits", "mnist", "all"), default="all")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    for ds in (("digits", "mnist") if a.dataset == "all" else (a.dataset,)):
        extra = ["--dataset", ds] + (["--quick"] if a.quick else []) + (["--no-progress"] if a.no_progress else [])
        for fig in (fig1_spectrum, fig3_vector_error, fig4_loss_curves, fig5_batch_sweep):
            fig.main(extra)


if __name__ == "__main__":
    main()

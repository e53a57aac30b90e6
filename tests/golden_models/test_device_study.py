"""experiments/device_study.py: the quick run end to end (joblib/loky, per-job cache, resume, table, figure),
the job grid, the dask path on an in-process cluster, the MNIST-absent message and the CLI checks."""
import json
import os

import numpy as np
import pytest

import experiments.device_study as ds


def _quick(out, *extra):
    return ds.main(["--quick", "--out", str(out), "--no-progress", "--jobs", "1", *extra])


def test_quick_run_caches_resumes_and_reports(tmp_path, monkeypatch):
    res = _quick(tmp_path)
    assert len(res) == 1
    job, m = res[0]["job"], res[0]["metrics"]
    assert (job["scheme"], job["device"], job["stuck"]) == ("sbe", "GokmenVlasov", 0.05)
    assert os.path.exists(tmp_path / f"{ds.job_key(job)}.json")
    # the study's counters agree with each other: every coincidence the writes reported is on a device
    assert m["pulses_per_device_mean"] * m["devices"] == pytest.approx(m["coincidences"])
    assert m["devices"] == 32 * 65 + 10 * 33 and m["stuck_devices"] > 0
    n_batches = -(-64 // 32)
    assert m["writes_per_layer"] == n_batches and 0 <= m["test_acc"] <= 1
    assert "| GokmenVlasov | 5% |" in (tmp_path / "table.md").read_text()
    assert os.path.getsize(tmp_path / "device_study.png") > 1000
    assert json.loads((tmp_path / "results.json").read_text())[0]["key"] == ds.job_key(job)

    def boom(job):
        raise AssertionError("a cached job was run again")

    monkeypatch.setattr(ds, "run_job", boom)
    assert _quick(tmp_path, "--report")[0]["metrics"] == m       # report only: the cached results
    again = _quick(tmp_path)                                  # resumes: nothing left to run
    assert again[0]["metrics"] == m


def test_job_grid_and_keys():
    jobs = ds.make_jobs("mnist")
    assert len(jobs) == 2 * len(ds.PRESETS) * len(ds.STUCK) + len(ds.FLOATS)
    keys = {ds.job_key(j) for j in jobs}
    assert len(keys) == len(jobs)
    j = jobs[0]
    assert ds.job_key(dict(j, epochs=j["epochs"] + 1)) != ds.job_key(j)
    sgd = [j for j in jobs if j["scheme"] == "sgd"]
    assert all(j["batch"] == 1 for j in sgd) and len(sgd) == len(ds.PRESETS) * len(ds.STUCK)
    assert ds.config("mnist", "full")["n_train"] is None and ds.config("mnist")["n_train"] == 4000
    dev = ds.device_for("ReRamES", 0.01)
    assert dev.corrupt_devices_prob == 0.01 and dev.dw_min_std == 5.0
    with pytest.raises(ValueError, match="device must be one of"):
        ds.device_for("Memristor", 0.0)


def test_same_arrays_for_sbe_and_sgd():
    """Both schemes start from the same arrays (same construction seeds, hence the same stuck devices)."""
    from golden.training.closed_loop import ClosedLoop
    from golden.training.crossbar_training import crossbar_layers
    from golden.training.data import load_digits
    from golden.training.mlp import MLP

    dev = ds.device_for("EcRam", 0.05)
    cl = ClosedLoop(load_digits(), sizes=(64, 32, 10), device=dev, seed=0)
    arrays = crossbar_layers(MLP((64, 32, 10), seed=0, bias="fold"), dev, 0)
    for x, y in zip(cl.arrays, arrays):
        np.testing.assert_array_equal(x.stuck, y.stuck)
        np.testing.assert_array_equal(x.weights, y.weights)


def test_dask_backend_on_an_in_process_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        res = _quick(tmp_path, "--address", cluster.scheduler_address)
    assert len(res) == 1 and os.path.exists(tmp_path / f"{res[0]['key']}.json")


def test_mnist_absent_is_skipped_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ds, "mnist_available", lambda: False)
    assert ds.main(["--dataset", "mnist", "--quick", "--out", str(tmp_path), "--no-progress"]) == []
    assert "skipping the MNIST part" in capsys.readouterr().out


@pytest.mark.parametrize("argv, msg", [(["--jobs", "0"], "--jobs: must be >= 1"),
                                       (["--address", "localhost:8786"], "--address: expected"),
                                       (["--quick", "--full"], "not allowed with")])
def test_cli_errors(argv, msg, capsys):
    with pytest.raises(SystemExit) as e:
        ds.main(argv)
    assert e.value.code == 2 and msg in capsys.readouterr().err


def test_report_without_results(tmp_path, capsys):
    assert _quick(tmp_path, "--report") == []
    assert "no cached results" in capsys.readouterr().out

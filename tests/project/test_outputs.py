"""Entry points write their results under the build folder (flow.verilog_out.BUILD, moved by
SBE_BUILD_DIR), never relative to the current directory."""
import json


def test_golden_throughput_writes_into_the_build_folder(monkeypatch, tmp_path):
    import bench.golden_throughput as g
    build, cwd = tmp_path / "build", tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(g, "BUILD", build)
    monkeypatch.setattr(g, "run", lambda: {"layer": "784x100", "batch": 1, "sbe_samples_per_s": 2.0,
                                           "mbgd_samples_per_s": 4.0, "mbgd_streamed_samples_per_s": 1.0,
                                           "sbe_over_mbgd": 0.5, "sbe_over_mbgd_streamed": 2.0})
    g.main([])
    assert json.loads((build / "bench_golden.json").read_text())["sbe_over_mbgd"] == 0.5
    assert not (cwd / "build").exists()

"""tb/runner.output_to: simulator chatter goes to the log (children included), VERBOSE=1 shows it, and a
failure prints the end of the log."""
import subprocess
import sys

import pytest

from tb.runner import output_to


def test_output_and_child_output_go_to_the_log(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("VERBOSE", raising=False)
    log = tmp_path / "run.log"
    with output_to(log):
        print("from python")
        subprocess.run([sys.executable, "-c", "import sys; print('from a child'); print('err', file=sys.stderr)"])
    out, err = capfd.readouterr()
    assert "from python" not in out + err and "from a child" not in out + err
    text = log.read_text()
    assert "from python" in text and "from a child" in text and "err" in text


def test_verbose_shows_the_output(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("VERBOSE", "1")
    with output_to(tmp_path / "run.log"):
        print("shown")
    assert "shown" in capfd.readouterr().out
    assert not (tmp_path / "run.log").exists()


def test_a_failure_prints_the_end_of_the_log(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("VERBOSE", raising=False)
    log = tmp_path / "run.log"
    with pytest.raises(RuntimeError):
        with output_to(log, tail=2):
            for k in range(5):
                print(f"line {k}")
            raise RuntimeError("bench failed")
    err = capfd.readouterr().err
    assert "line 4" in err and "line 3" in err and "line 1" not in err and str(log) in err

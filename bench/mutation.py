"""`make mutate`: mutation score of the golden models and the Amaranth RTL against the fast tests.

Engine: mutmut 3 (in the venv) generates the mutants, maps each mutated function to the tests that
call it (its "stats" run) and runs each mutant in a forked pytest with a CPU-time limit. This driver
adds what a figure needs: every module group is mutated in its own COPY of the tree
(build/mutation/<group>/, never the working files), a seeded sample of at most --max-mutants
mutants per group is run, and every mutant is recorded with its file, line, original and mutated
text and outcome:

    killed    a selected test failed (or the test run errored)
    timeout   the mutant ran past its CPU-time limit (a hang): counted as killed
    survived  every selected test passed; `covered: false` when no selected test calls the function
    error     no verdict (segfault, interrupted, the run died)

score = (killed + timeout) / (killed + timeout + survived); errors are left out. Mutants that only
change a string literal (signal names, messages) are not sampled unless --include-strings.
Results: build/mutation/summary.json and summary.md (score table, each survivor with its diff);
the tool output goes to build/mutation/<group>/mutmut.log (VERBOSE=1 shows it).
"""
from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import tokenize
from dataclasses import dataclass
from pathlib import Path

from contract.checks import CliParser
from flow.verilog_out import BUILD, ROOT

OUT = BUILD / "mutation"


@dataclass(frozen=True)
class Group:
    """Modules mutated together and the fast tests run against them (paths relative to the root)."""
    files: tuple[str, ...]
    tests: tuple[str, ...]


def _existing(root: Path, *paths: str) -> tuple[str, ...]:
    return tuple(p for p in paths if (root / p).exists())


def _py(root: Path, folder: str) -> tuple[str, ...]:
    return tuple(sorted(str(p.relative_to(root)) for p in (root / folder).glob("*.py") if p.name != "__init__.py"))


def default_groups(root: Path = ROOT) -> dict[str, Group]:
    return {
        "fixed_point": Group(("contract/fixed_point.py",),
                             _existing(root, "tests/golden_models/test_sbe_engine.py", "tests/amaranth_sim/test_float_alu.py",
                                       "tests/golden_models/test_update_controller.py", "tests/properties")),
        "pulse_model": Group(("golden/rtl/update_controller.py",),
                             _existing(root, "tests/golden_models/test_update_controller.py",
                                       "tests/amaranth_sim/test_update_controller.py")),
        "engine": Group(_py(root, "hdl/engine"), _existing(root, "tests/amaranth_sim/test_sbe_engine.py",
                                                           "tests/amaranth_sim/test_float_alu.py")),
        "controller": Group(_py(root, "hdl/controller"), _existing(root, "tests/amaranth_sim/test_update_controller.py")),
    }


# exit code of mutmut's forked pytest -> outcome (mutmut.stats.status_by_exit_code, with kills by the
# CPU-time limit as timeouts and "no tests" as an uncovered survivor)
_OUTCOME = {1: "killed", 3: "killed", 0: "survived", 33: "survived", 5: "survived",
            36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", -9: "timeout"}

_GENERATE = """
import sys
from pathlib import Path
from mutmut.__main__ import (copy_also_copy_files, copy_src_dir, create_mutants, set_mutant_under_test,
                             setup_source_paths, store_lines_covered_by_tests)
set_mutant_under_test("mutant_generation")
Path("mutants").mkdir(exist_ok=True)
copy_src_dir(); copy_also_copy_files(); setup_source_paths(); store_lines_covered_by_tests()
create_mutants(int(sys.argv[1]))
"""
_MUTMUT = "import sys; from mutmut.__main__ import cli; sys.argv[0] = 'mutmut'; cli()"


# ---------------------------------------------------------------------------------------------------
# the copy of the tree


def _toml_list(items) -> str:
    return "[" + ", ".join(json.dumps(str(i)) for i in items) + "]"


def _prepare(root: Path, job: Path, group: Group, timeout_factor: float) -> None:
    """job/ = the top-level packages and test files of root plus a pyproject.toml configuring mutmut."""
    if job.exists():
        shutil.rmtree(job)
    job.mkdir(parents=True)
    tops = sorted({Path(p).parts[0] for p in group.files + group.tests}
                  | {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()})
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    for top in tops:
        src = root / top
        if src.is_dir():
            shutil.copytree(src, job / top, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, job / top)
    for f in ("conftest.py",):
        if (root / f).exists():
            shutil.copy2(root / f, job / f)
    ini = {}
    if (root / "pyproject.toml").exists() and sys.version_info >= (3, 11):
        import tomllib
        ini = tomllib.loads((root / "pyproject.toml").read_text()).get("tool", {}).get("pytest", {}).get("ini_options", {})
    lines = ["[tool.pytest.ini_options]", 'pythonpath = ["."]',
             f"filterwarnings = {_toml_list(ini.get('filterwarnings', []))}",
             f"markers = {_toml_list(ini.get('markers', []))}", "",
             "[tool.mutmut]",
             f"source_paths = {_toml_list(group.files)}",
             f"pytest_add_cli_args_test_selection = {_toml_list(group.tests)}",
             f"also_copy = {_toml_list(tops + [f for f in ('conftest.py',) if (job / f).exists()])}",
             f"pytest_add_cli_args = {_toml_list(['-x', '-q', '-p', 'no:cacheprovider', '-p', 'no:randomly'])}",
             f"timeout_multiplier = {timeout_factor}", "timeout_constant = 2.0",
             "use_git_change_detection = false", ""]
    (job / "pyproject.toml").write_text("\n".join(lines))


# ---------------------------------------------------------------------------------------------------
# the mutants: mutmut's mutants/<file> holds <fn>__mutmut_orig and <fn>__mutmut_<n> for every function


def _functions(tree: ast.Module):
    """(class name or None, node) of every function of the module and of its classes (not nested)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield None, node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield node.name, sub


def _strings_only(a: str, b: str) -> bool:
    """True when lines a and b differ in string-literal tokens only."""
    def toks(s):
        try:
            return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(s.strip() + "\n").readline)
                    if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.ENDMARKER)]
        except (tokenize.TokenError, IndentationError, SyntaxError):
            return None
    ta, tb = toks(a), toks(b)
    if ta is None or tb is None or len(ta) != len(tb):
        return False
    diff = [(x, y) for x, y in zip(ta, tb) if x != y]
    return bool(diff) and all(x[0] == y[0] == tokenize.STRING for x, y in diff)


def _mutants_of(job: Path, path: str) -> list[dict]:
    """Every mutant of one source file: name, function, line, original/mutated text, unified diff."""
    original = (job / path).read_text().splitlines()
    starts = {}   # "xǁClassǁfn" / "x_fn" -> 1-based line of the `def` in the original file
    for cls, fn in _functions(ast.parse("\n".join(original))):
        starts[f"xǁ{cls}ǁ{fn.name}" if cls else f"x_{fn.name}"] = fn.lineno
    mutated_src = (job / "mutants" / path).read_text()
    mlines = mutated_src.splitlines()
    bodies = {}
    for _, fn in _functions(ast.parse(mutated_src)):
        if "__mutmut_" in fn.name:
            bodies[fn.name] = mlines[fn.lineno - 1:fn.end_lineno]
    module = path[:-3].replace("/", ".")
    out = []
    for name, body in bodies.items():
        base, _, n = name.rpartition("__mutmut_")
        if n == "orig" or f"{base}__mutmut_orig" not in bodies:
            continue
        orig = bodies[f"{base}__mutmut_orig"]
        a = [orig[0].replace(f"{base}__mutmut_orig", "")] + orig[1:]
        b = [body[0].replace(name, "")] + body[1:]
        sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        ops = [op for op in sm.get_opcodes() if op[0] != "equal"]
        if not ops:
            continue
        i1, i2, j1, j2 = ops[0][1], ops[-1][2], ops[0][3], ops[-1][4]
        def_line = starts.get(base, 1)
        line = def_line + i1
        old = [l.strip() for l in a[i1:i2]]
        # libcst keeps the formatting: the function text equals the source lines from the `def` on
        if 0 <= line - 1 < len(original) and i1 < len(a) and original[line - 1].strip() != a[i1].strip():
            hit = [k + 1 for k, l in enumerate(original) if l.strip() == a[i1].strip()]
            line = min(hit, key=lambda k: abs(k - line)) if hit else line
        before = original[line - 1:line - 1 + (i2 - i1)] if 0 < line <= len(original) else a[i1:i2]
        diff = "\n".join([f"--- {path}:{line}", f"+++ {path}:{line} (mutant)"]
                         + ["-" + l for l in before] + ["+" + l for l in b[j1:j2]])
        fn = base[2:].replace("ǁ", ".") if base.startswith("xǁ") else base[2:]
        out.append(dict(mutant=f"{module}.{name}", module=path, function=fn, line=line,
                        original=" / ".join(old), mutated=" / ".join(l.strip() for l in b[j1:j2]),
                        strings_only=(i2 - i1 == j2 - j1 == 1 and _strings_only(a[i1], b[j1])), diff=diff))
    return out


# ---------------------------------------------------------------------------------------------------
# one group


def _exit_codes(job: Path, files) -> dict:
    codes = {}
    for f in files:
        meta = job / "mutants" / (f + ".meta")
        try:
            codes.update(json.loads(meta.read_text())["exit_code_by_key"])
        except (OSError, ValueError, KeyError):
            pass
    return codes


def run_group(name: str, group: Group, *, root: Path = ROOT, out: Path = OUT, max_mutants: int = 20,
              jobs: int = 2, seed: int = 0, include_strings: bool = False, timeout_factor: float = 3.0,
              group_timeout: float = 1800.0, verbose: bool = False, progress: bool = True) -> dict:
    """Mutate the files of `group` in a copy of `root` at out/<name>/; return the group's record."""
    t0 = time.perf_counter()
    job = out / name
    if not group.tests:
        raise ValueError(f"{name}: no test files found for {', '.join(group.files)}")
    _prepare(root, job, group, timeout_factor)
    log = None if verbose else open(job / "mutmut.log", "w")
    env = dict(os.environ, SBE_BUILD_DIR=str(job / "build"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("MUTANT_UNDER_TEST", None)
    try:
        gen = subprocess.run([sys.executable, "-c", _GENERATE, str(max(1, jobs))], cwd=job, env=env,
                             stdout=log, stderr=subprocess.STDOUT)
        if gen.returncode:
            raise RuntimeError(f"{name}: mutant generation failed (exit {gen.returncode}); see {job / 'mutmut.log'}")
        mutants = [m for f in group.files for m in _mutants_of(job, f)]
        pool = [m for m in mutants if include_strings or not m["strings_only"]]
        pool.sort(key=lambda m: m["mutant"])
        rng = random.Random(f"{seed}:{name}")
        sample = pool if max_mutants <= 0 or max_mutants >= len(pool) else rng.sample(pool, max_mutants)
        sample.sort(key=lambda m: (m["module"], m["line"], m["mutant"]))
        print(f"== {name}: {len(mutants)} mutants in {len(group.files)} file(s), "
              f"{len(mutants) - len(pool)} string-only left out, running {len(sample)} "
              f"against {len(group.tests)} test path(s)", flush=True)
        names = [m["mutant"] for m in sample]
        elapsed_run = 0.0
        if names:
            t1 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", _MUTMUT, "run", "--max-children", str(max(1, jobs)), *names],
                                    cwd=job, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            bar = None
            if progress:
                from tqdm import tqdm
                bar = tqdm(total=len(names), desc=name, unit="mutant", leave=False, file=sys.stdout)
            done = 0
            # mutmut writes the results file as each mutant ends; before the run they are unset (None)
            before = _exit_codes(job, group.files)
            try:
                while proc.poll() is None:
                    if time.perf_counter() - t1 > group_timeout:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                        print(f"  {name}: stopped after {group_timeout:.0f} s (--group-timeout)", flush=True)
                        break
                    time.sleep(0.5)
                    codes = _exit_codes(job, group.files)
                    now = sum(1 for n in names if codes.get(n) is not None and codes.get(n) != before.get(n))
                    if bar is not None and now > done:
                        bar.update(now - done)
                    done = max(done, now)
            except KeyboardInterrupt:
                os.killpg(proc.pid, signal.SIGKILL)
                raise
            finally:
                if bar is not None:
                    bar.close()
            elapsed_run = time.perf_counter() - t1
            if proc.returncode not in (0, None, -signal.SIGKILL):
                print(f"  {name}: mutmut exited with {proc.returncode}; see {job / 'mutmut.log'}", flush=True)
        codes = _exit_codes(job, group.files)
    finally:
        if log is not None:
            log.close()
    for m in sample:
        code = codes.get(m["mutant"])
        m["exit_code"] = code
        m["outcome"] = _OUTCOME.get(code, "error")
        m["covered"] = code not in (33, 5)
        del m["strings_only"]
    count = {k: sum(m["outcome"] == k for m in sample) for k in ("killed", "timeout", "survived", "error")}
    uncovered = sum(not m["covered"] for m in sample)
    dead = count["killed"] + count["timeout"]
    judged = dead + count["survived"]
    rec = dict(files=list(group.files), tests=list(group.tests), generated=len(mutants),
               string_only_left_out=len(mutants) - len(pool), sampled=len(sample), **count,
               uncovered=uncovered, score=(dead / judged if judged else None),
               covered_score=(dead / (judged - uncovered) if judged - uncovered else None),
               elapsed_s=round(time.perf_counter() - t0, 1), run_s=round(elapsed_run, 1), mutants=sample)
    score = f"{100 * rec['score']:.0f} %" if rec["score"] is not None else "n/a"
    print(f"  {name}: score {score} ({dead}/{judged}); killed {count['killed']}, timeout {count['timeout']}, "
          f"survived {count['survived']} ({uncovered} uncovered), error {count['error']}; {rec['elapsed_s']:.0f} s",
          flush=True)
    return rec


# ---------------------------------------------------------------------------------------------------
# reports


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.0f} %"


def markdown(summary: dict) -> str:
    rows = ["# Mutation score (mutmut, fast tests)", "",
            f"seed {summary['seed']}, at most {summary['max_mutants']} mutants per group, "
            f"string-only mutants {'included' if summary['include_strings'] else 'left out'}; "
            "score = (killed + timeout) / (killed + timeout + survived)", "",
            "| group | files | mutants (sampled/generated) | killed | timeout | survived (uncovered) | error "
            "| score | score on covered code |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, g in summary["groups"].items():
        files = ", ".join(Path(f).name for f in g["files"])
        rows.append(f"| {name} | {files} | {g['sampled']}/{g['generated']} | {g['killed']} | {g['timeout']} "
                    f"| {g['survived']} ({g['uncovered']}) | {g['error']} | {_pct(g['score'])} | {_pct(g['covered_score'])} |")
    rows += ["", "## Surviving mutants", ""]
    any_ = False
    for name, g in summary["groups"].items():
        for m in g["mutants"]:
            if m["outcome"] != "survived":
                continue
            any_ = True
            cov = "" if m["covered"] else " — no selected test calls this function"
            rows += [f"- **{name}** `{m['module']}:{m['line']}` in `{m['function']}`{cov}", "",
                     "  ```diff", *("  " + l for l in m["diff"].splitlines()), "  ```", ""]
    if not any_:
        rows.append("none")
    errors = [(n, m) for n, g in summary["groups"].items() for m in g["mutants"] if m["outcome"] == "error"]
    if errors:
        rows += ["", "## Mutants without a verdict", ""]
        rows += [f"- {n} `{m['module']}:{m['line']}` (exit code {m['exit_code']})" for n, m in errors]
    return "\n".join(rows) + "\n"


def write_reports(summary: dict, out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(markdown(summary))


def run(groups: dict[str, Group], *, root: Path = ROOT, out: Path = OUT, max_mutants: int = 20, jobs: int = 2,
        seed: int = 0, include_strings: bool = False, timeout_factor: float = 3.0, group_timeout: float = 1800.0,
        verbose: bool = False, progress: bool = True, merge: bool = False) -> dict:
    t0 = time.perf_counter()
    try:
        import mutmut
        version = getattr(mutmut, "__version__", None)
    except ImportError:    # pragma: no cover
        raise SystemExit("mutmut is not installed: run `make setup`")
    if version is None:
        from importlib.metadata import version as _v
        version = _v("mutmut")
    summary = dict(tool=f"mutmut {version}", seed=seed, max_mutants=max_mutants, jobs=jobs,
                   include_strings=include_strings, groups={})
    if merge and (out / "summary.json").exists():
        old = json.loads((out / "summary.json").read_text())
        summary["groups"] = {k: v for k, v in old.get("groups", {}).items() if k not in groups}
    for name, group in groups.items():
        summary["groups"][name] = run_group(name, group, root=root, out=out, max_mutants=max_mutants, jobs=jobs,
                                            seed=seed, include_strings=include_strings, timeout_factor=timeout_factor,
                                            group_timeout=group_timeout, verbose=verbose, progress=progress)
    summary["elapsed_s"] = round(time.perf_counter() - t0, 1)
    write_reports(summary, out)
    return summary


def main(argv=None) -> int:
    groups = default_groups()
    ap = CliParser(prog="python -m bench.mutation", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modules", nargs="+", metavar="GROUP|FILE",
                    help=f"groups ({', '.join(groups)}) or source files of a group (default: all groups)")
    ap.add_argument("--max-mutants", type=int, default=20, metavar="N",
                    help="mutants sampled per group, 0 = all (default 20)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                    help="mutants run in parallel (default min(2, cores))")
    ap.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    ap.add_argument("--include-strings", action="store_true", help="also sample mutants of string literals only")
    ap.add_argument("--timeout-factor", type=float, default=3.0,
                    help="per-mutant CPU-time limit = 2 x factor x (clean test time + 2 s) (default 3)")
    ap.add_argument("--group-timeout", type=float, default=1800.0, help="wall-time limit per group in s (default 1800)")
    args = ap.parse_args(argv)
    if args.max_mutants < 0 or args.jobs < 1:
        ap.error("--max-mutants must be >= 0 and --jobs >= 1")
    chosen: dict[str, Group] = {}
    for item in args.modules or list(groups):
        if item in groups:
            chosen[item] = groups[item]
            continue
        rel = str(Path(item).resolve().relative_to(ROOT)) if Path(item).exists() else item
        owner = [g for g, grp in groups.items() if rel in grp.files]
        if not owner:
            ap.error(f"{item!r} is neither a group ({', '.join(groups)}) nor a source file of one")
        g = owner[0]
        prev = chosen.get(g)
        files = (prev.files if prev and prev is not groups[g] else ()) + (rel,)
        chosen[g] = Group(files, groups[g].tests)
    summary = run(chosen, max_mutants=args.max_mutants, jobs=args.jobs, seed=args.seed,
                  include_strings=args.include_strings, timeout_factor=args.timeout_factor,
                  group_timeout=args.group_timeout, verbose=os.environ.get("VERBOSE") == "1",
                  merge=bool(args.modules))
    print(f"wrote {OUT / 'summary.json'} and {OUT / 'summary.md'} ({summary['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Docs that cannot drift: every `icetally` command and every Python example in
README.md and docs/*.md is checked against the code and run against a store the tests
build from the synthetic generator.

- Every option a documented command uses is an option of that command (`--help`);
  synopsis lines (`[--rows N]`, `TABLE`, `month|quarter`) are checked, not run.
- Every runnable command runs (in a folder holding copies of the synthetic store as
  ice.duckdb, the default store there, and demo.duckdb, the examples, and ../shared where it
  exists). It must not fail on usage, crash, or fail otherwise than in the few
  pinned cases below, where a documented identifier only exists in real data.
- Every Python block runs in the same folder (blocks of one file share a session, as
  a reader's would); every icetally name it uses exists and accepts the keywords it
  is given. Blocks that need Spark are checked but not run.
- The CLI reference's claims about options (which commands take --db and --json, the
  filters list) match --help.

What is not run, and why: `serve` (a server that does not return; tests/
test_web_*.py serve the same app), `--backend spark` (needs Java and, for some,
a cluster; tests/test_spark.py runs the same commands), `demo` (minutes; tests/
test_demo.py runs it).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import typer.main
from typer.testing import CliRunner

import icetally
from icetally.cli import app
from icetally.vocabulary import FILTERS

from .conftest import PRESS, ROOT, SHARED

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NATIONAL_DIR = "../shared/data/ice-national-fy2016-2019"
PLACEHOLDERS = {"TABLE", "FIPS", "NAME", "CODE", "D", "ST", "PATH", "N", "DIR", "FILE", "ID"}
NOT_RUN = {
    "serve": "a server that does not return (tests/test_web_*.py serve the same app)",
    "demo": "minutes of work (tests/test_demo.py runs it)",
}
# Documented identifiers that exist only in the real data (or the default demo): the
# command runs and refuses them with its own clear error. Anything else fails.
DOMAIN_ERRORS = {
    "no surge '2018-02-25-SFR'",
    "no surge '2019-09-20-10aors-d3b85f'",
}

CLI = typer.main.get_command(app)
runner = CliRunner()


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks() -> list[Block]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
            line = text[: m.start()].count("\n") + 1
            out.append(Block(path, line, m.group(1), m.group(2)))
    return out


@dataclass
class Command:
    block: Block
    text: str
    argv: list[str]  # after "icetally"
    env: dict[str, str]

    @property
    def synopsis(self) -> bool:
        return any(
            "[" in t or "]" in t or t in PLACEHOLDERS or ("|" in t and not t.startswith("sc:"))
            for t in self.argv
        )

    @property
    def spark(self) -> bool:
        return "spark" in self.argv or any("ICETALLY_SPARK" in k for k in self.env)


def commands() -> list[Command]:
    out = []
    for b in blocks():
        if b.lang not in ("sh", "bash", "console", "shell"):
            continue
        for line in b.text.replace("\\\n", " ").splitlines():
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:
                continue
            env: dict[str, str] = {}
            while tokens and re.fullmatch(r"[A-Z_]+=\S*", tokens[0]):
                k, v = tokens.pop(0).split("=", 1)
                env[k] = v
            if not tokens or tokens[0] != "icetally":
                continue
            if "|" in tokens:  # `icetally releases --json | jq ...`: the icetally part
                tokens = tokens[: tokens.index("|")]
            out.append(Command(b, line.strip(), tokens[1:], env))
    return out


def _resolve(argv: list[str]) -> tuple[click.Command, list[str]]:
    """The click command a documented argv names, and the rest of the argv."""
    cmd: click.Command = CLI
    rest = list(argv)
    ctx = click.Context(CLI)
    while hasattr(cmd, "get_command") and rest and not rest[0].startswith("-"):
        sub = cmd.get_command(ctx, rest[0])
        if sub is None:
            break
        cmd, rest = sub, rest[1:]
    return cmd, rest


def _options(cmd: click.Command) -> set[str]:
    out = {"--help"}
    for p in cmd.params:
        out.update(getattr(p, "opts", []))
        out.update(getattr(p, "secondary_opts", []))
    return out


COMMANDS = commands()


def test_the_docs_have_commands_and_python() -> None:
    assert len(COMMANDS) > 60
    assert sum(b.lang == "python" for b in blocks()) > 8


@pytest.mark.parametrize("c", COMMANDS, ids=[c.block.where for c in COMMANDS])
def test_documented_options_exist(c: Command) -> None:
    cmd, rest = _resolve(c.argv)
    assert cmd is not CLI, f"{c.block.where}: {c.text!r} names no command"
    known = _options(cmd)
    for t in rest:
        t = t.strip("[]")
        if t.startswith("-") and not re.fullmatch(r"-?\d[\d.,-]*", t):
            name = t.split("=", 1)[0]
            assert name in known, f"{c.block.where}: {name} is not an option of {cmd.name}"


@pytest.fixture(scope="module")
def docs_dir(
    tmp_path_factory: pytest.TempPathFactory, synthetic_db: Path, synthetic_release: dict
) -> Path:
    """A reader's working folder: copies of the synthetic store under the names the
    docs use, the examples, ../shared, and the files the examples read."""
    top = tmp_path_factory.mktemp("docs")
    work = top / "work"
    work.mkdir()
    # ice.duckdb is the store of the docs' examples (ICETALLY_DB points at it for the
    # commands that name none); demo.duckdb the demo's
    for name in ("ice.duckdb", "demo.duckdb"):
        shutil.copy(synthetic_db, work / name)
    if (SHARED / "detention-stats").is_dir():  # the README's official-statistics step
        icetally.ingest([SHARED / "detention-stats"], db=work / "ice.duckdb")
    (work / "examples").symlink_to(ROOT / "examples")
    if SHARED.is_dir():
        (top / "shared").symlink_to(SHARED.parent)
    article = PRESS / "2019-10-07-ice-enforcement-surge-article.txt"
    text = (
        article.read_text(encoding="utf-8")
        if article.exists()
        else "WASHINGTON (October 7, 2019) - ICE arrested 597 people in a five-day "
        "operation from September 21 to 25 across ten areas of responsibility."
    )
    for name in ("release.txt", "press-release.txt"):
        (work / name).write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "examples/claims/demo-2019-09-enforcement-surge.yaml", work / "claims.yaml")
    shutil.copy(ROOT / "examples/policies/example-policies.csv", work / "my-policies.csv")
    # the national FY2016-2019 files: the synthetic release (the same kind of records)
    # stands in for them, so the examples run in seconds and without ../shared
    release = Path(synthetic_release["files"]["arrests"]["path"]).parent
    (work / "national").symlink_to(release)
    return work


def _substitute(text: str) -> str:
    return text.replace(NATIONAL_DIR + "/", "national/").replace(NATIONAL_DIR, "national")


def _needs_missing_shared(argv: list[str]) -> bool:
    return any(t.startswith("../shared") for t in argv) and not SHARED.is_dir()


RUNNABLE = [c for c in COMMANDS if not c.synopsis]


@pytest.mark.slow
def test_documented_commands_run(docs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(docs_dir)
    monkeypatch.setenv("ICETALLY_DB", "ice.duckdb")
    ran = skipped = 0
    hit: set[str] = set()
    for c in RUNNABLE:
        cmd, _ = _resolve(c.argv)
        if cmd.name in NOT_RUN or c.spark or _needs_missing_shared(c.argv):
            skipped += 1
            continue
        argv = [_substitute(t) for t in c.argv]
        res = runner.invoke(app, argv, env=c.env, catch_exceptions=True)
        out = " ".join((res.output or "").split())
        where = f"{c.block.where}: {c.text}"
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            raise AssertionError(f"{where}: crashed: {res.exception!r}") from res.exception
        assert "Usage:" not in out and "No such option" not in out, f"{where}: {out[:300]}"
        if res.exit_code == 2:
            known = [e for e in DOMAIN_ERRORS if e in out]
            assert known, f"{where}: failed: {out[:300]}"
            hit.update(known)
        else:
            ok = (0, 1) if cmd.name == "official" else (0,)  # official --check: 1 = found
            assert res.exit_code in ok, f"{where}: exit {res.exit_code}: {out[:300]}"
        ran += 1
    assert ran > 40 and skipped < 20, (ran, skipped)
    assert hit == DOMAIN_ERRORS, f"pinned errors no documented command meets: {DOMAIN_ERRORS - hit}"


# --------------------------------------------------------------------------- python


def _python_blocks() -> list[Block]:
    return [b for b in blocks() if b.lang == "python"]


def _names_check(block: Block) -> None:
    """Every icetally module attribute used exists and every keyword passed to an
    icetally function is one it takes (the drift `check(..., baseline=)` had)."""
    tree = ast.parse(block.text)
    env: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("icetally"):
                    mod = importlib.import_module(a.name)
                    env[a.asname or a.name.split(".")[0]] = (
                        mod if a.asname else importlib.import_module("icetally")
                    )
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("icetally"):
            mod = importlib.import_module(node.module or "")
            for a in node.names:
                obj = getattr(mod, a.name, None)
                if obj is None:
                    obj = importlib.import_module(f"{node.module}.{a.name}")
                env[a.asname or a.name] = obj

    def resolve(expr: ast.AST) -> Any:
        if isinstance(expr, ast.Name):
            return env.get(expr.id)
        if isinstance(expr, ast.Attribute):
            base = resolve(expr.value)
            if base is None or not inspect.ismodule(base):
                return None
            assert hasattr(base, expr.attr), (
                f"{block.where}: {base.__name__}.{expr.attr} does not exist"
            )
            return getattr(base, expr.attr)
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            resolve(node)
        if isinstance(node, ast.Call):
            fn = resolve(node.func)
            if fn is None or not callable(fn):
                continue
            try:
                sig = inspect.signature(fn)
            except (TypeError, ValueError):
                continue
            if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
                continue
            for kw in node.keywords:
                if kw.arg is not None:
                    assert kw.arg in sig.parameters, (
                        f"{block.where}: {getattr(fn, '__name__', fn)}() takes no {kw.arg}="
                    )


PY_BLOCKS = _python_blocks()


@pytest.mark.parametrize("block", PY_BLOCKS, ids=[b.where for b in PY_BLOCKS])
def test_python_examples_use_names_that_exist(block: Block) -> None:
    _names_check(block)


@pytest.mark.slow
def test_python_examples_run(docs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(docs_dir)
    monkeypatch.setenv("ICETALLY_DB", "ice.duckdb")
    ran = 0
    sessions: dict[Path, dict[str, Any]] = {}
    for block in PY_BLOCKS:
        code = _substitute(block.text)
        if "spark" in code or "../shared" in code and not SHARED.is_dir():
            compile(code, block.where, "exec")  # checked above; not run (see docstring)
            continue
        ns = sessions.setdefault(block.path, {"__name__": "__docs__"})
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, block.where, "exec"), ns)  # noqa: S102 - the docs' own code
        except Exception as exc:  # noqa: BLE001 - reported with the block
            if not any(e in str(exc) for e in DOMAIN_ERRORS):
                raise AssertionError(f"{block.where}: {exc!r}") from exc
        ran += 1
    assert ran >= 6


# --------------------------------------------------------------------------- reference


def test_every_command_takes_db_and_all_but_serve_json() -> None:
    """What docs/cli.md and README.md say about --db and --json."""
    ctx = click.Context(CLI)
    for name in CLI.list_commands(ctx):  # type: ignore[attr-defined]
        opts = _options(CLI.get_command(ctx, name))  # type: ignore[attr-defined]
        assert "--db" in opts, name
        assert ("--json" in opts) == (name != "serve"), name
    text = (ROOT / "docs/cli.md").read_text()
    assert "every command except `serve` takes" in " ".join(text.split()).lower()


def test_cli_reference_lists_the_vocabulary_filters() -> None:
    text = (ROOT / "docs/cli.md").read_text()
    m = re.search(r"^Filters: (.*?)\n\n", text, re.S | re.M)
    assert m, "docs/cli.md has a Filters: paragraph"
    documented = set(re.findall(r"`(--[a-z-]+)`", m.group(1)))
    assert documented == {f.option for f in FILTERS.values()}
    count_opts = _options(_resolve(["count"])[0])
    assert documented <= count_opts
    by = re.search(r"^`--by` takes any of: (.*?)\n\n", text, re.S | re.M)
    assert by, "docs/cli.md lists the --by dimensions"
    from icetally.vocabulary import DIMENSIONS

    assert re.findall(r"`(\w+)`", by.group(1)) == list(DIMENSIONS)

"""Hostile input on the command line (issue 15, items 1, 2 and 5): huge, negative and
non-finite numbers, empty strings, missing files, folders, files that are not UTF-8, and
`levers export` aimed at the workspace's own files, a device, a FIFO, a folder or an
existing file. Each is a one-paragraph message with exit code 1 (2 for what the command
line itself refuses: Typer's usage error), never a traceback; the store stays
byte-identical and a file the user named is left untouched.

Seeds are whole numbers 0 ≤ seed ≤ 2**63 − 1 (the store's BIGINT) wherever one enters; a
run starts at most 10 years after its census's as-of date.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from planwise.cli import app

runner = CliRunner()

HUGE = str(2**64)
"""Beyond the store's BIGINT: seen as a traceback from `simulate --seed 2**64`."""
NOT_UTF8 = b"optimization:\n  mode: balanced\ntargets:\n  average_salary: {target_value: 1\xe9}\n"


def planwise(workspace: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--workspace", str(workspace)])


def store_state(workspace: Path) -> dict[str, str]:
    """Every file of the workspace and a digest of its bytes."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(workspace.iterdir())
        if path.is_file()
    }


def assert_refused(result: Result, code: int, words: str) -> None:
    """Exit `code` (1: a one-paragraph `Error:`; 2: Typer's usage error) naming `words`,
    and no traceback, caught or not."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    if code == 1:
        assert message.startswith("Error: "), result.output
        assert "\n\n" not in message  # one paragraph
        assert words in message, message
    else:
        flat = " ".join(line.strip(" │╭╮╰╯─") for line in message.splitlines())
        assert words in " ".join(flat.split()), message


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 employees (as of 2024-12-31), two parameter sets, run 1."""
    root = tmp_path_factory.mktemp("hostile_inputs") / "workspace"
    for args in (
        ["init"],
        ["census", "generate", "--employees", "200", "--seed", "7"],
        ["levers", "set", "merit_base", "0.04"],
        ["simulate", "--years", "1"],
    ):
        result = planwise(root, *args)
        assert result.exit_code == 0, (args, result.output)
    return root


@pytest.fixture
def workspace(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(template, root)
    return root


def _file(name: str, folder: Path) -> Path:
    """A hostile file named `name` in `folder`; its stem says what it holds."""
    path = folder / name
    kind = path.stem
    if kind == "folder":
        path.mkdir()
    elif kind == "not-utf8":
        path.write_bytes(NOT_UTF8)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "seed-2-64":
        content = {
            "optimization": {"seed": 2**64, "max_iterations": 1},
            "targets": {"average_salary": {"target_value": 100_000, "tolerance": 1000}},
        }
        path.write_text(yaml.safe_dump(content), encoding="utf-8")
    else:
        assert kind == "missing", kind
    return path


_LEAD_TARGETS = pytest.mark.xfail(
    strict=True,
    reason="for the lead: optimization/targets.py load_targets should read the file with "
    "planwise.config.read_yaml (not UTF-8, a folder, aliases) and bound "
    "optimization.seed by planwise.config.MAX_SEED (minus robust_seeds)",
)

# (id, arguments, exit code, the words of the message). `{file:NAME}`: a hostile file.
CASES = [
    # simulate: one seed range, a bounded start year
    ("simulate --seed 2**64", ["simulate", "--seed", HUGE], 1, "--seed must be a whole number"),
    ("simulate --seed -1", ["simulate", "--seed", "-1"], 1, "from 0 to 9223372036854775807"),
    (
        "simulate --start-year 99999",
        ["simulate", "--start-year", "99999"],
        1,
        "--start-year 99999 is 97975 years after the census as-of date 2024-12-31",
    ),
    (
        "simulate --start-year 3000",
        ["simulate", "--start-year", "3000", "--years", "1"],
        1,
        "a run starts at most 10 years after it",
    ),
    ("simulate --start-year 2024", ["simulate", "--start-year", "2024"], 1, "must come after"),
    ("simulate --years 0", ["simulate", "--years", "0"], 1, "--years must be between 1 and 50"),
    ("simulate --years 2**64", ["simulate", "--years", HUGE], 1, "--years must be between"),
    ("simulate --parameter-set 2**64", ["simulate", "--parameter-set", HUGE], 1, "no parameter"),
    ("simulate --continue 2**64", ["simulate", "--continue", HUGE], 1, "no simulation run"),
    ("simulate --scenario ''", ["simulate", "--scenario", ""], 1, "Unknown scenario ''"),
    # census
    (
        "census generate --seed 2**64",
        ["census", "generate", "--employees", "10", "--seed", HUGE],
        1,
        "--seed must be a whole number",
    ),
    (
        "census generate --seed -5",
        ["census", "generate", "--employees", "10", "--seed", "-5"],
        1,
        "--seed must be a whole number",
    ),
    (
        "census generate --employees 10**11",
        ["census", "generate", "--employees", str(10**11)],
        1,
        "--employees must be at most 10,000,000",
    ),
    (
        "census generate --employees 0",
        ["census", "generate", "--employees", "0"],
        1,
        "--employees must be at least 1",
    ),
    ("census import a missing file", ["census", "import", "{file:missing.csv}"], 1, "missing.csv"),
    ("census import a folder", ["census", "import", "{file:folder}"], 2, "is a directory"),
    ("census import not UTF-8", ["census", "import", "{file:not-utf8.csv}"], 1, "is not UTF-8"),
    ("census import an empty file", ["census", "import", "{file:empty.csv}"], 1, "empty"),
    ("census validate a folder", ["census", "validate", "{file:folder}"], 2, "is a directory"),
    ("census validate not UTF-8", ["census", "validate", "{file:not-utf8.csv}"], 1, "not UTF-8"),
    # levers
    ("levers set nan", ["levers", "set", "merit_base", "nan"], 1, "finite number"),
    ("levers set inf", ["levers", "set", "merit_base", "inf"], 1, "finite number"),
    ("levers set 1e308", ["levers", "set", "merit_base", "1e308"], 1, "must be between"),
    ("levers set ''", ["levers", "set", "", "0.03"], 1, "unknown parameter"),
    (
        "levers set --level 2**64",
        ["levers", "set", "merit_base", "0.03", "--level", HUGE],
        1,
        "job_level must be one of",
    ),
    (
        "levers set --year 2**64",
        ["levers", "set", "merit_base", "0.03", "--year", HUGE],
        1,
        "fiscal_year must be a simulated year",
    ),
    ("levers show --year 2**64", ["levers", "show", "--year", HUGE], 1, "not a simulated year"),
    ("levers show --scenario ''", ["levers", "show", "--scenario", ""], 1, "Unknown scenario"),
    ("levers history --scenario ''", ["levers", "history", "--scenario", ""], 1, "Unknown"),
    ("levers diff 1 2**64", ["levers", "diff", "1", HUGE], 1, "There is no parameter set"),
    ("levers rollback 2**64", ["levers", "rollback", HUGE], 1, "There is no parameter set"),
    ("levers import a folder", ["levers", "import", "{file:folder}"], 1, "cannot be read"),
    ("levers import not UTF-8", ["levers", "import", "{file:not-utf8.csv}"], 1, "UTF-8"),
    ("levers import a missing file", ["levers", "import", "{file:missing.csv}"], 1, "no file"),
    ("levers validate a folder", ["levers", "validate", "{file:folder}"], 1, "cannot be read"),
    (
        "levers scenario create ''",
        ["levers", "scenario", "create", ""],
        1,
        "must be 1–64 letters, digits",
    ),
    (
        "levers scenario create 5000 characters",
        ["levers", "scenario", "create", "a" * 5000],
        1,
        "(5,000 characters)",
    ),
    # results
    ("results --format xml", ["results", "--format", "xml"], 1, "--format must be table"),
    ("results --run 2**64", ["results", "--run", HUGE], 1, "There is no simulation run"),
    ("results --compare 1 2**64", ["results", "--compare", "1", HUGE], 1, "no simulation run"),
    # optimize: the command line's own options are the command line's problems (exit 2)
    ("optimize --tolerance 0", ["optimize", "--tolerance", "0"], 2, "Invalid value for"),
    ("optimize --tolerance -1", ["optimize", "--tolerance", "-1"], 2, "'--tolerance': must"),
    ("optimize --tolerance nan", ["optimize", "--tolerance", "nan"], 2, "'--tolerance'"),
    ("optimize --tolerance inf", ["optimize", "--tolerance", "inf"], 2, "'--tolerance'"),
    (
        "optimize --resume 1 --tolerance nan",
        ["optimize", "--resume", "1", "--tolerance", "nan"],
        2,
        "'--tolerance'",
    ),
    ("optimize --mode silly", ["optimize", "--mode", "silly"], 2, "'--mode': must be"),
    ("optimize --max-iterations 0", ["optimize", "--max-iterations", "0"], 2, "iterations'"),
    ("optimize --max-iterations 201", ["optimize", "--max-iterations", "201"], 2, "iterations'"),
    ("optimize --targets a folder", ["optimize", "--targets", "{file:folder}"], 2, "directory"),
    ("optimize --targets missing", ["optimize", "--targets", "{file:missing.csv}"], 1, "not exist"),
    pytest.param(
        "optimize --targets not UTF-8",
        ["optimize", "--targets", "{file:not-utf8.yaml}"],
        1,
        "is not UTF-8",
        marks=_LEAD_TARGETS,
        id="optimize --targets not UTF-8",
    ),
    pytest.param(
        "optimize, seed 2**64 in the targets file",
        ["optimize", "--targets", "{file:seed-2-64.yaml}"],
        1,
        "seed",
        marks=_LEAD_TARGETS,
        id="optimize, seed 2**64 in the targets file",
    ),
    ("optimize --resume 2**64", ["optimize", "--resume", HUGE], 1, "There is no optimization"),
    ("optimize show 2**64", ["optimize", "show", HUGE], 1, "There is no optimization"),
    ("optimize apply 2**64", ["optimize", "apply", HUGE], 1, "There is no optimization"),
    # ensemble (all refused before a cluster starts)
    (
        "ensemble --first-seed 2**64",
        ["ensemble", "--seeds", "2", "--first-seed", HUGE],
        1,
        "--first-seed must be between 0 and 9223372036854775806",
    ),
    (
        "ensemble --first-seed -1",
        ["ensemble", "--seeds", "2", "--first-seed", "-1"],
        1,
        "--first-seed must be between",
    ),
    ("ensemble --seeds 0", ["ensemble", "--seeds", "0"], 1, "--seeds must be between"),
    ("ensemble --seeds 2**64", ["ensemble", "--seeds", HUGE], 1, "--seeds must be between"),
    ("ensemble without --seeds", ["ensemble"], 1, "needs --seeds N"),
    ("ensemble --workers 0", ["ensemble", "--seeds", "2", "--workers", "0"], 1, "--workers"),
    ("ensemble --years 0", ["ensemble", "--seeds", "2", "--years", "0"], 1, "--years must be"),
    (
        "ensemble --threshold nan",
        ["ensemble", "--seeds", "2", "--threshold", "average_salary:nan"],
        1,
        "--threshold must be METRIC:VALUE",
    ),
    ("ensemble show 2**64", ["ensemble", "show", HUGE], 1, "There is no ensemble"),
]


def _cases() -> list[object]:
    return [case if hasattr(case, "marks") else pytest.param(*case, id=case[0]) for case in CASES]


@pytest.mark.parametrize(("case", "args", "code", "words"), _cases())
def test_hostile_input_is_refused_with_a_message_and_stores_nothing(
    workspace: Path, tmp_path: Path, case: str, args: list[str], code: int, words: str
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    arguments = [
        str(_file(arg[len("{file:") : -1], files)) if arg.startswith("{file:") else arg
        for arg in args
    ]
    before = store_state(workspace)

    result = planwise(workspace, *arguments)

    assert_refused(result, code, words)
    assert store_state(workspace) == before


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("seed", 2**64, "less than or equal to 9223372036854775807"),
        ("start_year", 2200, "start_year in planwise.yaml 2200 is 176 years after"),
    ],
)
def test_a_seed_or_start_year_in_planwise_yaml_is_bounded_too(
    workspace: Path, setting: str, value: int, words: str
) -> None:
    settings_path = workspace / "planwise.yaml"
    settings = yaml.safe_load(settings_path.read_text(encoding="utf-8"))
    settings[setting] = value
    settings_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    before = store_state(workspace)

    result = planwise(workspace, "simulate", "--years", "1")

    assert_refused(result, 1, words)
    assert store_state(workspace) == before


def test_the_largest_seed_is_accepted(workspace: Path) -> None:
    result = planwise(workspace, "simulate", "--years", "1", "--seed", str(2**63 - 1), "--json")
    assert result.exit_code == 0, result.output
    assert f'"seed": {2**63 - 1}' in result.stdout


def test_the_command_line_knows_the_targets_files_modes_and_iteration_bound() -> None:
    from planwise.cli.optimize import MAX_ITERATIONS, MODES
    from planwise.optimization.targets import Mode, load_targets

    assert tuple(mode.value for mode in Mode) == MODES
    minimal = {"targets": {"average_salary": {"target_value": 1.0, "tolerance": 0.1}}}
    assert load_targets(minimal, max_iterations=MAX_ITERATIONS).max_iterations == MAX_ITERATIONS
    with pytest.raises(Exception, match="max_iterations"):
        load_targets(minimal, max_iterations=MAX_ITERATIONS + 1)


# --- levers export: the files a user names ------------------------------------------------


def _device(folder: Path) -> Path:
    """A character device like /dev/null, in a test folder (never the real one)."""
    path = folder / "null-device"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return path


@pytest.mark.parametrize(
    ("target", "force", "words"),
    [
        ("planwise.duckdb", False, "is the workspace's database"),
        ("planwise.duckdb", True, "is the workspace's database"),
        ("planwise.duckdb.wal", True, "is the workspace's database's write-ahead log"),
        ("planwise.yaml", True, "is the workspace's settings file"),
        ("a symbolic link to planwise.duckdb", True, "which leads to"),
        ("a hard link to planwise.duckdb", True, "is the workspace's database"),
        ("another workspace's planwise.duckdb", True, "is the workspace's database"),
        ("an existing file", False, "already exists. Add --force to replace it"),
        ("a FIFO", True, "is not a regular file (a device, a FIFO or a socket)"),
        ("a device", True, "is not a regular file (a device, a FIFO or a socket)"),
        ("a folder", True, "is a folder; name a file"),
        ("a loop of symbolic links", True, "Fix or remove the symbolic link"),
        ("a file in a missing folder", False, "does not exist. Create the folder first"),
    ],
)
def test_levers_export_never_writes_what_it_must_not_and_says_so(
    workspace: Path, tmp_path: Path, target: str, force: bool, words: str
) -> None:
    """Seen: `levers export <workspace>/planwise.duckdb` exited 0 and destroyed the store;
    an existing CSV and /dev/null were replaced without a word."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    paths = {
        "planwise.duckdb": workspace / "planwise.duckdb",
        "planwise.duckdb.wal": workspace / "planwise.duckdb.wal",
        "planwise.yaml": workspace / "planwise.yaml",
        "a symbolic link to planwise.duckdb": elsewhere / "link.csv",
        "a hard link to planwise.duckdb": elsewhere / "hard.csv",
        "another workspace's planwise.duckdb": elsewhere / "planwise.duckdb",
        "an existing file": elsewhere / "levers.csv",
        "a FIFO": elsewhere / "fifo",
        "a loop of symbolic links": elsewhere / "loop.csv",
        "a folder": elsewhere,
        "a file in a missing folder": elsewhere / "missing" / "levers.csv",
    }
    path = _device(elsewhere) if target == "a device" else paths[target]
    if target == "a symbolic link to planwise.duckdb":
        path.symlink_to(workspace / "planwise.duckdb")
    elif target == "a hard link to planwise.duckdb":
        os.link(workspace / "planwise.duckdb", path)
    elif target == "another workspace's planwise.duckdb":
        shutil.copy(workspace / "planwise.duckdb", path)
        shutil.copy(workspace / "planwise.yaml", elsewhere / "planwise.yaml")
    elif target == "an existing file":
        path.write_text("my own notes\n", encoding="utf-8")
    elif target == "a FIFO":
        os.mkfifo(path)
    elif target == "a loop of symbolic links":
        path.symlink_to(path)
    before = store_state(workspace)
    around = {p.name: p.lstat().st_mode for p in elsewhere.iterdir()}
    contents = store_state(elsewhere)

    result = planwise(workspace, "levers", "export", str(path), *(["--force"] if force else []))

    assert_refused(result, 1, words)
    assert "Nothing was written" in result.stderr
    assert store_state(workspace) == before
    assert {p.name: p.lstat().st_mode for p in elsewhere.iterdir()} == around
    assert store_state(elsewhere) == contents
    assert not (elsewhere / "missing").exists()  # no folder created silently
    assert not (workspace / "planwise.duckdb.wal").exists()
    shown = planwise(workspace, "levers", "show", "--json")  # the store still loads
    assert shown.exit_code == 0, shown.output


def test_levers_export_replaces_a_file_only_with_force_and_whole(
    workspace: Path, tmp_path: Path
) -> None:
    path = tmp_path / "levers.csv"
    path.write_text("my own notes\n", encoding="utf-8")

    refused = planwise(workspace, "levers", "export", str(path))
    replaced = planwise(workspace, "levers", "export", str(path), "--force")
    fresh = planwise(workspace, "levers", "export", str(tmp_path / "new.csv"))

    assert_refused(refused, 1, "already exists. Add --force")
    assert replaced.exit_code == 0, replaced.output
    assert fresh.exit_code == 0, fresh.output
    assert path.read_text(encoding="utf-8") == (tmp_path / "new.csv").read_text(encoding="utf-8")
    assert path.read_text(encoding="utf-8").startswith("scenario_id,fiscal_year,job_level")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["levers.csv", "new.csv", "workspace"]

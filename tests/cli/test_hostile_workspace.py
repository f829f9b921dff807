"""Every command against a workspace in a hostile state (issue 15, items 2 and 8): settings
that are not UTF-8, a folder or an alias bomb; a memory limit DuckDB cannot parse; the
database missing, overwritten, held by another process (reading or writing) or read-only;
`--workspace` naming a file. Each command exits 1 with a one-paragraph message, never a
traceback, and leaves every file of the workspace byte-identical.

One small workspace (200 employees, a run, an optimization, no dbt) is built once and
copied per case. A read-only workspace is made by removing write permission; when the tests
run as root (whom permissions do not stop) the command runs without the capabilities that
let root pass them (`CAP_DAC_OVERRIDE` …), as an ordinary owner would.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from planwise.cli import app

runner = CliRunner()

CENSUS_CSV = (
    "employee_id,birth_date,hire_date,annual_salary,job_level\n"
    "E1,1985-06-15,2015-03-01,85000,2\n"
    "E2,1990-01-31,2020-07-15,62000.50,1\n"
)


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]
    writes: bool
    """Stores something when it succeeds (a read-only workspace or a reader refuses it)."""
    needs_store: bool = True
    """Opens the database (a census file check does not)."""


# `{files}`: a folder with a census file and a levers file; `{out}`: an empty folder.
COMMANDS = (
    Command("init", ("init",), writes=True),
    Command("census generate", ("census", "generate", "--employees", "50"), writes=True),
    Command("census import", ("census", "import", "{files}/census.csv"), writes=True),
    Command(
        "census validate",
        ("census", "validate", "{files}/census.csv"),
        writes=False,
        needs_store=False,
    ),
    Command("levers show", ("levers", "show"), writes=False),
    Command("levers set", ("levers", "set", "merit_base", "0.045"), writes=True),
    Command("levers import", ("levers", "import", "{files}/levers.csv"), writes=True),
    Command("levers export", ("levers", "export", "{out}/exported.csv"), writes=False),
    Command("levers validate", ("levers", "validate", "{files}/levers.csv"), writes=False),
    Command("levers history", ("levers", "history"), writes=False),
    Command("levers diff", ("levers", "diff", "1", "2"), writes=False),
    Command("levers rollback", ("levers", "rollback", "1"), writes=True),
    Command("levers scenario create", ("levers", "scenario", "create", "other"), writes=True),
    Command("levers scenario list", ("levers", "scenario", "list"), writes=False),
    Command("simulate", ("simulate", "--years", "1"), writes=True),
    Command("results", ("results",), writes=False),
    Command("optimize", ("optimize", "--max-iterations", "1"), writes=True),
    Command("optimize show", ("optimize", "show", "1"), writes=False),
    Command("optimize list", ("optimize", "list"), writes=False),
    Command("optimize apply", ("optimize", "apply", "1"), writes=True),
    Command("ensemble", ("ensemble", "--seeds", "2", "--workers", "1"), writes=True),
    Command("ensemble show", ("ensemble", "show", "1"), writes=False),
    Command("ensemble list", ("ensemble", "list"), writes=False),
)
BY_NAME = {command.name: command for command in COMMANDS}
ANALYTICS = (
    Command("analytics build", ("analytics", "build"), writes=True),
    Command("analytics parse", ("analytics", "parse"), writes=True, needs_store=False),
)


def planwise(workspace: Path, files: Path, command: Command, out: Path | None = None) -> Result:
    args = [
        arg.replace("{files}", str(files)).replace("{out}", str(out or files / "out"))
        for arg in command.args
    ]
    return runner.invoke(app, [*args, "--workspace", str(workspace)])


def files_state(folder: Path) -> dict[str, str]:
    """Every file under the folder (names relative to it) and a digest of its bytes."""
    if not folder.is_dir():
        return {}
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def assert_refused(result: Result, *words: str) -> None:
    """Exit 1, a one-paragraph `Error:` message on stderr with `words`, no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    assert result.exit_code == 1, result.output
    message = result.stderr.strip()
    assert message.startswith("Error: "), result.output
    assert "Traceback" not in result.output
    assert "\n\n" not in message  # one paragraph
    for word in words:
        assert word in message, message


def assert_succeeded(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output


# --- the workspace every case starts from -------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A census file and a levers file (exported from a fresh workspace)."""
    folder = tmp_path_factory.mktemp("hostile_files")
    (folder / "census.csv").write_text(CENSUS_CSV, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, files: Path) -> Path:
    """200 employees; sets 1 (built-in) and 2 (edit); run 1; optimization 1 whose answer is
    not the active set (set 3 came after it), so `optimize apply 1` would write."""
    root = tmp_path_factory.mktemp("hostile_template") / "workspace"
    steps = (
        ["init"],
        ["census", "generate", "--employees", "200", "--seed", "7"],
        ["levers", "set", "merit_base", "0.04"],
        ["simulate", "--years", "1"],
        ["optimize", "--max-iterations", "1"],
        ["levers", "set", "merit_base", "0.05"],
        ["levers", "export", str(files / "levers.csv"), "--force"],
    )
    for args in steps:
        result = runner.invoke(app, [*args, "--workspace", str(root)])
        assert result.exit_code in (0, 3), (args, result.output)  # 3: not converged
    return root


@pytest.fixture
def workspace(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(template, root)
    return root


# --- hostile states, each a function that puts a fresh copy into it -----------------------


def settings_not_utf8(root: Path) -> None:
    settings = root / "planwise.yaml"
    settings.write_bytes(settings.read_bytes().replace(b"name: Staff", b"name: St\xe4ff"))


def settings_a_folder(root: Path) -> None:
    (root / "planwise.yaml").unlink()
    (root / "planwise.yaml").mkdir()


def settings_alias_bomb(root: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    (root / "planwise.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def memory_limit_unparsable(root: Path) -> None:
    settings = root / "planwise.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "memory_limit: 8GB" in text
    settings.write_text(text.replace("memory_limit: 8GB", "memory_limit: lots"), "utf-8")


def database_missing(root: Path) -> None:
    (root / "planwise.duckdb").unlink()


def database_overwritten(root: Path) -> None:
    (root / "planwise.duckdb").write_text("scenario_id,fiscal_year\ndefault,2025\n", "utf-8")


STATES = {
    "planwise.yaml not UTF-8": (settings_not_utf8, ("planwise.yaml", "is not UTF-8 text")),
    "planwise.yaml a folder": (settings_a_folder, ("planwise.yaml", "is a folder")),
    "planwise.yaml an alias bomb": (settings_alias_bomb, ("planwise.yaml", "alias")),
    "memory_limit unparsable": (memory_limit_unparsable, ("memory_limit", "'lots'")),
    "database missing": (database_missing, ("has no database", "planwise init")),
    "database overwritten": (database_overwritten, ("is not a PlanWise store",)),
}


def _state_cases() -> list[object]:
    return list(_each_state_case())


def _each_state_case() -> Iterator[object]:
    for state, (_, _) in STATES.items():
        for command in (*COMMANDS, *ANALYTICS):
            if state.startswith("database") and not command.needs_store:
                continue  # checks a file without the store: nothing to refuse
            if state == "database missing" and command.name in ("init", "levers validate"):
                continue  # init creates it; validate checks the file alone
            if (
                command in ANALYTICS
                and state.startswith("database")
                and (command.name == "analytics parse" or state == "database overwritten")
            ):
                continue  # dbt would run: not a cheap case
            yield pytest.param(state, command, id=f"{command.name} · {state}")


@pytest.mark.parametrize(("state", "command"), _state_cases())
def test_a_command_on_a_workspace_in_a_hostile_state_exits_1_and_changes_nothing(
    workspace: Path, files: Path, state: str, command: Command, tmp_path: Path
) -> None:
    spoil, words = STATES[state]
    spoil(workspace)
    before = files_state(workspace)

    result = planwise(workspace, files, command, out=tmp_path)

    assert_refused(result, *words)
    assert files_state(workspace) == before
    assert not (tmp_path / "exported.csv").exists()


def not_a_folder(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A --workspace that cannot be one, and the words that say why."""
    if kind == "a file":
        path = tmp_path / "notes.txt"
        path.write_text("not a workspace\n", encoding="utf-8")
        return path, "is a file, not a workspace folder"
    if kind == "a loop of symbolic links":
        path = tmp_path / "loop"
        path.symlink_to(path)
        return path, "Fix or remove the symbolic link"
    return tmp_path / ("w" * 300), "file name too long"


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        pytest.param(kind, command, id=f"{command.name} · {kind}")
        for kind in ("a file", "a loop of symbolic links", "a name too long")
        for command in (*COMMANDS, *ANALYTICS)
    ],
)
def test_a_workspace_that_cannot_be_a_folder_is_refused_by_every_command(
    tmp_path: Path, files: Path, kind: str, command: Command
) -> None:
    root, words = not_a_folder(tmp_path, kind)
    before = files_state(tmp_path)

    result = planwise(root, files, command, out=tmp_path)

    assert_refused(result, root.name, words)
    assert files_state(tmp_path) == before


def test_init_under_a_file_names_the_folder_it_cannot_create(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x\n", encoding="utf-8")

    result = runner.invoke(app, ["init", "--workspace", str(blocker / "workspace")])

    assert_refused(result, "Cannot use the workspace folder", "not a directory")


# --- another process holds the database ---------------------------------------------------

_HOLDER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
print("holding", flush=True)
sys.stdin.read()  # until the test closes stdin
connection.close()
"""


@contextlib.contextmanager
def held(database: Path, mode: str) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.fixture(scope="module")
def held_by_a_reader(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, int]]:
    root = tmp_path_factory.mktemp("held_by_a_reader") / "workspace"
    shutil.copytree(template, root)
    with held(root / "planwise.duckdb", "read") as holder:
        yield root, holder.pid


@pytest.fixture(scope="module")
def held_by_a_writer(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, int]]:
    root = tmp_path_factory.mktemp("held_by_a_writer") / "workspace"
    shutil.copytree(template, root)
    with held(root / "planwise.duckdb", "write") as holder:
        yield root, holder.pid


@pytest.mark.parametrize(
    "command",
    [pytest.param(c, id=c.name) for c in COMMANDS if c.writes and c.name != "ensemble"],
)
def test_a_reader_in_another_process_blocks_writers_and_the_message_says_so(
    held_by_a_reader: tuple[Path, int], files: Path, command: Command, tmp_path: Path
) -> None:
    """Item 8: the holder's program and PID whole, and that readers block writers."""
    root, pid = held_by_a_reader
    before = files_state(root)

    result = planwise(root, files, command, out=tmp_path)

    assert_refused(
        result,
        "in use by another process that is reading it",
        f"{Path(sys.executable).resolve().name} (PID {pid}).",
        "even only to read it, blocks every other process from writing it",
    )
    assert files_state(root) == before


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(c, id=c.name)
        for c in COMMANDS
        if not c.writes and c.name != "ensemble show"  # the template has no ensemble
    ],
)
def test_a_reader_in_another_process_does_not_block_readers(
    held_by_a_reader: tuple[Path, int], files: Path, command: Command, tmp_path: Path
) -> None:
    root, _ = held_by_a_reader
    before = files_state(root)

    result = planwise(root, files, command, out=tmp_path)

    assert_succeeded(result)
    assert files_state(root) == before


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(c, id=c.name)
        for c in COMMANDS
        if c.needs_store and c.name != "levers validate"  # validate checks the file alone
    ],
)
def test_a_writer_in_another_process_blocks_every_command_with_a_complete_message(
    held_by_a_writer: tuple[Path, int], files: Path, command: Command, tmp_path: Path
) -> None:
    root, pid = held_by_a_writer
    before = files_state(root)

    result = planwise(root, files, command, out=tmp_path)

    assert_refused(
        result,
        "in use by another process: ",
        f"(PID {pid}).",
        "DuckDB lets only one process open a database file for writing",
    )
    assert files_state(root) == before


# --- a read-only workspace -----------------------------------------------------------------

_DAC_CAPABILITIES = (1 << 1) | (1 << 2) | (1 << 3)
"""CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root ignore permissions."""


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


@contextlib.contextmanager
def as_an_ordinary_owner() -> Iterator[None]:
    """This thread without the capabilities that let root write where permissions forbid
    (kept in the permitted set, so they come back after the block)."""
    if os.geteuid() != 0:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        pytest.skip("cannot read this thread's capabilities")
    saved = data[0].effective
    data[0].effective = saved & ~_DAC_CAPABILITIES
    if libc.capset(ctypes.byref(header), data) != 0:
        pytest.skip("cannot drop this thread's capabilities")
    try:
        yield
    finally:
        data[0].effective = saved
        assert libc.capset(ctypes.byref(header), data) == 0


def folder_read_only(root: Path) -> Path:
    root.chmod(0o555)
    return root


def database_read_only(root: Path) -> Path:
    (root / "planwise.duckdb").chmod(0o444)
    return root / "planwise.duckdb"


READ_ONLY = {
    "read-only folder": (folder_read_only, "is read-only for this user"),
    "read-only database file": (database_read_only, "is read-only for this user"),
}


@pytest.mark.parametrize(
    ("state", "command"),
    [
        pytest.param(state, command, id=f"{command.name} · {state}")
        for state in READ_ONLY
        for command in COMMANDS
        if command.writes
    ],
)
def test_a_read_only_workspace_refuses_every_write_before_it_starts(
    workspace: Path, files: Path, state: str, command: Command, tmp_path: Path
) -> None:
    make_read_only, words = READ_ONLY[state]
    named = make_read_only(workspace)
    before = files_state(workspace)
    try:
        with as_an_ordinary_owner():
            result = planwise(workspace, files, command, out=tmp_path)
    finally:
        workspace.chmod(0o755)
        (workspace / "planwise.duckdb").chmod(0o644)

    assert_refused(result, str(named), words, "Nothing was changed")
    assert files_state(workspace) == before


@pytest.mark.parametrize(
    "command", [pytest.param(BY_NAME[name], id=name) for name in ("levers show", "simulate")]
)
def test_settings_this_user_cannot_read_are_named(
    workspace: Path, files: Path, command: Command, tmp_path: Path
) -> None:
    before = files_state(workspace)
    (workspace / "planwise.yaml").chmod(0o000)
    try:
        with as_an_ordinary_owner():
            result = planwise(workspace, files, command, out=tmp_path)
    finally:
        (workspace / "planwise.yaml").chmod(0o644)

    assert_refused(result, "planwise.yaml cannot be read: permission denied")
    assert files_state(workspace) == before


def test_a_read_only_workspace_still_answers_reads(workspace: Path, files: Path) -> None:
    folder_read_only(workspace)
    database_read_only(workspace)
    try:
        with as_an_ordinary_owner():
            shown = planwise(workspace, files, BY_NAME["levers show"])
            results = planwise(workspace, files, BY_NAME["results"])
    finally:
        workspace.chmod(0o755)
    assert_succeeded(shown)
    assert_succeeded(results)


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_a_read_only_workspace_is_refused_in_a_process_of_its_own(workspace: Path) -> None:
    """End to end, as a separate process: no capability tricks inside the test process."""
    folder_read_only(workspace)
    command = [sys.executable, "-c", "from planwise.cli import main; main()", "simulate"]
    command += ["--workspace", str(workspace)]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]
    before = files_state(workspace)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        workspace.chmod(0o755)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error: The workspace folder"), done.stderr
    assert "Traceback" not in done.stderr
    assert files_state(workspace) == before


def test_the_lock_holder_is_never_cut_short() -> None:
    """Seen cut mid-word at 200 characters: the program and its PID stay whole."""
    from planwise.errors import lock_conflict_detail

    program = "/opt/" + "a-very-long-folder-name/" * 12 + "python3.11"
    message = (
        'IO Error: Could not set lock on file "/w/planwise.duckdb": Conflicting lock is held '
        f"in {program} (PID 4242). However, you would be able to open this database in "
        "read-only mode, e.g. by using the -readonly parameter in the CLI. See also "
        "https://duckdb.org/docs/current/connect/concurrency"
    )
    assert lock_conflict_detail(message) == f"{program} (PID 4242)"

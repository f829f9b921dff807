"""A workspace: a folder with the settings, the DuckDB store, the levers and the targets;
and the one door through which a command writes a file the user names (`safe_output`)."""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from planwise.config import Settings, load_settings, save_settings
from planwise.errors import UserError
from planwise.storage.database import Database

__all__ = ["WORKSPACE_ENV", "Workspace", "check_output", "safe_output"]

WORKSPACE_ENV = "PLANWISE_WORKSPACE"
DEFAULT_WORKSPACE = "workspace"

_OWN_FILES = {
    "planwise.duckdb": "database",
    "planwise.duckdb.wal": "database's write-ahead log",
    "planwise.yaml": "settings file",
}
"""The files no command ever writes for a user: they are the workspace itself."""


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, directory: str | Path | None = None) -> Workspace:
        """`--workspace DIR`, else `$PLANWISE_WORKSPACE`, else `./workspace`: a folder,
        or a path where one can be created (a file, a loop of links or a name the system
        refuses is a `UserError` here, before any command looks inside)."""
        chosen = directory or os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE
        workspace = cls(_resolved(Path(chosen).expanduser(), "the workspace folder"))
        workspace.require_folder()
        return workspace

    @property
    def settings_path(self) -> Path:
        return self.root / "planwise.yaml"

    @property
    def database_path(self) -> Path:
        return self.root / "planwise.duckdb"

    @property
    def wal_path(self) -> Path:
        """DuckDB's write-ahead log beside the database (part of the store)."""
        return self.root / "planwise.duckdb.wal"

    @property
    def levers_path(self) -> Path:
        return self.root / "comp_levers.csv"

    @property
    def targets_path(self) -> Path:
        return self.root / "targets.yaml"

    @property
    def dagster_home(self) -> Path:
        return self.root / ".dagster"

    @property
    def analytics_path(self) -> Path:
        """Where dbt keeps its artifacts (target, logs) for this workspace."""
        return self.root / ".dbt"

    def settings(self) -> Settings:
        self.require_folder()
        if not self.settings_path.exists():
            raise UserError(
                f"{self.root} is not a PlanWise workspace (no planwise.yaml). "
                f"Create one with 'planwise init --workspace {self.root}'."
            )
        return load_settings(self.settings_path)

    def require_folder(self) -> None:
        """A workspace is a folder: a file of that name, or a name the system refuses
        (too long, …), is a mistake to report."""
        try:
            found = self.root.stat()
        except FileNotFoundError:
            return
        except OSError as error:
            raise UserError(
                f"Cannot use the workspace folder {self.root}: {_reason(error)}. Name another "
                "folder with --workspace."
            ) from None
        if not stat.S_ISDIR(found.st_mode):
            raise UserError(
                f"{self.root} is a file, not a workspace folder. Name a folder with "
                "--workspace (or $PLANWISE_WORKSPACE); 'planwise init --workspace NEW_FOLDER' "
                "creates one."
            )

    def database(self, settings: Settings | None = None) -> Database:
        chosen = settings or self.settings()
        return Database(self.database_path, chosen.database)

    def write_settings(self, settings: Settings) -> None:
        self.require_folder()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            save_settings(settings, self.settings_path)
        except OSError as error:
            raise UserError(
                f"Cannot create the workspace in {self.root}: {_reason(error)}. Choose a "
                "folder you can write (--workspace DIR). Nothing was written."
            ) from None


def check_output(workspace: Workspace, path: Path, *, force: bool = False) -> Path:
    """Where a command may write the file a user named at `path`: the path resolved
    (symbolic links followed), or a `UserError` that says why not and what to do.

    Refused: the store's and settings' files (`planwise.duckdb`, its WAL, `planwise.yaml`)
    of this workspace or of any folder that holds them, under any name that leads to them;
    a folder, a device, a FIFO or a socket; a file in a folder that does not exist (no
    folder is created silently) or that this user cannot write; and an existing file
    unless `force`.
    """
    text = str(path)
    if not text.strip():
        raise UserError("No file named: give the path of the file to write.")
    named = Path(path).expanduser()
    target = _resolved(named, "the file", " Nothing was written.")
    shown = f"{named}" if target == named.absolute() else f"{named} (which leads to {target})"
    own = _own_file(workspace, target)
    if own is not None:
        raise UserError(
            f"{shown} is the workspace's {own}; no command writes it for you. Choose "
            "another file name. Nothing was written."
        )
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UserError(
            f"Cannot write {named}: the folder {folder} {what}. Create the folder first "
            "(PlanWise does not create folders for a file you name), or choose another "
            "path. Nothing was written."
        )
    try:
        found = target.stat()
    except FileNotFoundError:
        found = None
    except OSError as error:
        raise UserError(f"Cannot write {shown}: {_reason(error)}. Nothing was written.") from None
    if found is not None:
        if stat.S_ISDIR(found.st_mode):
            raise UserError(
                f"{shown} is a folder; name a file (e.g. {named / 'comp_levers.csv'}). "
                "Nothing was written."
            )
        if not stat.S_ISREG(found.st_mode):
            raise UserError(
                f"{shown} is not a regular file (a device, a FIFO or a socket); name a "
                "file. Nothing was written."
            )
        if not force:
            raise UserError(
                f"{shown} already exists. Add --force to replace it, or choose another "
                "file name. Nothing was written."
            )
    effective = os.access in os.supports_effective_ids
    if not os.access(folder, os.W_OK | os.X_OK, effective_ids=effective):
        raise UserError(
            f"Cannot write {named}: the folder {folder} is read-only for this user. Choose "
            "a folder you can write. Nothing was written."
        )
    return target


@contextlib.contextmanager
def safe_output(workspace: Workspace, path: Path, *, force: bool = False) -> Iterator[Path]:
    """Write a file the user named, safely: yields a temporary path beside the target to
    write; when the block ends without an error, that file takes the target's name in one
    step (a reader never sees half a file; a failure leaves any previous file as it was).

    The target is checked first (`check_output`), before the caller reads or computes
    anything. Without `force` the file is linked into place, which fails if a file of that
    name appeared meanwhile: an existing file is never replaced without `force`.

        with safe_output(workspace, Path("levers.csv"), force=False) as partial:
            write_levers_csv(lever_set, partial, created_at, created_by)
    """
    target = check_output(workspace, path, force=force)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.partial")
    try:
        yield partial
        if not partial.is_file():
            raise RuntimeError(f"nothing was written to {partial}")
        _move_into_place(partial, target, replace=force)
    finally:
        partial.unlink(missing_ok=True)


def _move_into_place(partial: Path, target: Path, *, replace: bool) -> None:
    try:
        if replace:
            os.replace(partial, target)
            return
        try:
            os.link(partial, target)  # atomic, and never over an existing file
        except FileExistsError:
            raise UserError(
                f"{target} appeared while this command ran. Add --force to replace it, or "
                "choose another file name. Nothing was written."
            ) from None
        except OSError:  # a file system without hard links
            if target.exists():
                raise UserError(
                    f"{target} appeared while this command ran. Add --force to replace it, "
                    "or choose another file name. Nothing was written."
                ) from None
            os.replace(partial, target)
    except OSError as error:
        raise UserError(f"Cannot write {target}: {_reason(error)}. Nothing was written.") from None


def _own_file(workspace: Workspace, target: Path) -> str | None:
    """What `target` is when it is one of a workspace's own files, else None: this
    workspace's (by path, or the same file under another name), or a file of those names
    in another workspace's folder."""
    own = {
        workspace.database_path: _OWN_FILES["planwise.duckdb"],
        workspace.wal_path: _OWN_FILES["planwise.duckdb.wal"],
        workspace.settings_path: _OWN_FILES["planwise.yaml"],
    }
    for path, what in own.items():
        if target == path.resolve():
            return what
        with contextlib.suppress(OSError):
            if target.exists() and path.exists() and os.path.samefile(target, path):
                return what
    folder = target.parent
    if target.name in _OWN_FILES and any(
        (folder / name).exists() for name in ("planwise.duckdb", "planwise.yaml")
    ):
        return _OWN_FILES[target.name]
    return None


def _resolved(path: Path, what: str, after: str = "") -> Path:
    """The absolute path with symbolic links followed; a loop of links is a user's
    mistake to report, not a crash."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as error:  # RuntimeError: a loop (Python < 3.13)
        raise UserError(
            f"Cannot use {path} as {what}: {error}. Fix or remove the symbolic link.{after}"
        ) from None


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()

"""Replace files and folders inside an output folder only once every new file is complete.

An export is written into a staging folder inside ``out`` (``out/.petatps-tmp-<random>``, so it is
on the same filesystem and every swap is a ``rename``), then swapped in when the export finished:

    with staged(out) as stage:
        stage.replace_folder("tiles/tps")       # a folder petatps manages: replaced whole
        (stage.root / "tiles/tps/1/2/3.mvt").parent.mkdir(parents=True)
        ...                                     # write under stage.root, as if it were out

On any error inside the block the staging folder is deleted and ``out`` is left exactly as it was.
Files in ``out`` that the export does not write (a user's ``README``, another export's layers) are
never touched. A managed folder (``replace_folder``) is replaced whole, so files that the new export
no longer writes (tiles that became empty) do not linger; every other written file replaces its
namesake alone. The swap renames each changed item into place; if a rename fails, the ones already
done are undone. Readers of ``out`` see, for each item, the old or the new file, never a half one.
A process killed mid-export leaves its ``.petatps-tmp-*`` folder behind; it is safe to delete.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = ".petatps-tmp-"


class Stage:
    """A staging folder mirroring ``out``; see :func:`staged`.

    Attributes
    ----------
    out : Path
        The real output folder.
    root : Path
        Where the export writes instead (relative paths as under ``out``).
    """

    def __init__(self, out: Path, root: Path):
        self.out = out
        self.root = root
        self._folders: set[str] = set()

    def replace_folder(self, rel: str | Path) -> Path:
        """Declare ``out/rel`` a folder that the export owns: on commit it is replaced whole (created
        empty in the stage now). Returns the staged folder."""
        rel_path = _relative(rel)
        folder = self.root / rel_path
        folder.mkdir(parents=True, exist_ok=True)
        self._folders.add(rel_path.as_posix())
        return folder

    def items(self, last: Sequence[str] = ()) -> list[str]:
        """The relative paths that the commit renames into ``out``, in commit order (sorted, ``last`` at the end)."""
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root)
            for name in list(dirnames):
                rel = (rel_dir / name).as_posix()
                if rel in self._folders:
                    found.append(rel)
                    dirnames.remove(name)           # replaced whole: do not descend
            found.extend((rel_dir / name).as_posix() for name in filenames)
        return sorted(found, key=lambda rel: (rel in last, rel))

    def commit(self, last: Sequence[str] = ()) -> list[str]:
        """Rename every staged item into ``out`` (the old one set aside, then deleted); all or none."""
        items = self.items(last)
        backup = Path(tempfile.mkdtemp(prefix=PREFIX + "old-", dir=self.out))
        done: list[tuple[str, bool]] = []
        try:
            for rel in items:
                done.append((rel, _swap(self.root / rel, self.out / rel, backup / rel)))
        except BaseException:
            _undo(self, backup, done)
            shutil.rmtree(backup, ignore_errors=True)
            raise
        _remove(backup)
        return items


@contextlib.contextmanager
def staged(out: str | Path, *, last: Sequence[str] = ()) -> Iterator[Stage]:
    """Stage writes meant for the folder ``out`` and swap them in when the block ends without error.

    Parameters
    ----------
    out : str or Path
        The output folder (created if missing; removed again if the export fails and it is empty).
    last : sequence of str
        Relative paths renamed after all others (e.g. ``manifest.json``, so it changes last).

    Raises
    ------
    NotADirectoryError
        If ``out`` is an existing file.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"export folder {out} is a file")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    stage = Stage(out, Path(tempfile.mkdtemp(prefix=PREFIX, dir=out)))
    try:
        yield stage
        stage.commit(last)
    except BaseException:
        if created:
            shutil.rmtree(stage.root, ignore_errors=True)
            with contextlib.suppress(OSError):
                out.rmdir()                         # only if nothing else was put there meanwhile
        raise
    finally:
        shutil.rmtree(stage.root, ignore_errors=True)


def _swap(new: Path, target: Path, aside: Path) -> bool:
    """Move ``target`` (if any) to ``aside`` and ``new`` to ``target``; True if there was an old one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    had_old = target.exists() or target.is_symlink()
    if had_old:
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        if had_old:
            os.rename(aside, target)
        raise
    return had_old


def _undo(stage: Stage, backup: Path, done: list[tuple[str, bool]]) -> None:
    for rel, had_old in reversed(done):
        try:
            os.rename(stage.out / rel, stage.root / rel)
            if had_old:
                os.rename(backup / rel, stage.out / rel)
        except OSError:
            log.exception("could not restore %s in %s; the previous version is in %s", rel, stage.out, backup)
            raise


def _remove(backup: Path) -> None:
    try:
        shutil.rmtree(backup)
    except OSError as exc:                          # the export is in place: a leftover is only clutter
        log.warning("could not delete the previous export set aside in %s: %s", backup, exc)


def _relative(rel: str | Path) -> Path:
    path = Path(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"a staged path must be relative and inside the folder, got {str(rel)!r}")
    return path

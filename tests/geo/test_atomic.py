"""geo.atomic: staged writes swapped into an output folder all at once, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo import atomic


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def out(tmp_path) -> Path:
    """An output folder holding a previous export and a file of the user's."""
    folder = tmp_path / "site"
    for rel, body in {"tiles/tps/1/0/0.mvt": b"old tile", "tiles/tps/2/0/0.mvt": b"stale tile",
                      "tiles/README": b"the user's", "index.html": b"old index", "notes.txt": b"the user's"}.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(body)
    return folder


def _write(root: Path, rel: str, body: bytes) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(body)


def test_commit_replaces_managed_folders_whole_and_files_one_by_one(out):
    with atomic.staged(out) as stage:
        tiles = stage.replace_folder("tiles/tps")
        _write(tiles, "1/0/0.mvt", b"new tile")
        _write(stage.root, "index.html", b"new index")
        _write(stage.root, "geojson/tps.geojson", b"{}")
        assert _tree(out)["index.html"] == b"old index"          # nothing visible before the block ends
    assert _tree(out) == {"geojson/tps.geojson": b"{}", "index.html": b"new index", "notes.txt": b"the user's",
                          "tiles/README": b"the user's", "tiles/tps/1/0/0.mvt": b"new tile"}
    assert sorted(p.name for p in out.iterdir()) == ["geojson", "index.html", "notes.txt", "tiles"]


def test_an_error_in_the_block_leaves_the_folder_as_it_was(out):
    before = _tree(out)
    with pytest.raises(OSError, match="disk full"), atomic.staged(out) as stage:
        stage.replace_folder("tiles/tps")
        _write(stage.root, "index.html", b"new index")
        raise OSError(28, "disk full")
    assert _tree(out) == before
    assert not list(out.glob(atomic.PREFIX + "*"))


def test_a_failed_rename_undoes_the_ones_already_done(out):
    (out / "zz").write_bytes(b"a file where the export needs a folder")
    before = _tree(out)
    with pytest.raises(OSError), atomic.staged(out) as stage:
        _write(stage.root, "index.html", b"new index")           # swapped first (sorted) ...
        _write(stage.root, "zz/page.html", b"x")                # ... then this fails: zz is a file
    assert _tree(out) == before
    assert not list(out.glob(atomic.PREFIX + "*"))


def test_a_failed_export_into_a_new_folder_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError), atomic.staged(tmp_path / "new" / "site") as stage:
        _write(stage.root, "a.txt", b"a")
        raise RuntimeError("boom")
    assert not (tmp_path / "new" / "site").exists()


def test_last_items_are_renamed_last(out):
    with atomic.staged(out) as stage:
        for rel in ("manifest.json", "a.txt", "z/b.txt"):
            _write(stage.root, rel, b"x")
        stage.replace_folder("m")
        assert stage.items(last=("manifest.json",)) == ["a.txt", "m", "z/b.txt", "manifest.json"]


def test_an_empty_managed_folder_still_replaces_the_old_one(out):
    with atomic.staged(out) as stage:
        stage.replace_folder("tiles/tps")
    assert (out / "tiles" / "tps").is_dir() and not list((out / "tiles" / "tps").iterdir())
    assert (out / "tiles" / "README").read_bytes() == b"the user's"


@pytest.mark.parametrize("rel", ["../escape", "/abs", ""])
def test_managed_folders_must_be_inside(out, rel):
    with pytest.raises(ValueError, match="relative and inside"), atomic.staged(out) as stage:
        stage.replace_folder(rel)


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="is a file"), atomic.staged(tmp_path / "f"):
        pass

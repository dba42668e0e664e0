"""The committed real-photo backgrounds (glyphgen/data/photos) and the rules that built them.

tools/build_photos.py cuts photos from Debian and Python packages into crops and splits them
into train and held-out by source photo; only the held-out crops are committed.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest

from glyphgen.hashing import sha256_file
from glyphgen.images import open_image
from glyphgen.paths import REPO_ROOT
from glyphgen.synth.background import IMAGE_SUFFIXES

PHOTOS_DIR = REPO_ROOT / "glyphgen" / "data" / "photos"
HELDOUT = PHOTOS_DIR / "heldout"
FREE_LICENCES = {
    "CC0-1.0",
    "CC-BY-2.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "GPL-2.0-or-later",
}


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        "build_photos", REPO_ROOT / "tools" / "build_photos.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_photos"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((HELDOUT / "manifest.json").read_text(encoding="utf-8"))


# -- the committed held-out set ----------------------------------------------------------------
def test_manifest_lists_exactly_the_images_in_the_folder_with_their_sha256(manifest):
    listed = {c["file"] for c in manifest["crops"]}
    on_disk = {p.name for p in HELDOUT.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    # An unlisted image would still be drawn by background.image_dirs.
    assert on_disk == listed
    for c in manifest["crops"]:
        path = HELDOUT / c["file"]
        assert sha256_file(path) == c["sha256"], f"{c['file']} changed; rebuild or revert it"
        assert path.stat().st_size == c["bytes"]


def test_every_crop_decodes_at_its_listed_size_and_grey_crops_are_grey(manifest):
    for c in manifest["crops"]:
        rgb = open_image(HELDOUT / c["file"], mode="RGB")
        assert rgb.shape == (c["height"], c["width"], 3)
        assert (c["colour"] == "grey") == tool.is_grey(rgb), c["file"]


def test_heldout_has_several_photos_packages_and_grey_scenes(manifest):
    sources = {c["source"]["id"] for c in manifest["crops"]}
    packages = {c["source"]["package"] for c in manifest["crops"]}
    grey = {c["source"]["id"] for c in manifest["crops"] if c["colour"] == "grey"}
    assert manifest["photos"] == len(sources) >= 10
    assert len(manifest["crops"]) >= 40
    assert len(packages) >= 4
    assert len(grey) >= 2  # grey scenes for colour-cast checks


def test_heldout_folder_with_licences_is_under_20_mb():
    size = sum(p.stat().st_size for p in PHOTOS_DIR.rglob("*") if p.is_file())
    assert size < 20 * 1024 * 1024


def test_every_crop_has_a_free_licence_author_and_licence_texts(manifest):
    for c in manifest["crops"]:
        src = c["source"]
        assert src["licence"] in FREE_LICENCES, c["file"]
        assert src["author"], c["file"]
        assert src["version"], c["file"]
        assert src["licence_files"], c["file"]
        for name in src["licence_files"]:
            text = (HELDOUT / name).resolve()
            assert text.is_file() and text.stat().st_size > 0, f"{c['file']}: {name} missing"
            assert text.parent == PHOTOS_DIR / "LICENSES"


# -- the split ---------------------------------------------------------------------------------
def test_committed_crops_are_heldout_by_the_split_rule_and_the_pinned_photos(manifest):
    pinned = {p.id: p for p in tool.PHOTOS}
    for c in manifest["crops"]:
        src = c["source"]
        assert c["split"] == "heldout"
        assert tool.split_of(src["sha256"]) == "heldout", c["file"]
        assert pinned[src["id"]].sha256 == src["sha256"], c["file"]


def test_no_photo_is_in_both_splits(manifest):
    heldout = {c["source"]["sha256"] for c in manifest["crops"]}
    train = {p.sha256 for p in tool.PHOTOS if tool.split_of(p.sha256) == "train"}
    assert train and heldout
    assert not heldout & train
    # ... and every held-out photo was built: the committed set is the whole held-out split.
    assert heldout == {p.sha256 for p in tool.PHOTOS if tool.split_of(p.sha256) == "heldout"}


def test_each_photo_is_listed_once_by_id_by_bytes_and_by_file():
    for key in ("id", "sha256", "file"):
        values = [getattr(p, key) for p in tool.PHOTOS]
        assert len(values) == len(set(values)), f"PHOTOS repeats a {key}"


def test_split_of_depends_on_the_photo_bytes_alone():
    shas = [p.sha256 for p in tool.PHOTOS]
    assert [tool.split_of(s) for s in shas] == [tool.split_of(s) for s in shas]
    assert tool.split_of("0" * 64) == "heldout"
    assert tool.split_of("0" * 15 + "1" + "0" * 48) == "train"
    heldout = sum(tool.split_of(s) == "heldout" for s in shas)
    assert 0.2 < heldout / len(shas) < 0.45  # about one in three
    with pytest.raises(ValueError, match="64-digit"):
        tool.split_of("abc")


# -- the crop rule -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("width", "height", "cells", "side"),
    [(2560, 1600, 6, 800), (1280, 1024, 2, 640), (512, 512, 1, 512), (451, 300, 1, 300)],
)
def test_grid_boxes_are_square_disjoint_cells_inside_the_photo(width, height, cells, side):
    boxes = tool.grid_boxes(width, height)
    assert len(boxes) == cells
    covered = np.zeros((height, width), np.int32)
    for x0, y0, x1, y1 in boxes:
        assert x1 - x0 == y1 - y0 == side
        assert x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height
        covered[y0:y1, x0:x1] += 1
    assert covered.max() == 1


def test_build_photo_writes_listed_crops_and_refuses_a_changed_source(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "photo.png"
    from PIL import Image

    Image.fromarray(rng.integers(0, 256, (700, 1400), np.uint8)).save(src)  # a grey "photo"
    photo = tool.Photo("test-photo", "test-pkg", str(src), sha256_file(src), "CC0-1.0", "me")
    out = tmp_path / "out"
    out.mkdir()
    entries = tool.build_photo(photo, "1.0", out, "../LICENSES/")
    assert [e["file"] for e in entries] == ["test-photo-0.jpg", "test-photo-1.jpg"]
    for e in entries:
        assert sha256_file(out / e["file"]) == e["sha256"]
        assert e["colour"] == "grey" and e["width"] == 640
        assert e["split"] == tool.split_of(photo.sha256)
        assert e["source"]["sha256"] == photo.sha256 and e["source"]["version"] == "1.0"
    # Same input, same bytes.
    assert [e["sha256"] for e in tool.build_photo(photo, "1.0", out, "")] == [
        e["sha256"] for e in entries
    ]
    src.write_bytes(src.read_bytes() + b"\0")
    with pytest.raises(ValueError, match=r"test-photo: .* changed the photo"):
        tool.build_photo(photo, "1.0", out, "")

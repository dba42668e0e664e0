"""Output formats, each read back by its real consumer (or the consumer's own parsing code)."""

import io
import json
import os
import uuid
from pathlib import Path

import lmdb
import numpy as np
import pytest
from PIL import Image

from glyphgen.synth import writers
from glyphgen.synth.record import CharBox, Sample, TextLine
from glyphgen.synth.writers import lmdb_env
from glyphgen.synth.writers.base import r2
from glyphgen.synth.writers.paddle_det import quad_points

TEXTS = ["中文招牌", "Café·拉面 24h", "鱻龘𠀀"]  # CJK, Latin with accents, an astral-plane hanzi
SCENE_FORMATS = ["jsonl", "anyword", "paddle-det", "wds", "imagefolder"]
LINE_FORMATS = [*SCENE_FORMATS, "paddle-rec", "lmdb"]


# -- samples the tests build themselves ------------------------------------------------------
def _encode(img: Image.Image, ext: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG" if ext == "jpg" else "PNG")
    return buf.getvalue()


def _line(text: str, x: float, y: float, curved: bool = False) -> TextLine:
    w, h = 20.0 * len(text), 20.0
    if curved:  # 2k points, clockwise: top edge left to right, bottom edge right to left
        top = [(x + w * t, y - 6.0 * np.sin(np.pi * t)) for t in np.linspace(0, 1, 5)]
        bottom = [(px, py + h) for px, py in reversed(top)]
        polygon = [(float(a), float(b)) for a, b in top + bottom]
    else:
        polygon = [(x + 0.004, y - 0.001), (x + w, y), (x + w, y + h), (x, y + h)]
    chars = [
        CharBox(
            c,
            [(x + 20 * i, y), (x + 20 * i + 20, y), (x + 20 * i + 20, y + h), (x + 20 * i, y + h)],
            "noto",
        )
        for i, c in enumerate(text)
    ]
    return TextLine(text, polygon, chars, "noto", 20, (10, 20, 30), 0.0, "horizontal")


def make_sample(index: int, kind: str = "line", ext: str = "jpg") -> Sample:
    """A sample whose image width encodes its index, so a decoded image can be told apart."""
    text = TEXTS[index % len(TEXTS)]
    width, height = 40 + index, 24 if kind == "line" else 64
    img = Image.new("RGB", (width, height), (index * 7 % 256, 100, 200))
    if kind == "line":
        lines = [_line(text, 1.0, 2.0)]
        glyph = mask = None
    else:
        lines = [_line(text, 2.0, 10.0), _line("第二行", 5.0, 40.0, curved=index % 2 == 0)]
        glyph = np.full((height, width), 255, np.uint8)
        mask = np.full((height, width), 128, np.uint8)
    return Sample(
        index=index,
        kind=kind,
        image=np.asarray(img),
        image_ext=ext,
        width=width,
        height=height,
        lines=lines,
        caption=f"一张招牌 {index}",
        glyph_image=glyph,
        position_mask=mask,
        meta={"seed": 0, "index": index, "background": "solid", "pos": [1.5, np.float64(2.25)]},
    )


def write_run(
    out: Path, formats: list[str], kind: str = "line", sizes: tuple[int, ...] = (3, 2)
) -> list[Sample]:
    """What the runner does: each shard into a temporary folder, renamed when closed; merge."""
    samples, rels, start = [], [], 0
    for k, size in enumerate(sizes):
        rel = f"shards/{k:05d}"
        tmp = out / "shards" / f".tmp-{k:05d}-{uuid.uuid4().hex[:8]}"
        shard = [make_sample(i, kind) for i in range(start, start + size)]
        sw = writers.open_writers(formats, tmp, rel, kind)
        for sample in shard:
            sw.add(sample)
        assert sw.close() == dict.fromkeys(writers.validate_formats(formats, kind), size)
        os.rename(tmp, out / rel)
        samples += shard
        rels.append(rel)
        start += size
    writers.merge_outputs(formats, out, rels)
    return samples


def signed_area(points) -> float:
    """Shoelace area with y down: positive when the points go clockwise on screen."""
    p = np.asarray(points, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) / 2)


# -- choosing formats --------------------------------------------------------------------------
def test_unknown_format_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown output format 'parquet'") as err:
        writers.validate_formats(["jsonl", "parquet"], "line")
    for name in writers.FORMATS:
        assert name in str(err.value)


def test_formats_are_deduplicated_in_order():
    assert writers.validate_formats(["wds", "jsonl", "wds"], "line") == ["wds", "jsonl"]


@pytest.mark.parametrize("fmt", ["paddle-rec", "lmdb"])
def test_recognition_formats_refuse_scenes_with_the_fix(tmp_path, fmt):
    with pytest.raises(ValueError, match=r"kind line \(--preset lines\)"):
        writers.validate_formats([fmt], "scene")
    with pytest.raises(ValueError, match=r"paddle-det|wds"):
        writers.open_writers(["jsonl", fmt], tmp_path / "s", "shards/00000", "scene")


def test_shard_rel_must_stay_inside_the_root(tmp_path):
    with pytest.raises(ValueError, match="relative to the output root"):
        writers.open_writers(["jsonl"], tmp_path / "s", "../elsewhere", "line")


def test_writers_release_files_on_error_and_refuse_more(tmp_path):
    with (
        pytest.raises(ZeroDivisionError),
        writers.open_writers(LINE_FORMATS, tmp_path / "s", "shards/00000", "line") as sw,
    ):
        sw.add(make_sample(0))
        raise ZeroDivisionError  # a failure while rendering
    with pytest.raises(RuntimeError, match="already closed"):
        sw.add(make_sample(1))


def test_samples_of_another_kind_are_refused(tmp_path):
    sw = writers.open_writers(["jsonl"], tmp_path / "s", "shards/00000", "line")
    with pytest.raises(ValueError, match="opened for 'line'"):
        sw.add(make_sample(0, kind="scene"))
    sw.abort()


def test_only_loose_file_formats_write_loose_files(tmp_path):
    write_run(tmp_path, ["lmdb", "wds"], sizes=(2,))
    shard = tmp_path / "shards" / "00000"
    assert sorted(p.name for p in shard.iterdir()) == ["data.tar", "lmdb"]
    assert sorted(p.name for p in (shard / "lmdb").iterdir()) == ["data.mdb"]


# -- each format through its reader -------------------------------------------------------------
def test_jsonl_records_and_image_paths(tmp_path):
    samples = write_run(tmp_path, ["jsonl"], kind="scene")
    rows = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text("utf-8").splitlines()]
    assert [r["index"] for r in rows] == [s.index for s in samples]
    first = rows[0]
    assert first["image"] == "shards/00000/images/000000000.jpg"
    assert first["glyph_image"] == "shards/00000/glyph/000000000.png"
    assert first["position_mask"] == "shards/00000/mask/000000000.png"
    assert first["texts"][0]["polygon"][0] == [2.0, 10.0]  # rounded to 2 decimals
    assert str(r2(-0.001)) == "0.0"  # no "-0.0" in labels
    assert first["texts"][0]["chars"][0]["char"] == "中"
    assert first["meta"]["pos"] == [1.5, 2.25]  # meta kept exact, numpy scalars converted
    for row, sample in zip(rows, samples, strict=True):
        assert [t["text"] for t in row["texts"]] == [line.text for line in sample.lines]
        with Image.open(tmp_path / row["image"]) as img:
            assert img.size == (sample.width, sample.height)
        assert (tmp_path / row["glyph_image"]).read_bytes() == sample.glyph_png
    assert "鱻龘𠀀" in (tmp_path / "labels.jsonl").read_text("utf-8")  # not \\u-escaped


def test_paddle_rec_parsed_as_simple_dataset_does(tmp_path):
    samples = write_run(tmp_path, ["paddle-rec"])
    with open(tmp_path / "rec_gt.txt", "rb") as fh:  # PaddleOCR reads bytes, decodes, splits
        lines = fh.readlines()
    assert len(lines) == len(samples)
    for raw, sample in zip(lines, samples, strict=True):
        file_name, label = raw.decode("utf-8").strip("\n").split("\t")
        assert label == sample.text
        with Image.open(os.path.join(tmp_path, file_name)) as img:  # data_dir = output root
            assert img.width == sample.width


def test_paddle_rec_refuses_labels_with_tabs(tmp_path):
    sample = make_sample(0)
    sample.lines[0].text = "a\tb"
    sw = writers.open_writers(["paddle-rec"], tmp_path / "s", "shards/00000", "line")
    with pytest.raises(ValueError, match="tab or line break"):
        sw.add(sample)
    sw.abort()


def test_paddle_det_integer_points_clockwise_from_top_left(tmp_path):
    samples = write_run(tmp_path, ["paddle-det"], kind="scene")
    lines = (tmp_path / "det_gt.txt").read_text("utf-8").splitlines()
    assert len(lines) == len(samples)
    for raw, sample in zip(lines, samples, strict=True):
        file_name, label = raw.split("\t")
        regions = json.loads(label)
        assert [r["transcription"] for r in regions] == [line.text for line in sample.lines]
        for region, line in zip(regions, sample.lines, strict=True):
            points = region["points"]
            assert len(points) == 4 and all(isinstance(v, int) for p in points for v in p)
            assert signed_area(points) > 0  # clockwise on screen
            # Starts at the top-left: the corner nearest the line's reading start.
            assert points[0] == [round(line.polygon[0][0]), round(line.polygon[0][1])] or (
                len(line.polygon) > 4 and min(points, key=lambda p: p[0] + p[1]) == points[0]
            )
        assert os.path.exists(os.path.join(tmp_path, file_name))


def test_quad_of_a_curved_polygon_is_its_min_area_rect_clockwise():
    top = [(10.0 + 10 * i, 50.0 - 8 * np.sin(np.pi * i / 4)) for i in range(5)]
    polygon = top + [(x, y + 20) for x, y in reversed(top)]
    quad = quad_points(polygon)
    assert signed_area(quad) > 0
    assert quad[0] == [10, 42]  # top-left of the bounding rectangle (the arc is upright)
    assert quad == [[10, 42], [50, 42], [50, 70], [10, 70]]
    # A 30-degree rotated rectangle given as 6 points: corners stay where they are.
    t = np.radians(-30)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    rect = np.array([[0, 0], [50, 0], [100, 0], [100, 20], [50, 20], [0, 20]]) @ rot.T + 100
    quad = quad_points([tuple(p) for p in rect])
    assert signed_area(quad) > 0
    assert quad[0] == [100, 100]  # the reading start, even though another corner is higher


def _anytext_load(json_path: Path):
    """AnyText's T3DataSet.load_data and the polygon handling of its __getitem__ / draw_pos."""
    import cv2

    with open(json_path, encoding="utf-8") as fh:
        content = json.load(fh)
    items = []
    for gt in content["data_list"]:
        img_path = os.path.join(content["data_root"], gt["img_name"])
        polygons, texts = [], []
        for annotation in gt["annotations"]:
            if len(annotation["polygon"]) == 0 or annotation.get("valid") is False:
                continue
            polygons.append(np.array(annotation["polygon"]))
            texts.append(annotation["text"])
            assert annotation["language"]
        for polygon in polygons:
            cv2.minAreaRect(polygon)  # needs integer (or float32) points
            cv2.fillPoly(np.zeros((64, 64)), [polygon.reshape((-1, 1, 2))], color=255)
        target = np.array(Image.open(img_path).convert("RGB"))
        items.append({"img": target, "caption": gt["caption"], "texts": texts})
    return items


def test_anyword_loads_as_anytext_does(tmp_path, monkeypatch):
    out = tmp_path / "out"
    samples = write_run(out, ["anyword"], kind="scene")
    monkeypatch.chdir(tmp_path)  # the merged file has an absolute data_root: any cwd works
    items = _anytext_load(out / "anyword.json")
    assert [i["texts"] for i in items] == [[ln.text for ln in s.lines] for s in samples]
    assert [i["img"].shape[1] for i in items] == [s.width for s in samples]
    assert items[1]["caption"] == "一张招牌 1"
    # The curved line keeps all its points.
    data = json.loads((out / "anyword.json").read_text("utf-8"))
    assert len(data["data_list"][0]["annotations"][1]["polygon"]) == 10
    monkeypatch.chdir(out)  # per-shard files: data_root "." is the output root
    assert len(_anytext_load(out / "shards/00001/anyword.json")) == 2


def _dtrb_hierarchical(root: Path) -> list[Path]:
    """deep-text-recognition-benchmark / PaddleOCR: every leaf folder under root is an LMDB."""
    return [Path(d) for d, subdirs, _ in os.walk(str(root) + "/") if not subdirs]


def _read_lmdb(path: Path) -> list[tuple[str, Image.Image]]:
    env = lmdb.open(
        str(path), max_readers=32, readonly=True, lock=False, readahead=False, meminit=False
    )
    out = []
    with env.begin(write=False) as txn:
        n = int(txn.get(b"num-samples"))
        assert txn.get(b"image-%09d" % 0) is None  # indices start at 1
        for index in range(1, n + 1):
            label = txn.get(b"label-%09d" % index).decode("utf-8")
            img = Image.open(io.BytesIO(txn.get(b"image-%09d" % index))).convert("RGB")
            out.append((label, img))
    env.close()
    return out


def test_lmdb_read_as_the_recognition_readers_do(tmp_path):
    # With loose images in the tree too: their leaf folders must not reach the LMDB reader.
    samples = write_run(tmp_path, ["lmdb", "jsonl"])
    envs = _dtrb_hierarchical(tmp_path / "lmdb")
    assert [p.name for p in envs] == ["00000", "00001"]
    read = [item for env in envs for item in _read_lmdb(env)]
    assert [label for label, _ in read] == [s.text for s in samples]
    assert [img.width for _, img in read] == [s.width for s in samples]
    per_shard = _read_lmdb(tmp_path / "shards/00001/lmdb")
    assert [label for label, _ in per_shard] == [s.text for s in samples[3:]]


def test_lmdb_map_grows_instead_of_reserving_and_bytes_repeat(tmp_path, monkeypatch):
    monkeypatch.setattr(lmdb_env, "INITIAL_MAP_SIZE", 1 << 16)
    rng = np.random.default_rng(0)
    big = []
    for i in range(40):
        sample = make_sample(i, ext="png")
        noise = rng.integers(0, 256, (64, 256, 3), dtype=np.uint8)
        sample.image = noise  # ~50 KB as PNG, incompressible
        big.append(sample)
    for name in ("a", "b"):
        sw = writers.open_writers(["lmdb"], tmp_path / name, "shards/00000", "line")
        for sample in big:
            sw.add(sample)
        assert sw.close() == {"lmdb": 40}
    data = (tmp_path / "a/lmdb/data.mdb").read_bytes()
    assert len(data) < 3 * sum(len(s.image_bytes) for s in big)  # the data, not a reservation
    assert data == (tmp_path / "b/lmdb/data.mdb").read_bytes()  # resume compares bytes
    assert [label for label, _ in _read_lmdb(tmp_path / "a/lmdb")] == [s.text for s in big]


def test_wds_read_by_webdataset_and_byte_identical(tmp_path):
    wds = pytest.importorskip("webdataset")
    samples = write_run(tmp_path / "a", ["wds"], kind="scene")
    write_run(tmp_path / "b", ["wds"], kind="scene")
    for k in ("00000", "00001"):
        a = (tmp_path / "a/shards" / k / "data.tar").read_bytes()
        assert a == (tmp_path / "b/shards" / k / "data.tar").read_bytes()
    urls = str(tmp_path / "a/shards/{00000..00001}/data.tar")  # the brace pattern works
    listed = (tmp_path / "a/wds_shards.txt").read_text().split()
    assert listed == ["shards/00000/data.tar", "shards/00001/data.tar"]
    read = list(wds.WebDataset(urls, shardshuffle=False).decode("pil"))
    assert [r["__key__"] for r in read] == [s.key for s in samples]
    for row, sample in zip(read, samples, strict=True):
        assert row["txt"] == sample.text
        assert row["jpg"].size == (sample.width, sample.height)
        assert row["json"]["texts"][0]["text"] == sample.lines[0].text
        assert "image" not in row["json"]
        # decode("pil") converts every image to RGB
        assert row["glyph.png"].getpixel((0, 0)) == (255, 255, 255)
        assert row["mask.png"].getpixel((0, 0)) == (128, 128, 128)


def _load_imagefolder(tmp_path: Path, **kwargs):
    datasets = pytest.importorskip("datasets")
    cache = tmp_path / f"hf-cache-{uuid.uuid4().hex[:6]}"
    return datasets.load_dataset("imagefolder", cache_dir=str(cache), split="train", **kwargs)


@pytest.mark.parametrize("kind", ["scene", "line"])
def test_imagefolder_one_row_per_sample_with_every_format_in_the_tree(tmp_path, kind):
    out = tmp_path / "out"
    samples = write_run(out, SCENE_FORMATS if kind == "scene" else LINE_FORMATS, kind=kind)
    ds = _load_imagefolder(tmp_path, data_dir=str(out))
    assert len(ds) == len(samples)
    assert ds["index"] == [s.index for s in samples]  # shard order
    for row, sample in zip(ds, samples, strict=True):
        assert row["text"] == sample.text
        assert row["image"].size == (sample.width, sample.height)
        assert [t["text"] for t in json.loads(row["texts"])] == [ln.text for ln in sample.lines]
        if kind == "scene":  # control images are image columns of their own
            assert row["glyph"].mode == "L" and row["glyph"].getpixel((0, 0)) == 255
            assert row["mask"].getpixel((0, 0)) == 128
        else:
            assert "glyph" not in row
    # Reading the metadata file alone (no scan of the image tree) gives the same rows, in order.
    ds2 = _load_imagefolder(tmp_path, data_files={"train": str(out / "metadata.jsonl")})
    assert ds2["index"] == [s.index for s in samples]


# -- merging -------------------------------------------------------------------------------------
def _image_path(label_line: str) -> str:
    if "\t" in label_line:  # PaddleOCR labels
        return label_line.split("\t")[0]
    row = json.loads(label_line)
    return row.get("image") or row["file_name"]


def test_merge_concatenates_shards_in_order(tmp_path):
    formats = ["jsonl", "paddle-rec", "paddle-det", "imagefolder", "anyword"]
    samples = write_run(tmp_path, formats, sizes=(2, 3, 1))
    shard_of = ["00000"] * 2 + ["00001"] * 3 + ["00002"]
    expected = [f"shards/{k}/images/{s.key}.jpg" for k, s in zip(shard_of, samples, strict=True)]
    for merged_name, shard_name in [
        ("labels.jsonl", "labels.jsonl"),
        ("rec_gt.txt", "rec_gt.txt"),
        ("det_gt.txt", "det_gt.txt"),
        ("metadata.jsonl", "imagefolder.jsonl"),
    ]:
        merged = (tmp_path / merged_name).read_text("utf-8")
        assert [_image_path(line) for line in merged.splitlines()] == expected
        parts = [(tmp_path / f"shards/{k:05d}" / shard_name).read_text("utf-8") for k in range(3)]
        assert merged == "".join(parts)
    anyword = json.loads((tmp_path / "anyword.json").read_text("utf-8"))
    assert [d["img_name"] for d in anyword["data_list"]] == expected
    assert anyword["data_root"] == str(tmp_path.resolve())


def test_merge_is_rebuilt_and_reports_missing_shards(tmp_path):
    write_run(tmp_path, ["jsonl", "lmdb"], sizes=(1, 1))
    assert writers.merge_outputs(["jsonl", "lmdb"], tmp_path, ["shards/00001"]) == [
        tmp_path / "labels.jsonl",
        tmp_path / "lmdb",
    ]
    assert len((tmp_path / "labels.jsonl").read_text("utf-8").splitlines()) == 1
    assert [p.name for p in (tmp_path / "lmdb").iterdir()] == ["00001"]
    with pytest.raises(FileNotFoundError, match="shards/00007"):
        writers.merge_outputs(["jsonl"], tmp_path, ["shards/00000", "shards/00007"])
    assert len((tmp_path / "labels.jsonl").read_text("utf-8").splitlines()) == 1  # untouched
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]

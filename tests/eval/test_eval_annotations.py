"""Annotation readers: each format, auto-detection, and bad lines recorded, not raised."""

import json

import pytest

from glyphgen.eval.annotations import AnnotationError, detect_format, read_annotations
from glyphgen.eval.config import CropConfig


def test_jsonl_as_the_factory_writes_it(tmp_path):
    rec = {
        "image": "shards/00000/images/000000007.jpg",
        "width": 200,
        "height": 48,
        "kind": "line",
        "index": 7,
        "texts": [
            {
                "text": "欢迎光临",
                "polygon": [[4, 4], [196, 4], [196, 44], [4, 44]],
                "chars": [
                    {"char": c, "quad": [[0, 0], [1, 0], [1, 1], [0, 1]], "font": "f"}
                    for c in "欢迎光临"
                ],
                "font": "noto-sans-sc",
                "size": 40,
                "color": [0, 0, 0],
                "angle": 0.0,
                "direction": "horizontal",
                "language": "Chinese",
            }
        ],
    }
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    ann = read_annotations(path)
    assert ann.format == "jsonl" and ann.images_root == tmp_path
    (sample,) = ann.samples
    assert sample.path == tmp_path / "shards/00000/images/000000007.jpg"
    assert sample.size == (200, 48)
    (region,) = sample.regions
    assert region.text == "欢迎光临" and region.font == "noto-sans-sc"
    assert region.direction == "horizontal" and len(region.char_quads or []) == 4
    assert region.polygon == [(4.0, 4.0), (196.0, 4.0), (196.0, 44.0), (4.0, 44.0)]


def test_bare_text_means_the_whole_image(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"image": "x.png", "text": "出口"}\n', encoding="utf-8")
    (sample,) = read_annotations(path, images=tmp_path / "elsewhere").samples
    assert sample.regions[0].polygon is None and sample.regions[0].text == "出口"
    assert sample.path == tmp_path / "elsewhere" / "x.png"


def test_malformed_lines_become_problems_and_the_rest_is_read(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"image": "1.png", "text": "出口"}',
                "{not json",
                '{"text": "no image"}',
                '{"image": "2.png", "texts": [{"text": "入口", "polygon": [[0, 0], ["a", 1]]}]}',
                '{"image": "3.png", "texts": "oops"}',
                "[1, 2]",
                "",
                '{"image": "4.png", "text": "停车场"}',
            ]
        ),
        encoding="utf-8",
    )
    ann = read_annotations(path)
    assert [s.image for s in ann.samples] == ["1.png", "4.png"]
    assert [p.where for p in ann.problems] == [
        "a.jsonl:2",
        "a.jsonl:3",
        "a.jsonl:4",
        "a.jsonl:5",
        "a.jsonl:6",
    ]
    assert {p.kind for p in ann.problems} == {"bad-annotation"}
    assert "missing 'image'" in ann.problems[1].message


def test_anyword_json_skips_invalid_regions(tmp_path):
    data = {
        "data_root": "imgs",
        "data_list": [
            {
                "img_name": "a.jpg",
                "caption": "a sign",
                "annotations": [
                    {
                        "polygon": [[0, 0], [10, 0], [10, 5], [0, 5]],
                        "text": "北京",
                        "language": "Chinese",
                        "valid": True,
                    },
                    {
                        "polygon": [[0, 6], [10, 6], [10, 9], [0, 9]],
                        "text": "模糊",
                        "language": "Chinese",
                        "valid": False,
                    },
                ],
            },
            "garbage",
        ],
    }
    path = tmp_path / "test1k.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    ann = read_annotations(path)
    assert ann.format == "anyword" and ann.images_root == tmp_path / "imgs"
    assert [r.text for r in ann.samples[0].regions] == ["北京"]
    assert ann.skipped == {"invalid": 1}
    assert [p.kind for p in ann.problems] == ["bad-annotation"]


def test_paddle_det_and_rec_labels(tmp_path):
    det = tmp_path / "det.txt"
    det.write_text(
        'img/1.jpg\t[{"transcription": "欢迎", "points": [[1, 1], [9, 1], [9, 5], [1, 5]]}, '
        '{"transcription": "###", "points": [[0, 0], [2, 0], [2, 2], [0, 2]]}]\n',
        encoding="utf-8",
    )
    ann = read_annotations(det)
    assert ann.format == "paddle-det" and ann.skipped == {"ignore-label": 1}
    assert [r.text for r in ann.samples[0].regions] == ["欢迎"]
    rec = tmp_path / "rec.txt"
    rec.write_text("crops/1.jpg\t北京大学\ncrops/2.jpg\t[北京]\n", encoding="utf-8")
    ann = read_annotations(rec)
    assert ann.format == "paddle-rec"
    assert [(s.image, s.regions[0].text, s.regions[0].polygon) for s in ann.samples] == [
        ("crops/1.jpg", "北京大学", None),
        ("crops/2.jpg", "[北京]", None),
    ]


def test_unreadable_files_raise_with_the_reason(tmp_path):
    with pytest.raises(AnnotationError, match="does not exist"):
        read_annotations(tmp_path / "nope.jsonl")
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes('{"image": "a.png", "text": "café"}'.encode("latin-1"))
    with pytest.raises(AnnotationError, match="not UTF-8"):
        read_annotations(bad)
    odd = tmp_path / "odd.txt"
    odd.write_text("just words\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match="--format"):
        read_annotations(odd)
    with pytest.raises(AnnotationError, match="unknown annotation format"):
        read_annotations(odd, fmt="coco")


def test_format_detection():
    from pathlib import Path

    assert detect_format(Path("a.jsonl"), '{"image": "a"}\n') == "jsonl"
    assert detect_format(Path("a.json"), '{"data_root": "", "data_list": []}') == "anyword"
    assert (
        detect_format(Path("a.txt"), 'a.jpg\t[{"transcription": "x", "points": []}]')
        == "paddle-det"
    )
    assert detect_format(Path("a.txt"), "a.jpg\tx") == "paddle-rec"


def test_crop_config_defaults_are_documented_values():
    cfg = CropConfig()
    assert cfg.vertical == "auto" and cfg.vertical_ratio == 1.5

"""Bundled fonts and the font library: no tofu, coverage that cannot be fooled, robust loading."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFont

from glyphgen.synth.config import load_config
from glyphgen.synth.runner import run
from glyphgen.typeset import charsets
from glyphgen.typeset import coverage as fonts_coverage
from glyphgen.typeset.coverage import check_face, from_ranges, sha256_file, to_ranges
from glyphgen.typeset.fonts import (
    FontFileWarning,
    FontLibrary,
    bundled_fonts_dir,
    describe,
    guess_style,
    load_manifest,
)

FONTS_DIR = bundled_fonts_dir()
EXT_A_ASSIGNED = range(0x3400, 0x4DB6)  # Ext A before Unicode 13 added U+4DB6..4DBF
EXT_B_CHAR = "\U00020000"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """User-font coverage goes to a throwaway folder, never to ~/.cache."""
    monkeypatch.setenv("GLYPHGEN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((FONTS_DIR / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def all_fonts() -> FontLibrary:
    return FontLibrary.load(split="all")


# -- tiny test fonts -----------------------------------------------------------------------------
Rect = tuple[int, int, int, int]


def _draw(rects: list[Rect]):
    pen = TTGlyphPen(None)
    for x0, y0, x1, y1 in rects:
        pen.moveTo((x0, y0))
        pen.lineTo((x0, y1))
        pen.lineTo((x1, y1))
        pen.lineTo((x1, y0))
        pen.closePath()
    return pen.glyph()


NOTDEF_BOX = [(100, 0, 900, 100), (100, 700, 900, 800), (100, 0, 200, 800), (800, 0, 900, 800)]


def _tiny_font(glyphs: dict[str, list[Rect]], cmap: dict[int, str], family: str) -> TTFont:
    """A TrueType font whose glyphs are rectangles; ``.notdef`` is a hollow box."""
    order = [".notdef", *glyphs]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(cmap)
    fb.setupGlyf({".notdef": _draw(NOTDEF_BOX), **{n: _draw(r) for n, r in glyphs.items()}})
    fb.setupHorizontalMetrics({n: (1000, 0) for n in order})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    return fb.font


def _bar(k: int) -> list[Rect]:
    """A glyph unlike any other: a bar whose height depends on k."""
    return [(100, 0, 300, 80 + 40 * k)]


def _simple_font(first_cp: int, n: int, family: str) -> TTFont:
    glyphs = {f"g{k}": _bar(k) for k in range(n)}
    return _tiny_font(glyphs, {first_cp + k: f"g{k}" for k in range(n)}, family)


# -- the bundled set --------------------------------------------------------------------------
def _render(font: ImageFont.FreeTypeFont, ch: str, size: int) -> np.ndarray:
    im = Image.new("L", (3 * size, 3 * size))
    ImageDraw.Draw(im).text((size, size), ch, font=font, fill=255)
    return np.asarray(im)


@pytest.mark.slow
def test_no_tofu_in_any_bundled_font_for_gb2312(all_fonts):
    """Every GB2312 character a bundled font claims draws ink and is not .notdef.

    Independent of the coverage check: another size, Pillow's default (raqm) layout as the
    renderer uses, arrays instead of digests, and fontTools' cmap for the glyph name.
    """
    gb = [c for c in charsets.gb2312_all() if not c.isspace()]
    size = 24
    for face in all_fonts.faces:
        font = ImageFont.truetype(str(face.path), size, index=face.index)
        tt = TTFont(face.path, fontNumber=face.index, lazy=True)
        cmap, notdef_name = tt.getBestCmap(), tt.getGlyphOrder()[0]
        notdef = _render(font, chr(0x10FFFD), size)
        claimed = [c for c in gb if ord(c) in face.coverage]
        assert all(ord(c) in face.coverage for c in charsets.gb2312_hanzi()), face.id
        bad = []
        for ch in claimed:
            img = _render(font, ch, size)
            if (
                cmap.get(ord(ch)) in (None, notdef_name)
                or not img.any()
                or np.array_equal(img, notdef)
            ):
                bad.append(ch)
        assert not bad, f"{face.id} draws tofu or nothing for {''.join(bad[:50])}"


def test_every_gb2312_character_is_in_three_train_fonts(fonts):
    assert {f.split for f in fonts.faces} == {"train"}
    thin_hanzi = [c for c in charsets.gb2312_hanzi() if len(fonts.covering(c)) < 3]
    assert len(charsets.gb2312_hanzi()) == 6763
    assert not thin_hanzi
    everything = [c for c in charsets.gb2312_all() if not c.isspace()]
    assert len(charsets.gb2312_all()) == 7445
    assert not [c for c in everything if len(fonts.covering(c)) < 3]


def test_ext_a_uro_gbk_styles_and_canonical(fonts, all_fonts):
    ext_a = [f.id for f in fonts.faces if all(cp in f.coverage for cp in EXT_A_ASSIGNED)]
    assert ext_a, "no train font covers CJK Ext A"
    uro = [f.id for f in all_fonts.faces if all(cp in f.coverage for cp in range(0x4E00, 0xA000))]
    assert uro, "no bundled font covers the whole CJK Unified Ideographs block"
    gbk = charsets.gbk_hanzi()
    assert [f for f in fonts.faces if all(ord(c) in f.coverage for c in gbk)]
    assert {"hei", "song", "kai"} <= {f.style for f in fonts.faces}
    assert fonts.canonical().id == "noto-sans-sc"
    assert fonts.canonical().split == "train"
    heldout = FontLibrary.load(split="heldout")
    assert heldout.faces and not {f.id for f in heldout.faces} & {f.id for f in fonts.faces}
    assert heldout.canonical().id == "noto-sans-sc"  # glyph-control images need it anyway


def test_manifest_matches_files_and_limits(manifest):
    entries = load_manifest(FONTS_DIR)
    assert len({e.id for e in entries}) == len(entries)
    total = 0
    for raw in manifest["fonts"]:
        path = FONTS_DIR / raw["file"]
        assert sha256_file(path) == raw["sha256"], raw["file"]
        assert path.stat().st_size == raw["bytes"] <= 15 * 1024 * 1024
        assert (FONTS_DIR / raw["coverage_cache"]).is_file()
        assert all((FONTS_DIR / p).is_file() for p in raw["licence_files"])
        assert raw["source"]["package"] and raw["source"]["version"]
        assert set(raw["coverage"]) >= {"gb2312_level1", "gb2312_level2", "ext_a", "total"}
        total += raw["bytes"]
    on_disk = sum(p.stat().st_size for p in FONTS_DIR.rglob("*") if p.is_file())
    assert total <= on_disk < 60 * 1024 * 1024


def test_subset_of_reserved_name_font_is_renamed(manifest):
    """The OFL lets no modified version of LXGW WenKai use its Reserved Font Names."""
    raw = next(f for f in manifest["fonts"] if f["source"]["package"] == "fonts-lxgw-wenkai")
    names = TTFont(FONTS_DIR / raw["file"], lazy=True)["name"]
    for rec in names.names:
        if rec.nameID in (1, 3, 4, 6, 16):
            assert "LXGW" not in rec.toUnicode() and "霞鹜" not in rec.toUnicode()


def test_bundled_load_reads_cached_coverage_and_is_picklable(fonts, monkeypatch):
    """A load of the bundled fonts checks no glyph: every face's coverage comes from the
    committed cache (fonts/coverage), which is what keeps it a few JSON reads."""
    from glyphgen.typeset import coverage

    def no_check(*args, **kwargs):
        raise AssertionError(f"coverage checked again: {args[:2]}")

    monkeypatch.setattr(coverage, "check_face", no_check)
    again = FontLibrary.load()
    assert again.faces == fonts.faces
    clone = pickle.loads(pickle.dumps(fonts))
    assert [f.id for f in clone.faces] == [f.id for f in fonts.faces]
    assert clone.covering("汉字") == fonts.covering("汉字")


# -- lookups ----------------------------------------------------------------------------------
def test_covering_fallback_and_uncovered_with_rare_characters(fonts):
    ukai = fonts.face("arphic-ukai")
    ext_a = "\u3400"
    assert ord(ext_a) not in ukai.coverage  # the kai subset stops at GB2312
    cover = fonts.covering("中文" + ext_a)
    assert cover and ukai not in cover
    assert all(ord(ext_a) in f.coverage for f in cover)
    assert ukai in fonts.covering("中文 字")

    chain = fonts.fallback_chain("中 " + ext_a, ukai)
    assert chain is not None
    assert chain[:2] == [ukai, ukai]  # whitespace stays with the preferred face
    assert chain[2] == next(f for f in fonts.faces if ord(ext_a) in f.coverage)

    text = "中" + EXT_B_CHAR + ext_a
    assert fonts.uncovered(text) == {EXT_B_CHAR}
    assert fonts.covering(text) == []
    assert fonts.fallback_chain(text, ukai) is None
    assert fonts.uncovered(" \u3000中") == set()
    assert fonts.covering(" \u3000") == fonts.faces
    assert EXT_B_CHAR not in {chr(cp) for cp in fonts.charset_union()}

    stranger = FontLibrary.load(split="heldout").faces[0]
    with pytest.raises(ValueError, match="not in this library"):
        fonts.fallback_chain("中", stranger)
    with pytest.raises(KeyError, match="no font"):
        fonts.face("no-such-font")


def test_pil_font_is_cached_and_describe_lists_faces(fonts):
    face = fonts.canonical()
    assert fonts.pil_font(face, 40) is fonts.pil_font(face, 40)
    assert fonts.pil_font(face, 40).size == 40
    with pytest.raises(ValueError, match="positive"):
        fonts.pil_font(face, 0)
    text = describe(fonts)
    for f in fonts.faces:
        assert f.id in text
    assert "3755" in text and "noto-sans-sc*" in text


# -- coverage check on fonts built here -------------------------------------------------------
def test_coverage_rejects_blank_notdef_and_shared_glyphs(tmp_path):
    glyphs = {
        "ink": _bar(1),
        "blank": [],
        "notdef_copy": NOTDEF_BOX,  # a tofu box under another name
        "placeholder": _bar(2),  # mapped from 11 code points: a catch-all box
        "twin": _bar(3),  # mapped from 3 code points: legitimate duplicates
    }
    cmap = {0x41: "ink", 0x42: "blank", 0x43: "notdef_copy", 0x44: ".notdef", 0x20: "blank"}
    cmap |= {0x4E00 + k: "placeholder" for k in range(11)}
    cmap |= {0x5000 + k: "twin" for k in range(3)}
    path = tmp_path / "tricky.ttf"
    _tiny_font(glyphs, cmap, "Tricky Test").save(path)

    cov = check_face(path, progress=False)
    assert cov.covered == {0x41, 0x20, 0x5000, 0x5001, 0x5002}  # space: blank by nature
    assert 0x42 in cov.rejected["blank"]
    assert 0x43 in cov.rejected["notdef"]
    assert 0x44 not in cov.covered
    assert cov.rejected["shared"] == set(range(0x4E00, 0x4E0B))
    assert cov.family == "Tricky Test"


def test_ranges_round_trip():
    cps = {1, 2, 3, 7, 9, 10, 0x4E00, *range(0x3400, 0x4DB6)}
    runs = to_ranges(cps)
    assert runs[:3] == [[1, 3], 7, [9, 10]]
    assert from_ranges(runs) == cps
    assert to_ranges([]) == []


def test_collection_yields_one_face_per_font(tmp_path):
    collection = TTCollection()
    collection.fonts = [
        _simple_font(0x4E00, 5, "Tiny Kai"),
        _simple_font(0x4E10, 7, "Tiny Sans"),
    ]
    folder = tmp_path / "user"
    folder.mkdir()
    collection.save(folder / "pair.ttc")
    lib = FontLibrary.load([folder], include_bundled=False)
    assert [(f.id, f.index, f.family, f.style) for f in lib.faces] == [
        ("pair-0", 0, "Tiny Kai", "kai"),
        ("pair-1", 1, "Tiny Sans", "hei"),
    ]
    assert lib.faces[0].coverage == set(range(0x4E00, 0x4E05))
    assert lib.faces[1].coverage == set(range(0x4E10, 0x4E17))
    assert all(f.split == "user" for f in lib.faces)
    assert lib.fallback_chain("\u4e00\u4e10", lib.faces[0]) == lib.faces
    assert lib.pil_font(lib.faces[1], 20).getbbox("\u4e10") is not None


def test_bad_files_are_skipped_with_a_warning_naming_them(tmp_path):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    (folder / "x.ttf").write_bytes(rng.bytes(4096))
    (folder / "y.otf").write_text("not a font, just text\n", encoding="utf-8")
    # Starts like a TrueType font, so it gets past the magic check into fontTools.
    (folder / "z.TTF").write_bytes(b"\x00\x01\x00\x00" + rng.bytes(4096))
    _simple_font(0x4E00, 4, "Real Font").save(folder / "sub" / "real.ttf")
    (folder / "notes.txt").write_text("ignored: not a font suffix", encoding="utf-8")

    with pytest.warns(FontFileWarning) as caught:
        lib = FontLibrary.load([folder], include_bundled=False)
    messages = " | ".join(str(w.message) for w in caught)
    for name in ("x.ttf", "y.otf", "z.TTF"):
        assert name in messages
    assert "skipped" in messages and "notes.txt" not in messages
    assert [f.id for f in lib.faces] == ["real"]


def _garbled_font(path, first_cp: int, n: int) -> None:
    """A font whose tables parse but whose last glyph's outline data is garbage: FreeType
    fails drawing it ("invalid outline", "array allocation size too large")."""
    _simple_font(first_cp, n, "Garbled").save(path)
    data = bytearray(path.read_bytes())
    font = TTFont(path)
    glyf = font.reader.tables["glyf"].offset
    loca = font["loca"]
    last = len(font.getGlyphOrder()) - 1
    start, stop = glyf + loca[last], glyf + loca[last + 1]
    data[start + 10 : stop] = b"\xff" * (stop - start - 10)  # after the header: contours, points
    path.write_bytes(bytes(data))


def test_a_font_whose_glyphs_fail_to_draw_is_skipped_with_its_reason(tmp_path):
    folder = tmp_path / "user"
    folder.mkdir()
    _garbled_font(folder / "garbled.ttf", 0x4E00, 6)
    _simple_font(0x4E10, 4, "Fine Font").save(folder / "fine.ttf")
    with pytest.raises(fonts_coverage.NotAFontError, match=r"garbled\.ttf face 0: drawing its"):
        check_face(folder / "garbled.ttf", progress=False)
    with pytest.warns(FontFileWarning, match=r"garbled\.ttf"):
        lib = FontLibrary.load([folder], include_bundled=False)
    assert [f.id for f in lib.faces] == ["fine"]
    assert list(lib.skipped) == [str(folder / "garbled.ttf")]
    assert "drawing its glyphs failed" in lib.skipped[str(folder / "garbled.ttf")]


def test_a_run_goes_on_past_a_damaged_font_and_reports_it(tmp_path):
    folder = tmp_path / "user"
    folder.mkdir()
    _garbled_font(folder / "garbled.ttf", 0x4E00, 6)
    (folder / "notes.ttf").write_text("not a font", encoding="utf-8")
    cfg = load_config(
        preset="lines",
        overrides=["text.length=[2, 4]", "line.height=32"],
        extra={"num": 3, "fonts": {"dirs": [str(folder)]}},
    )
    with pytest.warns(FontFileWarning):
        report = run(cfg, tmp_path / "out", progress=False)
    assert report.samples_written == 3
    saved = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert sorted(saved["fonts_skipped"]) == [
        str(folder / "garbled.ttf"),
        str(folder / "notes.ttf"),
    ]
    assert "2 font file(s) skipped" in report.summary()


def test_user_fonts_are_added_to_bundled_and_cached(tmp_path, monkeypatch, fonts):
    folder = tmp_path / "user"
    folder.mkdir()
    _simple_font(0x20000, 3, "Ext B Test").save(folder / "extb.ttf")
    lib = FontLibrary.load([folder])
    assert len(lib.faces) == len(fonts.faces) + 1
    assert lib.uncovered("中" + EXT_B_CHAR) == set()
    assert [f.id for f in lib.fallback_chain("中" + EXT_B_CHAR, lib.faces[0])] == [
        lib.faces[0].id,
        "extb",
    ]
    cached = list((tmp_path / "cache" / "coverage").glob("*.json"))
    assert len(cached) == 1

    def no_check(*args, **kwargs):
        raise AssertionError("coverage should come from the cache")

    monkeypatch.setattr(fonts_coverage, "check_face", no_check)
    assert FontLibrary.load([folder]).face("extb").coverage == lib.face("extb").coverage


def test_empty_or_missing_folders_raise_clear_errors(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=f"no usable font found; searched: {empty}"):
        FontLibrary.load([empty], include_bundled=False)
    with pytest.raises(ValueError, match="does not exist"):
        FontLibrary.load([tmp_path / "missing"])
    with pytest.raises(ValueError, match="unknown font split"):
        FontLibrary.load(split="validation")
    monkeypatch.setenv("GLYPHGEN_FONTS_DIR", str(empty))
    with pytest.raises(FileNotFoundError, match="manifest"):
        FontLibrary.load()


def test_style_guess_from_family_names():
    assert guess_style("AR PL UKai CN") == "kai"
    assert guess_style("Noto Serif CJK SC") == "song"
    assert guess_style("AR PL UMing CN") == "song"
    assert guess_style("Source Han Sans SC") == "hei"
    assert guess_style("WenQuanYi Zen Hei") == "hei"
    assert guess_style("Something") == "other"


def test_with_files_adds_a_font_files_faces_through_the_coverage_check(fonts, tmp_path):
    from glyphgen.typeset.fonts import bundled_fonts_dir

    wenkai = bundled_fonts_dir() / "wenkai.ttf"  # held out: not in the train library
    more = fonts.with_files([wenkai], progress=False)
    face = more.file_face(wenkai)
    assert face.split == "user" and face.coverage
    assert [f.id for f in more.faces][: len(fonts.faces)] == [f.id for f in fonts.faces]
    # a bundled face given by its path is not added twice
    again = more.with_files([fonts.faces[0].path], progress=False)
    assert len(again.faces) == len(more.faces)
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font")
    with pytest.raises(ValueError, match=r"junk\.ttf gives no usable face"):
        fonts.with_files([junk], progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        fonts.with_files([tmp_path / "none.ttf"], progress=False)


def test_system_fonts_come_from_fontconfig_or_nothing(monkeypatch):
    import shutil

    from glyphgen.typeset import fonts as fonts_module

    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert fonts_module.system_font_files() == []

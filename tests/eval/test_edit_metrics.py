"""The style-edit benchmark's figures, each on a tiny case whose value is worked out by hand."""

import math

import numpy as np
import pytest

from glyphgen.eval import edit_metrics as em

# -- residue -----------------------------------------------------------------------------


def test_residue_when_the_reading_is_closer_to_the_old_text():
    # A = 北京大学, B = 南京大学. Reading 北京大学: d(A) = 0 < d(B) = 1. Only-A characters: {北};
    # the reading has one 北.
    r = em.old_text_residue("北京大学", "北京大学", "南京大学")
    assert r == em.Residue(residue=True, to_a=0, to_b=1, old_chars=1)


def test_a_tie_is_not_residue():
    # Reading 西京大学 is one substitution from each of A and B.
    r = em.old_text_residue("西京大学", "北京大学", "南京大学")
    assert (r.residue, r.to_a, r.to_b, r.old_chars) == (False, 1, 1, 0)


def test_old_chars_count_a_multiset_of_a_only_characters():
    # A = 天天向上, B = 向上: only-A multiset {天: 2}. The reading 天天天 has three 天, two count.
    assert em.old_text_residue("天天天", "天天向上", "向上").old_chars == 2
    # Characters A shares with B are never counted: 上 is in B.
    assert em.old_text_residue("上上", "天上", "上海").old_chars == 0


def test_residue_summary_is_a_share_and_a_total():
    rs = [
        em.old_text_residue("北京", "北京", "南京"),  # residue, 1 old char
        em.old_text_residue("南京", "北京", "南京"),  # clean
        em.old_text_residue("北北", "北京", "南京"),  # d(A)=1 < d(B)=2: residue, 1 old char
        em.old_text_residue("", "北京", "南京"),  # tie at 2: clean
    ]
    assert em.residue_summary(rs) == em.ResidueSummary(edits=4, share=0.5, old_chars=2)
    with pytest.raises(ValueError, match="at least one"):
        em.residue_summary([])


# -- colour ------------------------------------------------------------------------------

# Sharma, Wu & Dalal 2005, Table 1: (L1, a1, b1), (L2, a2, b2), dE00. Pairs 1, 7, 9-15 (hue
# angles either side of 0/360 and neutral colours), 17, 19, 25, 33, 34.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0010), 7.1792),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0011), 7.2195),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0012), 7.2195),
    ((50.0, -0.001, 2.49), (50.0, 0.0009, -2.49), 4.8045),
    ((50.0, -0.001, 2.49), (50.0, 0.0010, -2.49), 4.8045),
    ((50.0, -0.001, 2.49), (50.0, 0.0011, -2.49), 4.7461),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA)
def test_ciede2000_matches_sharma_test_data(lab1, lab2, expected):
    assert em.ciede2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)
    # The formula is symmetric.
    assert em.ciede2000(np.array(lab2), np.array(lab1)) == pytest.approx(expected, abs=1e-4)


def test_ciede2000_is_vectorised():
    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    assert em.ciede2000(lab1, lab2) == pytest.approx([p[2] for p in SHARMA], abs=1e-4)


def test_srgb_to_lab_known_colours():
    lab = em.srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [128, 128, 128], [255, 0, 0]]))
    assert lab[0] == pytest.approx([100, 0, 0], abs=1e-9)
    assert lab[1] == pytest.approx([0, 0, 0], abs=1e-9)
    # Grey 128: linear 0.2159, L* = 116 * 0.2159^(1/3) - 16 = 53.59; a grey has no chroma.
    assert lab[2] == pytest.approx([53.59, 0, 0], abs=0.01)
    # sRGB red is the textbook (53.24, 80.09, 67.20), to the matrix's 4 decimals.
    assert lab[3] == pytest.approx([53.24, 80.09, 67.20], abs=0.05)


def _image(value, h=4, w=4):
    return np.full((h, w, 3), value, np.uint8)


def test_text_colour_error_between_mean_colours_under_b():
    truth = _image(255)
    output = _image(255)
    glyph = np.zeros((4, 4), np.uint8)
    glyph[1:3, 1:3] = 255  # four glyph pixels
    glyph[0, 0] = 100  # anti-aliased fringe below half coverage: left out
    truth[1:3, 1:3] = (0, 0, 0)
    output[1:3, 1:3] = (0, 0, 0)
    output[0, 0] = (255, 0, 0)  # outside the glyph: does not count
    assert em.text_colour_error(output, truth, glyph) == 0.0
    # Two of the four glyph pixels grey 128 instead of black: mean L* 53.585 / 2 = 26.79 vs 0,
    # a, b 0 for both. dE00 for a pure lightness difference is dL / S_L with mean L 13.40,
    # S_L = 1 + 0.015 (13.40 - 50)^2 / sqrt(20 + (13.40 - 50)^2) = 1.5450: 26.79 / 1.5450 = 17.34.
    output[1, 1:3] = 128
    assert em.text_colour_error(output, truth, glyph) == pytest.approx(17.34, abs=0.01)


def test_text_colour_error_refuses_an_empty_glyph():
    with pytest.raises(ValueError, match="no pixel at half coverage"):
        em.text_colour_error(_image(0), _image(0), np.full((4, 4), 100, np.uint8))


def test_median_p90():
    # 1..10: median 5.5; 90th percentile at rank 0.9 * 9 = 8.1 -> 9 + 0.1 * (10 - 9) = 9.1.
    assert em.median_p90(range(1, 11)) == pytest.approx((5.5, 9.1))


# -- fidelity ----------------------------------------------------------------------------

SQUARE = np.array([[1, 1], [3, 1], [3, 3], [1, 3]], float)  # covers pixels 1..3 x 1..3


def test_identical_images_score_perfectly():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    region = np.array([[3, 3], [12, 3], [12, 10], [3, 10]], float)
    glyph = np.zeros((16, 16), bool)
    glyph[5:8, 5:9] = True
    f = em.edit_figures(img, img.copy(), region, glyph, "北京", "南京", "南京")
    assert f.psnr == math.inf
    assert f.background_psnr == math.inf
    assert f.ssim == 1.0
    assert f.colour_error == 0.0
    assert f.cast == 0.0
    assert f.seam == 0.0
    assert f.residue.residue is False


def test_region_psnr_over_the_bounding_box():
    truth = _image(100, 6, 6)
    output = truth.copy()
    output[2, 2] = (110, 110, 110)  # one pixel off by 10 inside the 3x3 box (pixels 1..3)
    output[5, 5] = 0  # outside the box: ignored
    # MSE = 3 channels * 100 / (9 pixels * 3 channels) = 100 / 9;
    # PSNR = 10 log10(65025 * 9 / 100) = 10 log10(5852.25) = 37.67 dB.
    assert em.region_psnr(output, truth, SQUARE) == pytest.approx(37.673, abs=1e-3)


def test_region_accepts_a_mask_as_well_as_a_polygon():
    truth = _image(100, 6, 6)
    output = truth.copy()
    output[2, 2] = 110
    mask = np.zeros((6, 6), bool)
    mask[1:4, 1:4] = True
    assert em.region_psnr(output, truth, mask) == em.region_psnr(output, truth, SQUARE)


def test_ssim_of_flat_images_is_the_luminance_term():
    # Flat images: no variance, so SSIM = (2 mx my + C1) / (mx^2 + my^2 + C1) with
    # C1 = 2.55^2 = 6.5025: (2*100*110 + 6.5025) / (100^2 + 110^2 + 6.5025) = 0.995476.
    # The 4x4 box is mirrored to 11x11 first; a flat image stays flat.
    assert em.region_ssim(_image(110), _image(100), np.ones((4, 4), bool)) == pytest.approx(
        0.995476, abs=1e-6
    )


def test_ssim_matches_the_reference_definition():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (20, 24))
    y = np.clip(x + rng.normal(0, 20, x.shape), 0, 255)
    ref = skimage_metrics.structural_similarity(
        x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert em.ssim(x, y) == pytest.approx(ref, abs=1e-9)


def test_ssim_is_on_luminance():
    # Swapping red and green changes the colour but, for R = G, not the luma: SSIM stays 1.
    truth = _image(0, 12, 12)
    truth[..., 0] = 50
    truth[..., 1] = 50
    output = truth.copy()
    output[..., 2] = 0
    assert em.region_ssim(output, truth, np.ones((12, 12), bool)) == 1.0
    output[..., 0] = 60  # luma rises by 0.299 * 10
    assert em.region_ssim(output, truth, np.ones((12, 12), bool)) < 1.0


def test_background_psnr_leaves_out_b_and_its_fringe():
    truth = _image(100, 8, 8)
    output = truth.copy()
    glyph = np.zeros((8, 8), bool)
    glyph[4, 4] = True
    region = np.ones((8, 8), bool)
    # Inside the glyph grown by 1 px (pixels 3..5 x 3..5): any error is ignored.
    output[3:6, 3:6] = 0
    assert em.background_psnr(output, truth, region, glyph, dilate=1) == math.inf
    # One background pixel off by 5: 64 - 9 = 55 background pixels.
    # MSE = 25 / 55; PSNR = 10 log10(65025 * 55 / 25) = 51.56 dB.
    output[0, 0] = 105
    assert em.background_psnr(output, truth, region, glyph, dilate=1) == pytest.approx(
        10 * math.log10(255**2 * 55 / 25)
    )


def test_halo_psnr_judges_only_the_ring_just_outside_b():
    truth = _image(100, 12, 12)
    ink = np.zeros((12, 12), bool)
    ink[6, 6] = True
    output = truth.copy()
    output[0, 0] = 0  # far from B: background, not halo
    output[6, 6] = 0  # B's own stroke: not halo either
    assert em.halo_psnr(output, truth, ink, reach=2, dilate=1) == math.inf
    # the ring: grown by 1 (3x3) out to 3 (7x7): 49 - 9 = 40 pixels, one of them off by 5
    output[8, 8] = 105
    want = 10 * math.log10(255**2 * 40 / 25)
    assert em.halo_psnr(output, truth, ink, reach=2, dilate=1) == pytest.approx(want)
    assert math.isnan(em.halo_psnr(output, truth, np.ones((12, 12), bool), reach=2, dilate=1))


def test_background_psnr_refuses_a_region_all_glyph():
    glyph = np.ones((4, 4), bool)
    with pytest.raises(ValueError, match="no background"):
        em.background_psnr(_image(0), _image(0), np.ones((4, 4), bool), glyph)


def test_seam_is_the_step_the_output_adds_at_the_border():
    # 4 rows x 6 columns, region = columns 0-2, rings 1 px wide: inner ring column 2 (the image
    # edge does not erode), outer ring column 3, border pixels column 2.
    region = np.zeros((4, 6), bool)
    region[:, :3] = True
    truth = _image(110, 4, 6)
    output = truth.copy()
    output[:, :3] = 100
    output[:, 3:] = 120
    # Output: at each border pixel, inner mean 100, outer mean 120: step 20. Truth: 0.
    assert em.border_step(output, region, width=1) == 20.0
    assert em.seam_step(output, truth, region, width=1) == 20.0
    # A step that is in the ground truth too is no seam.
    assert em.seam_step(output, output.copy(), region, width=1) == 0.0


def test_seam_step_averages_over_channels():
    region = np.zeros((4, 6), bool)
    region[:, :3] = True
    img = _image(0, 4, 6)
    img[:, 3:, 0] = 30  # only red steps, by 30: mean over R, G, B = 10
    assert em.border_step(img, region, width=2) == pytest.approx(10.0)


def test_seam_refuses_a_region_with_no_outside():
    with pytest.raises(ValueError, match="no seam"):
        em.border_step(_image(0), np.ones((4, 4), bool))


def test_colour_cast_is_the_chroma_difference():
    grey = _image(128)
    assert em.colour_cast(grey, grey.copy(), SQUARE) == 0.0
    # Red in all 9 region pixels: C*ab = hypot(80.09, 67.20) = 104.55 vs 0 for grey.
    red = grey.copy()
    red[1:4, 1:4] = (255, 0, 0)
    assert em.colour_cast(red, grey, SQUARE) == pytest.approx(104.55, abs=0.05)
    assert em.colour_cast(grey, red, SQUARE) == pytest.approx(-104.55, abs=0.05)


def test_a_grey_photo_edited_in_grey_has_no_cast():
    rng = np.random.default_rng(2)
    grey = np.repeat(rng.integers(0, 256, (8, 8, 1), dtype=np.uint8), 3, axis=2)
    other = np.repeat(rng.integers(0, 256, (8, 8, 1), dtype=np.uint8), 3, axis=2)
    assert em.colour_cast(other, grey, np.ones((8, 8), bool)) == pytest.approx(0, abs=1e-9)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="same size"):
        em.region_psnr(_image(0, 4, 4), _image(0, 4, 5), SQUARE)
    with pytest.raises(ValueError, match="RGB uint8"):
        em.region_psnr(np.zeros((4, 4)), np.zeros((4, 4)), SQUARE)
    with pytest.raises(ValueError, match="covers no pixel"):
        em.region_psnr(_image(0), _image(0), SQUARE + 100)
    with pytest.raises(ValueError, match="polygon"):
        em.region_psnr(_image(0), _image(0), np.zeros((3, 3)))


# -- paired bootstrap --------------------------------------------------------------------


def test_bootstrap_of_a_constant_difference_is_that_constant():
    a = np.array([3.0, 5.0, 9.0, 1.0])
    iv = em.paired_bootstrap(a, a - 2, np.random.default_rng(0), resamples=500)
    assert (iv.mean_difference, iv.low, iv.high) == (2.0, 2.0, 2.0)


def test_bootstrap_interval_of_two_edits():
    # Differences (0, 1): a resample's mean is 0, 0.5 or 1 with chances 1/4, 1/2, 1/4, so the
    # 2.5th and 97.5th percentiles of many resamples are 0 and 1.
    iv = em.paired_bootstrap([0.0, 1.0], [0.0, 0.0], np.random.default_rng(0), resamples=4000)
    assert (iv.mean_difference, iv.low, iv.high) == (0.5, 0.0, 1.0)


def test_bootstrap_is_paired_and_reproducible():
    rng = np.random.default_rng(3)
    hardness = rng.normal(30, 10, 200)  # shared by both rows: pairing cancels it
    first, second = hardness + 1.0 + rng.normal(0, 0.1, 200), hardness
    iv = em.paired_bootstrap(first, second, np.random.default_rng(7))
    assert 0.95 < iv.low < 1.0 < iv.high < 1.05
    assert iv == em.paired_bootstrap(first, second, np.random.default_rng(7))


def test_bootstrap_refuses_inf_and_unpaired_rows():
    with pytest.raises(ValueError, match="cap or drop"):
        em.paired_bootstrap([math.inf, 1.0], [1.0, 1.0], np.random.default_rng(0))
    with pytest.raises(ValueError, match="same edits"):
        em.paired_bootstrap([1.0, 2.0], [1.0], np.random.default_rng(0))

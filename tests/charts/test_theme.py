"""The shared palette: readable on white, distinct for colour-blind readers, stable colours per category."""

import itertools

import numpy as np
import pytest

from charts import theme

#: Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color vision
#: deficiency", IEEE TVCG 15(6), Table 1 at severity 1.0: linear-RGB matrices of full protanopia,
#: deuteranopia and tritanopia.
CVD = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def _linear(hex_color: str) -> np.ndarray:
    srgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def contrast_with_white(hex_color: str) -> float:
    """WCAG 2.1 contrast ratio (L_white + 0.05) / (L + 0.05), L the relative luminance."""
    luminance = float(_linear(hex_color) @ [0.2126, 0.7152, 0.0722])
    return 1.05 / (luminance + 0.05)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of a linear-RGB colour (sRGB primaries)."""
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    t = xyz @ np.clip(linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_contrast_helper_matches_wcag_examples():
    # WCAG's extremes and a published pair: #767676 is the lightest grey with 4.5:1 on white.
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#FFFFFF") == pytest.approx(1.0)
    assert contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("color", [*theme.PALETTE, theme.MUTED])
def test_every_palette_colour_stands_out_from_the_white_background(color):
    """WCAG 2.1 success criterion 1.4.11 asks 3:1 for the graphical objects a chart is read by."""
    assert contrast_with_white(color) >= 3.0, color


def test_the_old_palette_would_have_failed():
    """The check has teeth: the grey and the yellow that the palette used to hold fall well below 3:1."""
    assert contrast_with_white("#DDDDDD") < 1.5 and contrast_with_white("#F0E442") < 1.5


@pytest.mark.parametrize("vision", list(CVD))
def test_every_pair_of_palette_colours_stays_apart_under_colour_vision_deficiencies(vision):
    """CIE76 ΔE ≥ 10 between any two of the twelve colours (ΔE ≈ 2.3 is a just-noticeable difference)."""
    lab = {color: _lab(CVD[vision] @ _linear(color)) for color in theme.PALETTE}
    distances = {(a, b): float(np.linalg.norm(lab[a] - lab[b])) for a, b in itertools.combinations(lab, 2)}
    closest = min(distances, key=distances.get)
    assert distances[closest] >= 10, (vision, closest, distances[closest])


def test_ten_classes_get_ten_colours_and_the_template_uses_the_palette():
    assert len(set(theme.color_map([str(d) for d in range(10)]).values())) == 10
    assert len(set(theme.PALETTE)) == len(theme.PALETTE) == 12
    assert theme.TEMPLATE.layout.colorway == theme.PALETTE


def test_a_category_keeps_its_colour_when_others_come_or_go():
    order = ["crowd", "expert", "vendor"]
    before = theme.color_map(["crowd", "expert", "vendor"], order=order)
    # a new cohort appears (appended to the store's order) and a filter hides another
    after = theme.color_map(["expert", "inhouse", "vendor"], order=[*order, "inhouse"])
    assert after["expert"] == before["expert"] and after["vendor"] == before["vendor"]
    assert after["inhouse"] not in before.values()
    # the sorted default would have moved "expert" and "vendor": the reason for ``order``
    assert theme.color_map(["crowd", "expert", "inhouse", "vendor"])["vendor"] != before["vendor"]


def test_categories_outside_the_order_follow_it_sorted():
    colours = theme.color_map(["z", "b", "a"], order=["b"])
    assert colours == {"b": theme.PALETTE[0], "a": theme.PALETTE[1], "z": theme.PALETTE[2]}

"""The synthetic rat renderer, its montage and the `synth` commands."""

from __future__ import annotations

import numpy as np
import pytest

from direction_tagger import cli, geometry, io
from direction_tagger.data import synth
from direction_tagger.montage import save_montage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAST = io.FRAME_SIZE - 1


@pytest.fixture(scope="module")
def labelled():
    return synth.make_labelled_set(400, seed=11)


@pytest.fixture(scope="module")
def movie():
    # 40 s: long enough for walks, pauses, turns and a few turn-arounds
    return synth.make_movie(1200, seed=5, fps=30.0)


def bilinear(images: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Grey level (N, K) of each frame at (N, K, 2) (x, y) points, pixel centres at integers."""
    x, y = points[..., 0], points[..., 1]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    frame = np.arange(len(images))[:, None]

    def at(r, c):
        return images[frame, np.clip(r, 0, LAST), np.clip(c, 0, LAST)].astype(float)

    return (
        at(y0, x0) * (1 - fx) * (1 - fy)
        + at(y0, x0 + 1) * fx * (1 - fy)
        + at(y0 + 1, x0) * (1 - fx) * fy
        + at(y0 + 1, x0 + 1) * fx * fy
    )


def contrast_at_labels(images, locs):
    """Grey level at each label minus the frame's median (the floor covers most of a frame)."""
    median = np.median(images.reshape(len(images), -1), axis=1)[:, None]
    return bilinear(images, locs) - median


def test_shapes_and_types(labelled):
    images, locs = labelled
    assert images.shape == (400, 50, 50) and images.dtype == np.uint8
    assert locs.shape == (400, 3, 2) and locs.dtype == np.float32
    assert images.std() > 10  # not blank


@pytest.mark.parametrize("kind", ["labelled", "movie"])
def test_labels_inside_frame_with_margin(kind, labelled, movie):
    _, locs = labelled if kind == "labelled" else movie
    assert np.isfinite(locs).all()
    assert locs.min() >= 2.0 - 1e-4 and locs.max() <= LAST - 2.0 + 1e-4


def test_same_seed_same_bytes_other_seed_differs():
    a_img, a_locs = synth.make_labelled_set(50, seed=3)
    b_img, b_locs = synth.make_labelled_set(50, seed=3)
    c_img, c_locs = synth.make_labelled_set(50, seed=4)
    assert a_img.tobytes() == b_img.tobytes() and a_locs.tobytes() == b_locs.tobytes()
    assert a_img.tobytes() != c_img.tobytes() and not np.allclose(a_locs, c_locs)
    m1, l1 = synth.make_movie(60, seed=3)
    m2, l2 = synth.make_movie(60, seed=3)
    m3, _ = synth.make_movie(60, seed=4)
    assert m1.tobytes() == m2.tobytes() and l1.tobytes() == l2.tobytes()
    assert m1.tobytes() != m3.tobytes()


@pytest.mark.parametrize("polarity, sign", [("dark", -1.0), ("light", 1.0)])
def test_labels_sit_on_the_drawn_animal(polarity, sign):
    images, locs = synth.make_labelled_set(300, seed=21, polarity=polarity)
    on_animal = sign * contrast_at_labels(images, locs) > 0
    base, neck, nose = on_animal.mean(axis=0)
    assert base > 0.95 and neck > 0.95
    assert nose > 0.9  # the nose tip is thin and blurs into the floor more often


def test_both_polarities_occur(labelled):
    images, locs = labelled
    light = contrast_at_labels(images, locs)[:, 1] > 0  # the neck is always on the body
    assert 0.3 < light.mean() < 0.7


def test_body_length_range(labelled):
    _, locs = labelled
    straight = np.linalg.norm(locs[:, 2] - locs[:, 0], axis=1)
    path = np.linalg.norm(locs[:, 1] - locs[:, 0], axis=1) + np.linalg.norm(
        locs[:, 2] - locs[:, 1], axis=1
    )
    assert path.max() <= 30.0 + 1e-3  # the chord never exceeds the path along the body
    assert 17.0 < np.median(straight) < 25.0
    assert np.percentile(straight, 5) > 11.0 and np.percentile(straight, 95) > 26.0
    headings = geometry.body_direction(locs)
    assert np.histogram(headings, bins=8, range=(0, 360))[0].min() > 0.05 * len(locs)


def test_movie_never_teleports(movie):
    _, locs = movie
    step = np.linalg.norm(np.diff(locs, axis=0), axis=2)
    assert step.max() <= 3.0 + 1e-4
    _, slow = synth.make_movie(120, seed=5, fps=15.0)
    assert np.linalg.norm(np.diff(slow, axis=0), axis=2).max() <= 6.0 + 1e-4


def test_movie_moves_like_an_animal(movie):
    _, locs = movie
    heading = np.unwrap(np.radians(geometry.body_direction(locs)))
    turn = np.degrees(np.abs(np.diff(heading)))
    assert turn.max() < 20.0  # no jumps in heading
    assert np.degrees(np.abs(np.diff(heading)).sum()) > 720.0  # it keeps turning
    octants = np.histogram(geometry.body_direction(locs), bins=8, range=(0, 360))[0]
    assert (octants > 0).sum() >= 6  # and faces many ways
    # turn-arounds: heading changes by >= 150 degrees within 1.2 s, continuously
    window = 36
    swing = np.degrees(np.abs(heading[window:] - heading[:-window]))
    assert swing.max() >= 150.0
    # pauses: stretches of >= 0.5 s where no keypoint moves more than half a pixel a frame
    step = np.linalg.norm(np.diff(locs, axis=0), axis=2).max(axis=1)
    still_runs = np.convolve(step < 0.5, np.ones(15), mode="valid") == 15
    assert still_runs.any()
    assert (step > 1.0).mean() > 0.05  # and it is not always still
    # posture changes too: nose-base length varies during the movie
    length = np.linalg.norm(locs[:, 2] - locs[:, 0], axis=1)
    assert length.max() - length.min() > 5.0


def test_movie_look_is_fixed_noise_is_fresh():
    images, _ = synth.make_movie(
        40, seed=8, polarity="light", blur_range=(0.5, 0.5), noise_range=(4.0, 4.0)
    )
    median = np.median(images.reshape(len(images), -1), axis=1)
    assert np.ptp(median) < 25  # same floor all movie long
    corners = images[:, :4, :4].astype(float)
    assert np.abs(np.diff(corners, axis=0)).mean() > 1.0  # fresh noise each frame


def test_cli_labelled_round_trip(tmp_path):
    out, png = tmp_path / "set.npz", tmp_path / "set.png"
    args = [
        "synth",
        "labelled",
        "--n",
        "40",
        "--seed",
        "3",
        "--out",
        str(out),
        "--montage",
        str(png),
    ]
    assert cli.main(args) == 0
    loaded = io.load_labelled(out)
    images, locs = synth.make_labelled_set(40, seed=3)
    np.testing.assert_array_equal(loaded.images, images)
    np.testing.assert_array_equal(loaded.locs, locs)
    assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 20_000


def test_cli_movie_round_trip(tmp_path):
    out = tmp_path / "movie.npz"
    args = ["synth", "movie", "--frames", "50", "--seed", "2", "--fps", "25", "--out", str(out)]
    assert cli.main(args) == 0
    loaded = io.load_movie(out)
    assert loaded.images.shape == (50, 50, 50) and loaded.fps == pytest.approx(25.0)
    assert loaded.locs is not None and loaded.locs.shape == (50, 3, 2)


def test_montage_with_predictions_and_titles(tmp_path, labelled):
    images, locs = labelled
    path = tmp_path / "worst.png"
    save_montage(
        path,
        images[:10],
        locs[:10],
        pred=locs[:10] + 1.5,
        titles=[f"#{i}" for i in range(10)],
        ncols=4,
    )
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["worst.png"]  # no temporary left behind


# --- mice and widened looks (what the pretrained start model learns from) ---------------


def test_rat_and_standard_are_the_original_frames():
    a = synth.make_labelled_set(30, seed=5)
    b = synth.make_labelled_set(30, seed=5, species="rat", variety="standard")
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    with pytest.raises(ValueError, match="species must be one of"):
        synth.make_labelled_set(3, seed=0, species="hamster")


@pytest.mark.parametrize("polarity, sign", [("dark", -1.0), ("light", 1.0)])
def test_wide_mice_and_rats_have_their_labels_on_the_animal(polarity, sign):
    images, locs = synth.make_labelled_set(
        300, seed=2, polarity=polarity, species="mixed", variety="wide"
    )
    assert locs.min() >= 2.0 - 1e-4 and locs.max() <= LAST - 2.0 + 1e-4
    on_animal = sign * contrast_at_labels(images, locs) > 0
    base, neck, nose = on_animal.mean(axis=0)
    # fainter, blurrier, unevenly lit frames than the standard ones, still mostly on the body
    assert base > 0.85 and neck > 0.85 and nose > 0.75


def test_mice_have_a_larger_head_for_their_size():
    _, rats = synth.make_labelled_set(400, seed=1, species="rat")
    _, mice = synth.make_labelled_set(400, seed=1, species="mouse")

    def head_share(locs):  # nose-neck over nose-neck + neck-base, along the body
        head = np.linalg.norm(locs[:, 2] - locs[:, 1], axis=1)
        return np.median(head / (head + np.linalg.norm(locs[:, 1] - locs[:, 0], axis=1)))

    assert head_share(mice) > head_share(rats) + 0.03


def test_pretraining_frames_vary_widely():
    images, locs = synth.make_pretraining_set(600, seed=4)
    standard, _ = synth.make_labelled_set(600, seed=4)
    light = contrast_at_labels(images, locs)[:, 1] > 0
    assert 0.3 < light.mean() < 0.7  # both polarities
    # a wider spread of contrast and of brightness across the frame (uneven light)
    contrast = np.abs(contrast_at_labels(images, locs)[:, 1])
    assert np.percentile(contrast, 5) < np.percentile(
        np.abs(contrast_at_labels(standard, synth.make_labelled_set(600, seed=4)[1])[:, 1]), 5
    )
    halves = images[:, :, :25].mean((1, 2)) - images[:, :, 25:].mean((1, 2))
    standard_halves = standard[:, :, :25].mean((1, 2)) - standard[:, :, 25:].mean((1, 2))
    assert np.abs(halves).mean() > 1.3 * np.abs(standard_halves).mean()
    # strips filled flat along an edge (a crop past the video's edge), never near a label
    flat = [
        (i, side)
        for i in range(len(images))
        for side, strip in enumerate(
            (images[i, :, :2], images[i, :2, :], images[i, :, -2:], images[i, -2:, :])
        )
        if np.ptp(strip) == 0
    ]
    assert 0.05 < len(flat) / len(images) < 0.25
    for i, side in flat:
        x, y = locs[i, :, 0], locs[i, :, 1]
        room = (x.min(), y.min(), LAST - x.max(), LAST - y.max())[side]
        assert room >= 2.0 + 1.0  # the strip is at least 1 px wide and 2 px from every label


def test_cli_labelled_mice(tmp_path):
    out = tmp_path / "mice.npz"
    args = ["synth", "labelled", "--n", "20", "--seed", "1", "--species", "mouse"]
    assert cli.main([*args, "--variety", "wide", "--out", str(out)]) == 0
    loaded = io.load_labelled(out)
    images, _ = synth.make_labelled_set(20, seed=1, species="mouse", variety="wide")
    np.testing.assert_array_equal(loaded.images, images)


def test_widened_walls_stay_in_view_and_corners_are_square():
    from direction_tagger.data.synth.appearance import sample_appearance, widen_appearance

    rng = np.random.default_rng(0)
    app = widen_appearance(sample_appearance(2000, rng), rng, np.zeros(2000, bool))
    centre = np.array([(io.FRAME_SIZE - 1) / 2] * 2)
    for c, r, amp in (
        (app.wall_c, app.wall_r, app.wall_amp),
        (app.wall2_c, app.wall2_r, app.wall2_amp),
    ):
        shown = amp != 0
        assert 0.1 < shown.mean() < 0.6
        edge = r[shown] - np.linalg.norm(c[shown] - centre, axis=1)  # edge to frame centre, px
        assert edge.min() >= 10.0 - 1e-6 and edge.max() <= 30.0 + 1e-6
    assert app.wall_r.max() > 1000 and app.wall_r.min() < 100  # straight to gently curved
    both = (app.wall_amp != 0) & (app.wall2_amp != 0)
    assert both.sum() > 20
    a, b = app.wall_c[both] - centre, app.wall2_c[both] - centre
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert np.abs(cosine).max() < 1e-6  # the two walls of a corner meet at a right angle

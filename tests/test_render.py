"""Tagged video: decodes at the right size and frame count, shows what it claims, atomic."""

import numpy as np
import pytest

from direction_tagger.movies import render
from direction_tagger.movies.colours import KEYPOINT_COLOURS, confidence_colour
from direction_tagger.movies.render import render_video
from direction_tagger.movies.video_io import read_video_frames

SCALE = 8


def still_movie(m=6, seed=0):
    """Noisy grey frames with three well-separated keypoints that do not move."""
    rng = np.random.default_rng(seed)
    images = rng.integers(60, 120, (m, 50, 50)).astype(np.uint8)
    locs = np.tile(np.array([[12.0, 30.0], [25.0, 30.0], [36.0, 22.0]]), (m, 1, 1))
    confidence = np.tile([0.0, 1.0, 0.5], (m, 1))
    return images, locs, confidence


def upscaled_pixel(x, y, scale=SCALE):
    """(row, col) of the upscaled pixel holding the centre of frame pixel (x, y)."""
    return int(round((y + 0.5) * scale - 0.5)), int(round((x + 0.5) * scale - 0.5))


def test_video_decodes_with_keypoint_colours_at_the_predicted_places(tmp_path):
    images, locs, confidence = still_movie()
    path = render_video(tmp_path / "tagged.mp4", images, locs, confidence, fps=15.0, progress=False)
    frames, fps = read_video_frames(path)
    assert frames.shape == (6, 400, 400, 3)
    assert fps == pytest.approx(15.0)
    frame = frames[3].astype(float)
    for k, name in enumerate(("base", "neck", "head")):
        r, c = upscaled_pixel(*locs[0, k])
        centre = frame[r - 1 : r + 2, c - 1 : c + 2].reshape(-1, 3).mean(axis=0)
        # H.264 + yuv420p move colours a little; the disc is ~10 px wide so its centre is clean
        assert np.abs(centre - KEYPOINT_COLOURS[name]).max() < 40, name
    # the confidence ring: red for confidence 0 (tail base), green for 1 (neck)
    ring = {
        k: np.mean([frame[r + dr, c + dc] for dr, dc in ((0, 6), (0, -6), (6, 0), (-6, 0))], axis=0)
        for k, (r, c) in enumerate(upscaled_pixel(*p) for p in locs[0])
    }
    assert ring[0][0] > ring[0][1] + 80  # red > green
    assert ring[1][1] > ring[1][0] + 80  # green > red


def test_flagged_frames_get_a_red_border_and_panel_doubles_the_width(tmp_path):
    images, locs, confidence = still_movie(m=4)
    flags = {"qc_jump": np.array([False, False, True, False]), "qc_swap": np.zeros(4, bool)}
    path = render_video(
        tmp_path / "tagged.mp4",
        images,
        locs,
        confidence,
        fps=10.0,
        flags=flags,
        panel=True,
        trail=3,
        progress=False,
    )
    frames, _ = read_video_frames(path)
    assert frames.shape == (4, 400, 800, 3)

    def border(f):
        return frames[f, 100:300, 1:4].reshape(-1, 3).astype(float).mean(axis=0)

    assert border(2)[0] > 180 and border(2)[1] < 90  # red
    assert abs(border(1)[0] - border(1)[1]) < 40  # grey, not red


def test_missing_keypoints_are_skipped_and_scale_sets_the_size(tmp_path):
    images, locs, confidence = still_movie(m=3)
    locs[1, 2] = np.nan  # e.g. a gap the smoother left open
    locs[2] = np.nan
    path = render_video(
        tmp_path / "tagged.mp4", images, locs, confidence, fps=30.0, scale=4, progress=False
    )
    frames, _ = read_video_frames(path)
    assert frames.shape == (3, 200, 200, 3)


def test_mismatched_lengths_raise_before_writing_anything(tmp_path):
    images, locs, confidence = still_movie(m=5)
    with pytest.raises(ValueError, match=r"locs have shape \(4, 3, 2\).*5 frames"):
        render_video(
            tmp_path / "tagged.mp4", images, locs[:4], confidence, fps=30.0, progress=False
        )
    with pytest.raises(ValueError, match="confidence"):
        render_video(
            tmp_path / "tagged.mp4", images, locs, confidence[:, :2], fps=30.0, progress=False
        )
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_encoding_leaves_no_file(tmp_path, monkeypatch):
    images, locs, confidence = still_movie(m=5)
    real = render._draw_frame

    def draw_then_fail(out, layout, imgs, i):
        if i == 3:
            raise RuntimeError("boom")
        return real(out, layout, imgs, i)

    monkeypatch.setattr(render, "_draw_frame", draw_then_fail)
    with pytest.raises(RuntimeError, match="boom"):
        render_video(tmp_path / "tagged.mp4", images, locs, confidence, fps=30.0, progress=False)
    assert list(tmp_path.iterdir()) == []  # neither the video nor its temporary file


def test_confidence_colour_runs_red_yellow_green():
    colours = confidence_colour(np.array([0.0, 0.5, 1.0, np.nan])).astype(int)
    red, yellow, green, nan = colours
    assert red[0] > 200 and red[1] < 60
    assert yellow[0] > 200 and yellow[1] > 200 and yellow[2] < 60
    assert green[1] > 200 and green[0] < 60
    assert (nan == red).all()


def test_the_encoder_runs_one_thread_with_cabac(tmp_path):
    """x264 writes its settings into the stream: one encoder thread (the drawing process has
    the other core; x264's default 3 threads made renders 1.4x slower on 2 cores) and CABAC
    (a third smaller files at the ultrafast preset)."""
    images, locs, confidence = still_movie()
    path = render_video(tmp_path / "tagged.mp4", images, locs, confidence, fps=15.0, progress=False)
    settings = path.read_bytes().split(b"options: ")[1].split(b"\x00")[0].decode().split()
    assert "threads=1" in settings and "cabac=1" in settings, settings

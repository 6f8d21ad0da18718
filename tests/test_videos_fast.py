"""The fast tracker's parts give the old ones' results exactly: the threaded frame reader the
frames of imageio-ffmpeg's reader, OpenCV's morphology and labels scipy.ndimage's, the
finder's shortcuts numpy's arithmetic; and the reader's memory is bounded by construction."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import ndimage

from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import DataError
from direction_tagger.movies.video_io import read_video_frames, write_video
from direction_tagger.videos import finder, reader
from direction_tagger.videos.reader import PASSTHROUGH, _frames, iter_frames, video_info


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("fast") / "arena.mp4"
    write_arena_video(path, 40, seed=2, width=320, height=240)
    return video_info(path)


def plain_frames(info) -> list[np.ndarray]:
    """imageio-ffmpeg's reader, as the tracker read frames before."""
    reader = _frames(info.path, output_params=PASSTHROUGH)
    next(reader)
    return [np.frombuffer(b, np.uint8).reshape(info.height, info.width) for b in reader]


def readers() -> int:
    return sum(t.name == "video-reader" for t in threading.enumerate())


def test_the_threaded_reader_gives_exactly_the_plain_readers_frames(video):
    plain = plain_frames(video)
    assert len(plain) == 40
    own = list(iter_frames(video))  # each frame its own array: safe to keep
    assert len(own) == 40 and all(np.array_equal(a, b) for a, b in zip(own, plain))
    assert len({f.__array_interface__["data"][0] for f in own}) == 40


@pytest.mark.parametrize("keep", [0, 4])
def test_the_ring_holds_each_frame_until_keep_more_are_read_and_no_more_buffers(video, keep):
    plain = plain_frames(video)
    held, buffers = [], set()
    for i, frame in enumerate(iter_frames(video, keep=keep, ahead=3)):
        assert np.array_equal(frame, plain[i])
        held.append((i, frame))
        held = held[-(keep + 1) :]
        # the frames still promised are untouched while the reader fills others ahead
        assert all(np.array_equal(f, plain[j]) for j, f in held)
        buffers.add(frame.__array_interface__["data"][0])
    # memory flat in the video's length: 40 frames through keep + ahead + 1 buffers
    assert len(buffers) == keep + 3 + 1


def test_stopping_early_ends_the_reader_and_ffmpeg(video):
    before = readers()
    frames = iter_frames(video, keep=2)
    for i, _ in enumerate(frames):
        if i == 5:
            break
    frames.close()
    assert readers() == before == 0
    assert len(list(iter_frames(video, keep=1))) == 40  # and a fresh one reads it all


def test_a_stream_that_ends_inside_a_frame_says_so(video):
    # a size that does not divide the stream (a frame one row taller): the last is cut short
    wrong = type(video)(video.path, video.width, video.height + 1, video.fps, video.n_frames)
    with pytest.raises(DataError, match="arena.mp4: the video ends inside a frame"):
        list(iter_frames(wrong))
    assert readers() == 0


# --------------------------------------------------------------------------- primitives


def masks(seed: int, count: int = 40):
    """Random blobs, specks and thin lines, some touching the border."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        h, w = rng.integers(20, 90, 2)
        field = ndimage.uniform_filter(rng.random((h, w)), int(rng.integers(3, 9)))
        mask = field > np.quantile(field, rng.uniform(0.4, 0.9))
        mask[rng.integers(0, h), :] |= rng.random() < 0.5  # a thin line across
        yield mask


@pytest.mark.parametrize("radius", [1, 2, 5, 9])
def test_opening_and_labels_are_scipys(radius):
    for mask in masks(radius):
        expected = ndimage.binary_opening(mask, structure=finder._disc(radius))
        assert np.array_equal(finder._opened(mask, radius), expected)
        labels, n = finder._label(mask)
        ref, n_ref = ndimage.label(mask)
        assert n == n_ref and np.array_equal(labels, ref)


def test_peak_distance_and_ring_are_scipys():
    rng = np.random.default_rng(1)
    for mask in masks(7, 20):
        contrast = (rng.normal(0, 3, mask.shape) + 40 * mask).astype(np.float32)
        for r in (1, 3, 6):
            expected = ndimage.grey_opening(contrast, footprint=finder._disc(max(1, r // 2)))
            assert finder._peak(contrast, r) == float(expected.max())
        ring = finder._dilate(mask.view(np.uint8), finder._CROSS, iterations=2).view(bool)
        assert np.array_equal(ring, ndimage.binary_dilation(mask, iterations=2))
        import cv2

        dist = cv2.distanceTransform(mask.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        assert np.allclose(dist, ndimage.distance_transform_edt(mask), rtol=0, atol=1e-5)


def test_quantile_median_and_axis_are_numpys_to_the_bit():
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 10, 101, 4000):
        values = rng.normal(size=n) * 50
        for q in (0.0, 0.005, 0.5, 0.99, 0.995, 1.0):
            assert finder._quantile(values, q) == float(np.quantile(values, q))
        image = rng.uniform(0, 255, (2 * n % 37 + 2, 2 * n % 23 + 2)).astype(np.float32)
        assert finder.brightness(image) == max(float(np.median(image[::2, ::2])), 1.0)
    for mask in masks(11, 20):
        weights = rng.uniform(-5, 50, mask.shape).astype(np.float32)
        if mask.sum() < 2:
            continue
        assert finder._axis_midpoint(mask, weights, (3, 7)) == reference_axis(mask, weights, 3, 7)


def reference_axis(blob, weights, top, left):
    """The axis midpoint as computed before (np.average, np.cov, np.quantile)."""
    ys, xs = np.nonzero(blob)
    w = np.clip(weights[ys, xs], 1e-6, None)
    ys, xs = ys + top, xs + left
    cx, cy = np.average(xs, weights=w), np.average(ys, weights=w)
    dx, dy = xs - cx, ys - cy
    cov = np.cov(np.stack([dx, dy]), aweights=w)
    axis = np.linalg.eigh(cov)[1][:, -1]
    proj = dx * axis[0] + dy * axis[1]
    lo, hi = np.quantile(proj, [finder.END_QUANTILE, 1 - finder.END_QUANTILE])
    mid = 0.5 * (lo + hi)
    return cx + mid * axis[0], cy + mid * axis[1], float(hi - lo + 1.0)


# --------------------------------------------------------------------------- the writer


@pytest.mark.parametrize("size", [(64, 48), (65, 47)])
def test_written_grey_comes_back_grey_at_even_and_odd_sizes(tmp_path, size):
    width, height = size
    ramp = np.tile(np.linspace(20, 235, width).astype(np.uint8), (height, 1))

    def draw(out, i):
        out[...] = ramp[..., None]

    path = write_video(tmp_path / "ramp.mp4", 5, width, height, 10.0, draw, progress=False)
    frames, _ = read_video_frames(path)
    frames = frames.astype(int)
    assert np.abs(frames - frames[..., :1]).max() <= 3  # grey: no colour cast either way
    if width % 2 == 0 and height % 2 == 0:  # yuv420p from us (odd sizes: ffmpeg, rescaled)
        assert frames.shape[:3] == (5, height, width)
        assert np.abs(frames - ramp[None, ..., None]).max() <= 3


def _numbered_video(path, n: int, gop: int):
    """A small H.264 video whose frame i shows i in binary (10 blocks, black or white), a
    keyframe every `gop` frames."""
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path), (160, 16), pix_fmt_in="gray", fps=30, macro_block_size=16,
        output_params=["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"],
    )  # fmt: skip
    writer.send(None)
    for i in range(n):
        bits = (i >> np.arange(10)) & 1
        writer.send(np.repeat(np.repeat(bits * 255, 16)[None], 16, 0).astype(np.uint8))
    writer.close()
    return video_info(path)


def _numbers(frames: np.ndarray) -> list[int]:
    bits = frames.reshape(len(frames), 16, 10, 16).mean(axis=(1, 3)) > 127
    return [int((b * (1 << np.arange(10))).sum()) for b in bits]


def test_a_long_videos_background_samples_are_its_keyframes_spread_over_it(tmp_path):
    info = _numbered_video(tmp_path / "long.mp4", 700, gop=50)  # 700 > SEEK_FROM x 3
    got = _numbers(reader.sample_frames(info, 3))
    assert all(i % 50 == 0 for i in got)  # keyframes only
    assert got == sorted(set(got)) and got[0] == 0 and got[-1] >= 350  # spread over the video


def test_dense_keyframes_are_sampled_by_seeking_instead(tmp_path, monkeypatch):
    info = _numbered_video(tmp_path / "intra.mp4", 700, gop=1)  # every frame a keyframe
    read = []
    monkeypatch.setattr(reader, "_frames", lambda *a, **k: read.append(k) or _frames(*a, **k))
    got = _numbers(reader.sample_frames(info, 3))
    assert got == sorted(got) and len(set(got)) == 3 and 100 < got[1] < 600
    assert sum("-ss" in (k.get("input_params") or []) for k in read) == 3  # seeks, after all

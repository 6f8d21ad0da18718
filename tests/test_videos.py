"""Raw videos and DeepLabCut projects (issue #13): crop geometry, the animal finder, the
streaming tracker, predictions back in video pixels, the DLC import -- on material the tests
make themselves (the synthetic arena renderer, a DLC project in DLC's own layout)."""

from __future__ import annotations

import zipfile

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
from videos_material import SCORER, dlc_csv_text, write_dlc_project

from direction_tagger import cli
from direction_tagger.data.synth.arena import make_arena_video, write_arena_video
from direction_tagger.io import DataError, load_labelled, load_movie
from direction_tagger.movie_store import MovieWriter
from direction_tagger.movies.colours import KEYPOINT_COLOURS
from direction_tagger.movies.tables import movie_table, write_table
from direction_tagger.videos import finder
from direction_tagger.videos.crop import crop_frame, crop_to_video, video_to_crop
from direction_tagger.videos.finder import build_background, find_animal
from direction_tagger.videos.reader import video_info
from direction_tagger.videos.to_video import video_table
from direction_tagger.videos.track import TAIL_COLUMNS, TRACK_COLUMNS, track_video

# --------------------------------------------------------------------------- crop geometry


def test_crop_coordinates_round_trip():
    rng = np.random.default_rng(0)
    locs = rng.uniform(-5, 55, (7, 3, 2))
    centres, sides = rng.uniform(50, 400, (7, 2)), rng.uniform(30, 150, 7)
    video = crop_to_video(locs, centres, sides)
    np.testing.assert_allclose(video_to_crop(video, centres, sides), locs, atol=1e-9)
    # the crop centre (24.5, 24.5) is the centre in the video, and one crop px = side/50
    centre = crop_to_video(np.full((7, 1, 2), 24.5), centres, sides)[:, 0]
    np.testing.assert_allclose(centre, centres)


@pytest.mark.parametrize(
    "spot, centre, side", [((300.3, 200.7), (310.2, 190.9), 90.0), ((300, 200), (301, 199), 37.3)]
)
def test_a_spot_lands_where_the_coordinates_say(spot, centre, side):
    yy, xx = np.mgrid[0:480, 0:640]
    frame = (250 * np.exp(-((xx - spot[0]) ** 2 + (yy - spot[1]) ** 2) / (2 * 5.0**2))).astype(
        np.uint8
    )
    crop = crop_frame(frame, *centre, side).astype(float)
    gy, gx = np.mgrid[0:50, 0:50]
    found = np.array([[[(crop * gx).sum() / crop.sum(), (crop * gy).sum() / crop.sum()]]])
    back = crop_to_video(found, np.array([centre]), np.array([side]))[0, 0]
    np.testing.assert_allclose(back, spot, atol=0.1)


def test_a_crop_past_the_edge_repeats_the_edge_pixels():
    frame = np.full((100, 120), 200, np.uint8)
    crop = crop_frame(frame, 2.0, 3.0, 80.0)
    assert crop.shape == (50, 50) and crop.dtype == np.uint8
    assert (crop == 200).all()  # no black border where the crop leaves the frame


# --------------------------------------------------------------------------- writing movies


def test_movie_writer_streams_frames_into_a_readable_npz(tmp_path):
    frames = np.random.default_rng(1).integers(0, 255, (37, 50, 50), dtype=np.uint8)
    path = tmp_path / "m.npz"
    with MovieWriter(path, fps=25.0) as writer:
        for start in range(0, 37, 10):
            writer.write(frames[start : start + 10])
    movie = load_movie(path)
    np.testing.assert_array_equal(movie.images, frames)
    assert movie.fps == 25.0
    with zipfile.ZipFile(path) as zf:  # uncompressed, so it can be read in chunks
        assert zf.getinfo("images.npy").compress_type == zipfile.ZIP_STORED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no scratch file left


def test_movie_writer_leaves_nothing_when_the_work_fails(tmp_path):
    path = tmp_path / "m.npz"
    with pytest.raises(RuntimeError), MovieWriter(path) as writer:
        writer.write(np.zeros((3, 50, 50), np.uint8))
        raise RuntimeError("the tracker failed")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- finding the animal


def _blob_frames(n, still_share, rng):
    """Frames of a dark ellipse (an 'animal' 40 px long) on a noisy floor, sitting still at one
    place for `still_share` of the frames and elsewhere for the rest."""
    yy, xx = np.mgrid[0:240, 0:320]
    frames, centres = [], []
    for i in range(n):
        cx, cy = (100.0, 120.0) if i < still_share * n else rng.uniform([150, 60], [280, 180])
        inside = ((xx - cx) / 20.0) ** 2 + ((yy - cy) / 8.0) ** 2 <= 1.0
        frame = 180.0 - 120.0 * inside + rng.normal(0, 2.0, inside.shape)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
        centres.append((cx, cy))
    return np.stack(frames), np.array(centres)


def test_an_animal_that_sits_still_most_of_the_time_is_not_taken_for_floor():
    # still on 60 % of the frames: a median background would hold it and lose it there
    frames, centres = _blob_frames(40, 0.6, np.random.default_rng(2))
    bg = build_background(frames)
    assert bg.polarity > 0  # dark animal on a light floor, found by itself
    for i in (0, 10, 30, 39):
        det = find_animal(frames[i], bg)
        assert det.found
        assert np.hypot(det.x - centres[i, 0], det.y - centres[i, 1]) < 1.5
        assert det.length == pytest.approx(40, rel=0.15)


def test_a_light_animal_on_a_dark_floor():
    frames, centres = _blob_frames(30, 0.2, np.random.default_rng(3))
    frames = 255 - frames
    bg = build_background(frames)
    assert bg.polarity < 0
    det = find_animal(frames[25], bg)
    assert det.found and np.hypot(det.x - centres[25, 0], det.y - centres[25, 1]) < 1.5


def test_an_empty_arena_has_no_animal():
    frames, _ = _blob_frames(30, 0.2, np.random.default_rng(4))
    bg = build_background(frames)
    empty = np.clip(bg.full + np.random.default_rng(5).normal(0, 2, bg.full.shape), 0, 255)
    assert not find_animal(empty.astype(np.uint8), bg).found


def test_a_long_animal_is_found_at_half_resolution_as_well_as_at_full(monkeypatch):
    """A body over 2 x FINE_BODY_PX long is measured block-averaged 2 x 2 (a quarter of the
    pixels): its centre and tail root stay where the full-resolution finder puts them."""
    shot = list(make_arena_video(400, seed=8, scale=5.0, tether=False))
    frames, truth = np.stack([f for f, _ in shot]), np.stack([k for _, k in shot])
    bg = build_background(frames[::10])
    length = float(np.median([find_animal(f, bg).length for f in frames[::20]]))

    def found(body_px):
        monkeypatch.setattr(finder, "FINE_BODY_PX", body_px)
        dets = [find_animal(f, bg, length=length) for f in frames[::5]]
        return np.array([(d.x, d.y, d.tail_x, d.tail_y) for d in dets])

    half, full = found(length / 2), found(10 * length)  # block-averaged 2 x 2, and never
    assert np.median(np.hypot(*(half[:, :2] - full[:, :2]).T)) < 0.01 * length
    assert np.abs(np.median(half[:, :2] - full[:, :2], axis=0)).max() < 0.15  # px: no shift
    middle = (truth[::5, 0] + truth[::5, 2]) / 2
    error = np.hypot(*(half[:, :2] - middle).T)
    assert np.median(error) <= np.median(np.hypot(*(full[:, :2] - middle).T)) + 0.01 * length
    seen = np.isfinite(half[:, 2]) & np.isfinite(full[:, 2])
    assert seen.mean() > 0.8
    assert np.median(np.hypot(*(half[seen, 2:] - full[seen, 2:]).T)) < 0.5  # px


# --------------------------------------------------------------------------- tracking a video


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """A synthetic arena video with a tether, lighting drift and a static object, tracked."""
    folder = tmp_path_factory.mktemp("arena")
    video = folder / "arena.mp4"
    truth = write_arena_video(video, 150, seed=5, tether=True)
    outputs = {k: folder / f"track{k}" for k in (".npz", ".csv", ".json", ".png")}
    status = cli.main(
        ["track", "--video", str(video), "--movie", str(outputs[".npz"]), "--table",
         str(outputs[".csv"]), "--qc", str(outputs[".json"]), "--figure", str(outputs[".png"]),
         "--quiet"]
    )  # fmt: skip
    assert status == 0
    return video, truth, outputs


def test_tracking_keeps_the_whole_animal_in_every_crop(arena):
    video, truth, out = arena
    movie = load_movie(out[".npz"])
    track = pd.read_csv(out[".csv"])
    assert list(track.columns) == list(TRACK_COLUMNS + TAIL_COLUMNS)
    assert len(movie) == len(track) == len(truth) == 150
    assert movie.fps == 30.0
    centres, sides = track[["crop_x", "crop_y"]].to_numpy(), track["crop_side"].to_numpy()
    in_crop = video_to_crop(truth, centres, sides)
    assert (in_crop > 0).all() and (in_crop < 49).all()  # all three keypoints, every frame
    # one crop side for the video, ~2 nose-to-tail-base lengths
    length = np.median(np.linalg.norm(truth[:, 2] - truth[:, 0], axis=1))
    assert np.ptp(sides) == 0 and 1.4 * length < sides[0] < 2.6 * length
    qc = pd.read_json(out[".json"], typ="series")
    assert qc["frames"] == 150 and qc["lost"] == 0 and qc["polarity"] == "dark"
    assert out[".png"].stat().st_size > 10_000


def test_the_crop_centre_follows_the_body_centre_without_a_tether(tmp_path):
    video = tmp_path / "free.mp4"
    truth = write_arena_video(video, 120, seed=6, tether=False)
    qc = track_video(video_info(video), tmp_path / "m.npz", tmp_path / "t.csv", tmp_path / "q.json")
    track = pd.read_csv(tmp_path / "t.csv")
    middle = (truth[:, 0] + truth[:, 2]) / 2  # nose - tail base midpoint
    error = (
        np.hypot(track.crop_x - middle[:, 0], track.crop_y - middle[:, 1]) * 50 / qc["crop_side_px"]
    )
    assert np.median(error) < 3.0  # crop px


def test_track_refuses_what_is_not_a_video(tmp_path, capsys):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    args = ["track", "--video", str(bad), "--movie", str(tmp_path / "m.npz"), "--table",
            str(tmp_path / "t.csv"), "--qc", str(tmp_path / "q.json")]  # fmt: skip
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "notes.mp4" in err and "not a video" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4"]


# --------------------------------------------------------------------------- back to video px


def test_predictions_come_back_in_video_pixels(arena):
    _, truth, out = arena
    track = pd.read_csv(out[".csv"])
    centres, sides = track[["crop_x", "crop_y"]].to_numpy(), track["crop_side"].to_numpy()
    crop_locs = video_to_crop(truth, centres, sides)  # a perfect model's answer
    flags = {"jump": np.zeros(len(truth), bool)}
    table = movie_table(crop_locs, np.ones((len(truth), 3)), fps=30.0, flags=flags)
    video = video_table(table, track)
    for k, name in enumerate(("base", "neck", "head")):
        np.testing.assert_allclose(video[f"{name}_x_video"], truth[:, k, 0], atol=1e-4)
        np.testing.assert_allclose(video[f"{name}_y_video"], truth[:, k, 1], atol=1e-4)
    assert {"crop_x", "crop_side", "qc_track_lost", "qc_track_jump", "speed_video_px_s"} <= set(
        video
    )
    assert list(video.columns)[-1] == "qc_any"
    with pytest.raises(DataError, match="same video"):
        video_table(table.iloc[:-1], track)


# --------------------------------------------------------------------------- DeepLabCut import


@pytest.fixture(scope="module")
def dlc_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("dlc") / "My Project-Lab-2026"
    truths = write_dlc_project(root, recordings=2, frames=12)
    return root, truths


def test_import_dlc_crops_around_the_animal_and_maps_the_labels(dlc_project, tmp_path, capsys):
    root, truths = dlc_project
    out, summary = tmp_path / "labelled.npz", tmp_path / "import.json"
    assert (
        cli.main(["import-dlc", str(root), "--out", str(out), "--summary", str(summary), "--quiet"])
        == 0
    )
    said = capsys.readouterr().out
    assert "23 frames of 2 recordings" in said and "1 missing label" in said
    data = load_labelled(out)
    with np.load(out, allow_pickle=False) as npz:
        videos, names = npz["video"], npz["frame"]
        centres = np.stack([npz["crop_x"], npz["crop_y"]], 1)
        sides = npz["crop_side"]
    assert sorted(set(videos)) == ["mouse0_day1", "mouse1_day1"] and len(data.images) == 23
    # the labels are the DLC labels (ears' midpoint as neck) moved into each frame's crop
    for i in range(len(videos)):
        truth = truths[videos[i]][int(names[i][3:7])]
        expected = video_to_crop(truth[None], centres[i : i + 1], sides[i : i + 1])[0]
        np.testing.assert_allclose(data.locs[i], expected, atol=1e-3)
    # the crop comes from the image, not the labels: centred on the animal, not on the labels
    middle = (data.locs[:, 0] + data.locs[:, 2]) / 2
    offset = np.linalg.norm(middle - 24.5, axis=1)
    assert np.median(offset) < 3.0 and offset.max() > 0.3
    assert (data.images.std(axis=(1, 2)) > 5).all()  # an animal in every crop


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda root: root.mkdir(), "no labeled-data/"),
        (lambda root: (root / "labeled-data" / "r").mkdir(parents=True), "CollectedData"),
        ("multi", "multi-animal"),
        ("unknown", "no body part for our 'head'"),
        ("no image", "the image is missing"),
    ],
)
def test_import_dlc_bad_projects_say_why_in_one_line(tmp_path, capsys, dlc_project, make, expected):
    root = tmp_path / "project"
    args = ["import-dlc", str(root), "--out", str(tmp_path / "out.npz"), "--quiet"]
    if callable(make):
        make(root)
    else:
        folder = root / "labeled-data" / "rec"
        folder.mkdir(parents=True)
        points = {
            "nose": np.zeros((1, 2)),
            "neck": np.ones((1, 2)),
            "tail_base": np.ones((1, 2)) * 3,
        }
        text = dlc_csv_text(["img0.png"], "rec", points, old_index=False)
        if make == "multi":
            text = text.replace("bodyparts", "individuals", 1)
        if make == "unknown":
            args += ["--head", "snout"]
        (folder / f"CollectedData_{SCORER}.csv").write_text(text)
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err
    assert not (tmp_path / "out.npz").exists()


# --------------------------------------------------------------------------- the tagged video


@pytest.mark.parametrize("view, size", [("full", (480, 640)), ("zoom", (240, 240))])
def test_the_original_video_is_tagged_where_the_animal_is(arena, tmp_path, view, size):
    video, truth, out = arena
    track = pd.read_csv(out[".csv"])
    centres, sides = track[["crop_x", "crop_y"]].to_numpy(), track["crop_side"].to_numpy()
    crop_locs = video_to_crop(truth, centres, sides)  # a perfect model's answer
    table = movie_table(crop_locs, np.ones((len(truth), 3)), fps=30.0)
    write_table(tmp_path / "p.csv", table)
    args = ["to-video", "--predictions", str(tmp_path / "p.csv"), "--track", str(out[".csv"]),
            "--out", str(tmp_path / "pv.csv")]  # fmt: skip
    assert cli.main(args) == 0
    tagged = tmp_path / f"{view}.mp4"
    args = ["render-video", "--video", str(video), "--predictions", str(tmp_path / "pv.csv"),
            "--out", str(tagged), "--view", view, "--size", "240", "--quiet"]  # fmt: skip
    assert cli.main(args) == 0
    frames = iio.imread(tagged)
    assert frames.shape == (len(truth), *size, 3)
    # the nose's magenta disc is drawn on the nose, wherever the view puts it
    magenta = np.array(KEYPOINT_COLOURS["head"], float)
    for i in range(0, len(truth), 15):
        nose = truth[i, 2].astype(float)
        if view == "zoom":
            side = 1.6 * sides[i]  # the close-up shows 1.6 crop sides around the crop centre
            nose = (nose - (centres[i] - side / 2)) * size[0] / side - 0.5
        x, y = np.round(nose).astype(int)
        patch = frames[i, y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).astype(float)
        assert np.linalg.norm(patch - magenta, axis=1).min() < 70, (view, i)


def test_render_video_refuses_predictions_that_do_not_fit_the_video(arena, tmp_path, capsys):
    video, truth, out = arena
    track = pd.read_csv(out[".csv"])
    centres, sides = track[["crop_x", "crop_y"]].to_numpy(), track["crop_side"].to_numpy()
    table = movie_table(video_to_crop(truth, centres, sides), np.ones((len(truth), 3)), fps=30.0)
    write_table(tmp_path / "crop.csv", table)  # no video-pixel columns
    longer = video_table(pd.concat([table, table], ignore_index=True), pd.concat([track, track]))
    write_table(tmp_path / "longer.csv", longer)  # twice as many frames as the video
    for name, expected in (("crop.csv", "to-video"), ("longer.csv", "ended at frame 150")):
        target = tmp_path / f"{name}.mp4"
        args = ["render-video", "--video", str(video), "--predictions", str(tmp_path / name),
                "--out", str(target), "--quiet"]  # fmt: skip
        assert cli.main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and expected in err, err
        assert not target.exists()

"""Re-centring a tracked video on the model's nose - tail base midpoint (issue #26): the maths,
the re-cut movie and table with a perfect model, and the command's clear refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from direction_tagger import cli
from direction_tagger.commands.videos import copy_background
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import DataError, load_movie
from direction_tagger.movies.tables import movie_table
from direction_tagger.videos.crop import crop_frame, video_to_crop
from direction_tagger.videos.reader import iter_frames, video_info
from direction_tagger.videos.recentre import recentre_video, recentred_centres
from direction_tagger.videos.to_video import read_track, video_table
from direction_tagger.videos.track import track_video


def test_the_centre_moves_to_the_predicted_midpoint_unless_it_is_implausible():
    centres = np.array([[100.0, 50.0], [100.0, 50.0], [100.0, 50.0]])
    sides = np.array([50.0, 100.0, 50.0])
    # crop px, order tail base, neck, nose
    locs = np.array(
        [
            [[20.5, 24.5], [0, 0], [30.5, 24.5]],  # midpoint 25.5: +1 crop px = +1 video px
            [[20.5, 20.5], [0, 0], [20.5, 22.5]],  # (20.5, 21.5): -4, -3 crop px x 2 px each
            [[40.5, 24.5], [0, 0], [44.5, 24.5]],  # 18 px away: over a quarter of 50
        ]
    )
    new, moved = recentred_centres(locs, centres, sides)
    np.testing.assert_allclose(new, [[101.0, 50.0], [92.0, 44.0], [100.0, 50.0]])
    assert moved.tolist() == [True, True, False]
    locs[0, 2] = np.nan  # no answer: the tracker's centre stays
    new, moved = recentred_centres(locs, centres, sides)
    np.testing.assert_allclose(new[0], centres[0])
    assert not moved[0]


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A small arena video without a tether, tracked; its truth in video px."""
    folder = tmp_path_factory.mktemp("recentre")
    video = folder / "arena.mp4"
    truth = write_arena_video(video, 90, seed=6, width=320, height=240, tether=False)
    info = video_info(video)
    track_video(
        info,
        folder / "movie.npz",
        folder / "track.csv",
        folder / "qc.json",
        background_out=folder / "background.npz",
    )
    return folder, video, truth


def perfect_model(truth, track: pd.DataFrame):
    """A model that answers the truth, in the crop px of the tracker's crops, chunk after
    chunk in frame order (as recentre_video asks)."""
    centres, sides = track[["crop_x", "crop_y"]].to_numpy(), track["crop_side"].to_numpy()
    answers = video_to_crop(truth, centres, sides)
    done = [0]

    def predict(frames):
        first, done[0] = done[0], done[0] + len(frames)
        return answers[first : done[0]]

    return predict


def test_recentre_cuts_the_video_again_around_the_predicted_midpoint(tracked, tmp_path):
    folder, video, truth = tracked
    track = pd.read_csv(folder / "track.csv")
    side = track["crop_side"].to_numpy()
    middle = (truth[:, 0] + truth[:, 2]) / 2
    before = np.hypot(*(track[["crop_x", "crop_y"]].to_numpy() - middle).T) * 50 / side
    assert np.median(before) > 1.0  # the tracker's geometric centre: ~2 crop px off

    summary = recentre_video(
        video_info(video),
        folder / "track.csv",
        folder / "movie.npz",
        perfect_model(truth, track),
        tmp_path / "movie.npz",
        tmp_path / "track.csv",
    )
    new = read_track(tmp_path / "track.csv")
    centres = new[["crop_x", "crop_y"]].to_numpy()
    np.testing.assert_allclose(centres, middle, atol=2e-3)  # the table keeps 3 decimals
    written = pd.read_csv(tmp_path / "track.csv")  # to-video reads only what it needs
    np.testing.assert_allclose(written["tracker_crop_x"], track["crop_x"])
    np.testing.assert_allclose(written["tracker_crop_y"], track["crop_y"])
    assert summary["frames"] == summary["moved"] == len(truth)
    # the tail root in crop px follows the new crop; in video px it stays
    np.testing.assert_allclose(new["tail_root_x"], track["tail_root_x"])
    root = new[["tail_root_x", "tail_root_y"]].to_numpy()[:, None]
    expected = video_to_crop(root, centres, side)[:, 0]
    np.testing.assert_allclose(new[["tail_root_x_crop", "tail_root_y_crop"]], expected, atol=2e-3)
    # every frame of the new movie is the video's frame cut at the new centre
    movie = load_movie(tmp_path / "movie.npz")
    assert len(movie) == len(truth) and movie.fps == 30.0
    for i, frame in enumerate(iter_frames(video_info(video))):
        assert np.array_equal(movie.images[i], crop_frame(frame, *centres[i], side[i])), i
    # the perfect model's answer on the new crops comes back to video px through the new table
    answer = video_to_crop(truth, centres, side)
    assert np.abs(answer[:, [0, 2]].mean(axis=1) - 24.5).max() < 0.01  # centred now
    flags = {"jump": np.zeros(len(truth), bool)}
    table = video_table(movie_table(answer, np.ones((len(truth), 3)), fps=30.0, flags=flags), new)
    for k, name in enumerate(("base", "neck", "head")):
        np.testing.assert_allclose(table[f"{name}_x_video"], truth[:, k, 0], atol=1e-3)
        np.testing.assert_allclose(table[f"{name}_y_video"], truth[:, k, 1], atol=1e-3)


def test_each_pass_starts_from_the_last_ones_crops(tracked, tmp_path):
    """A model that sees only half of how far the crop is off: each pass halves the error, so
    two passes leave a quarter of it (the crops of pass 1 must be what pass 2 looks at, and
    the table must say where the last crops were cut)."""
    folder, video, truth = tracked
    track = pd.read_csv(folder / "track.csv")
    tracker, side = track[["crop_x", "crop_y"]].to_numpy(), track["crop_side"].to_numpy()
    middle = (truth[:, 0] + truth[:, 2]) / 2
    movies = []

    def halfway(frames):  # answers for the crops of the pass now looking (one chunk a pass)
        movies.append(frames.copy())
        centres = np.round(middle + (tracker - middle) * 0.5 ** (len(movies) - 1), 3)
        seen = centres + 0.5 * (middle - centres)  # the midpoint it places
        along = np.array([[[-10.0, 0.0], [0.0, 0.0], [10.0, 0.0]]])  # base, neck, nose
        return video_to_crop(seen[:, None] + along, centres, side)

    summary = recentre_video(
        video_info(video),
        folder / "track.csv",
        folder / "movie.npz",
        halfway,
        tmp_path / "movie.npz",
        tmp_path / "track.csv",
        passes=2,
    )
    assert summary["passes"] == 2 and len(movies) == 2
    assert np.array_equal(movies[0], load_movie(folder / "movie.npz").images)  # the tracker's
    final = read_track(tmp_path / "track.csv")[["crop_x", "crop_y"]].to_numpy()
    np.testing.assert_allclose(final, middle + (tracker - middle) * 0.25, atol=2e-3)
    cut = load_movie(tmp_path / "movie.npz").images
    for i, frame in enumerate(iter_frames(video_info(video))):
        if i % 30 == 0:  # pass 2 looked at pass 1's crops; the movie holds pass 2's
            first = crop_frame(
                frame, *np.round(middle[i] + (tracker[i] - middle[i]) / 2, 3), side[i]
            )
            assert np.array_equal(movies[1][i], first), i
            assert np.array_equal(cut[i], crop_frame(frame, *final[i], side[i])), i
    assert not list(tmp_path.glob(".*pass*"))  # the first pass's movie is gone


def test_recentre_refuses_a_movie_that_is_not_the_tracks(tracked, tmp_path, capsys):
    folder, video, truth = tracked
    short = tmp_path / "short.csv"
    pd.read_csv(folder / "track.csv").iloc[:-3].to_csv(short, index=False)
    args = ["recentre", "--video", str(video), "--track", str(short), "--movie",
            str(folder / "movie.npz"), "--model", str(folder / "none.pt"), "--out-movie",
            str(tmp_path / "m.npz"), "--out-table", str(tmp_path / "t.csv"), "--quiet"]  # fmt: skip
    assert cli.main(args) == 2  # no model there: one line naming it
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "none.pt" in err
    assert not (tmp_path / "m.npz").exists() and not (tmp_path / "t.csv").exists()
    with pytest.raises(Exception, match="90 frames, but its track table has 87"):
        recentre_video(
            video_info(video),
            short,
            folder / "movie.npz",
            perfect_model(truth, pd.read_csv(folder / "track.csv")),
            tmp_path / "m.npz",
            tmp_path / "t.csv",
        )
    assert not (tmp_path / "m.npz").exists() and not (tmp_path / "t.csv").exists()


def test_the_background_goes_beside_the_recut_movie_and_must_be_the_videos(tracked, tmp_path):
    """With track.recentre the re-cut folder holds the tracker's background too (smoothing
    finds keypoints off the animal with it); a background of another video is refused before
    any work, in one line, and nothing is written."""
    folder, video, _ = tracked
    info = video_info(video)
    copy_background(folder / "background.npz", tmp_path / "background.npz", info)
    assert (tmp_path / "background.npz").read_bytes() == (folder / "background.npz").read_bytes()
    other = tmp_path / "other.npz"
    np.savez(other, background=np.zeros((24, 32), np.uint8), polarity=1.0, noise=2.0)
    with pytest.raises(DataError, match=r"background of 32x24 px, but .*arena.mp4 is 320x240"):
        copy_background(other, tmp_path / "out.npz", info)
    assert not (tmp_path / "out.npz").exists()

"""refine: which frames it chooses, and the DeepLabCut folder it writes (issue #25)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from refine_material import refine_folder, run_cli, write_movie_source, write_video_source

from direction_tagger import cli
from direction_tagger.io import load_labelled
from direction_tagger.movies.tables import DLC_BODYPARTS, read_table
from direction_tagger.refine import choose
from direction_tagger.refine.labelled_data import read_labels, read_manifest


def test_doubt_is_one_minus_the_chance_all_is_right_raised_by_a_flag():
    table = pd.DataFrame(
        {
            "base_p_within_2px": [0.9, 0.9, 1.0],
            "neck_p_within_2px": [0.8, 0.8, 1.0],
            "head_p_within_2px": [0.5, 0.5, 1.0],
            "polarity_certainty": [1.0, 0.5, 1.0],
            "qc_any": [False, False, True],
        }
    )
    doubt = choose.frame_doubt(table)
    # 1 - 0.9 * 0.8 * 0.5; then times a coin-toss polarity; a flag moves half way to 1
    np.testing.assert_allclose(doubt, [0.64, 1 - 0.36 * 0.5, 0.5])


def test_appearance_ignores_brightness_and_contrast():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 200, (1, 50, 50)).astype(np.uint8)
    brighter = (frame.astype(int) // 2 + 40).astype(np.uint8)
    a, b = choose.appearance(frame), choose.appearance(brighter)
    assert a.shape == (1, 100) and np.linalg.norm(a) == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(a, b, atol=0.02)


def _movies(rng):
    """Movie 0: a long doubtful run of look-alike frames (doubt 0.9); movie 1: a few
    somewhat doubtful frames (0.6) that look different."""
    base = rng.normal(0, 1, 100)
    emb0 = base + rng.normal(0, 0.05, (200, 100))
    emb1 = rng.normal(0, 1, (50, 100))
    embedding = np.concatenate([emb0, emb1]).astype(np.float32)
    embedding /= np.linalg.norm(embedding, axis=1, keepdims=True)
    doubt = np.concatenate([np.full(200, 0.9), np.full(50, 0.6)])
    movie = np.repeat([0, 1], [200, 50])
    time_s = np.concatenate([np.arange(200), np.arange(50)]) / 30
    return doubt, embedding, movie, time_s


def test_a_long_doubtful_run_gives_few_frames_and_the_rest_come_from_elsewhere():
    doubt, embedding, movie, time_s = _movies(np.random.default_rng(1))
    picked = choose.choose(doubt, embedding, 6)
    assert len(set(picked)) == 6
    # the first pick is of the doubtful run (its 200 frames may make two groups), the rest
    # the other movie's different frames
    assert movie[picked[0]] == 0 and (movie[picked] == 1).sum() >= 4
    # doubt alone would take six frames of the run
    assert set(np.argsort(-doubt, kind="stable")[:6]) <= set(np.flatnonzero(movie == 0))


def test_choice_of_more_frames_than_there_are_takes_them_all():
    doubt, embedding, movie, time_s = _movies(np.random.default_rng(3))
    picked = choose.choose(doubt[:4], embedding[:4], 10)
    assert sorted(picked) == [0, 1, 2, 3]


def _recurring_poses(rng):
    """Four poses, groups of 28 look-alike frames: poses 0 and 1 doubtful (0.6), 2 and 3 not
    (0.1); and two one-off frames (far from everything) more doubtful than any (0.95), group
    10 and 11."""
    centres = rng.normal(0, 1, (6, 30))
    emb = [c + rng.normal(0, 0.05, (28, 30)) for c in centres[:4]] + [centres[4:]]
    doubt = np.repeat([0.6, 0.6, 0.1, 0.1, 0.95], [28, 28, 28, 28, 2])
    group = np.repeat([0, 1, 2, 3, 10], [28, 28, 28, 28, 2])
    group[-1] = 11
    return np.concatenate(emb).astype(np.float32), doubt, group


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_choice_takes_doubtful_recurring_poses_not_one_offs(seed):
    embedding, doubt, group = _recurring_poses(np.random.default_rng(seed))
    picked = choose.choose(doubt, embedding, 3)
    # one frame of each doubtful pose first, then one of a calm pose that recurs: not the
    # one-offs, though they are the most doubtful (each is a group holding little doubt)
    assert list(group[picked[:2]]) in ([0, 1], [1, 0]) and group[picked[2]] in (2, 3)


def test_choice_leaves_poses_already_labelled():
    embedding, doubt, group = _recurring_poses(np.random.default_rng(3))
    labelled = embedding[group == 0][:5]
    np.testing.assert_array_less(choose.novelty(embedding, labelled)[group == 0], 0.2)
    picked = choose.choose(doubt, embedding, 2, labelled=labelled)
    assert 0 not in group[picked] and 1 in group[picked]


def test_pose_shape_ignores_position_heading_side_and_scale_but_not_the_head():
    pose = np.array([[[20.0, 25.0], [30.0, 25.0], [36.0, 21.0]]])  # tail base, neck, nose
    turn = np.deg2rad(70)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    moved = pose @ rotation.T + [3.0, -4.0]
    mirrored = pose * [-1.0, 1.0]
    bent = pose.copy()
    bent[0, 2] = [31.0, 17.0]  # the nose turned to the side
    shape = choose.pose_shape(np.concatenate([pose, moved, mirrored, bent]))
    np.testing.assert_allclose(shape[0, :2], [0.6, 0.4], atol=1e-5)  # body lengths
    np.testing.assert_allclose(shape[1:3], shape[[0, 0]], atol=1e-5)
    assert abs(shape[3, 1] - shape[0, 1]) > 0.3
    lost = choose.pose_shape(np.array([pose[0], np.full((3, 2), np.nan), pose[0]]))
    np.testing.assert_allclose(lost[1], lost[0])  # no body axis: the median pose


def test_refine_writes_a_dlc_folder_with_the_model_points(tmp_path):
    out = refine_folder(tmp_path, frames=8)
    manifest = read_manifest(out)
    assert len(manifest) == 8 and set(manifest["recording"]) == {"arena", "walk"}
    assert (out / "label.html").stat().st_size > 0 and (out / "config.yaml").is_file()
    video_table = read_table(tmp_path / "arena_video.csv")
    crop_table = read_table(tmp_path / "walk.csv")
    labels = read_labels(out)  # every folder's CollectedData CSV
    assert len(labels) == 8
    for row in manifest.itertuples():
        image = Image.open(out / "labeled-data" / row.recording / row.image)
        got = labels[(labels.recording == row.recording) & (labels.image == row.image)].iloc[0]
        if row.recording == "arena":  # the whole video frame, points in video px
            assert image.size == (640, 480) and row.source == "video"
            expected = video_table.iloc[row.frame]
            for part, k in zip(DLC_BODYPARTS, ("base", "neck", "head")):
                assert got[f"{part}_x"] == pytest.approx(expected[f"{k}_x_video"], abs=1e-5)
                assert got[f"{part}_y"] == pytest.approx(expected[f"{k}_y_video"], abs=1e-5)
            assert row.crop_side == pytest.approx(expected["crop_side"])
        else:  # the 50 x 50 crop, in crop px
            assert image.size == (50, 50) and row.crop_side == 50
            assert got["nose_x"] == pytest.approx(crop_table["head_x"].iloc[row.frame], abs=1e-5)
    # the doubtful stretches are where most frames come from, but not all of them
    doubtful = [
        (r.recording == "arena" and 20 <= r.frame < 80)
        or (r.recording == "walk" and 10 <= r.frame < 40)
        for r in manifest.itertuples()
    ]
    assert sum(doubtful) >= 6
    assert (manifest["flags"].fillna("") != "").sum() == sum(doubtful)


def test_import_dlc_reads_the_refine_folder_of_a_video(tmp_path):
    out = refine_folder(tmp_path, frames=6, movie=False)
    run_cli(["import-dlc", out, "--out", tmp_path / "imported.npz", "--quiet"])
    data = load_labelled(tmp_path / "imported.npz")
    assert len(data.images) == 6
    assert set(np.load(tmp_path / "imported.npz")["video"].tolist()) == {"arena"}


def test_refine_bad_inputs_are_one_line(tmp_path, capsys):
    name, table, movie = write_movie_source(tmp_path)
    assert cli.main(["refine", "--out", str(tmp_path / "r")]) == 2
    assert "give at least one --movie or --video" in capsys.readouterr().err
    short = tmp_path / "short.npz"
    from direction_tagger.io import load_movie, save_movie

    save_movie(short, load_movie(movie).images[:10])
    argv = ["refine", "--movie", name, str(table), str(short), "--out", str(tmp_path / "r")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "were they made from the same movie" in err and not (tmp_path / "r").exists()
    argv = [
        "refine",
        "--video",
        "v",
        str(table),
        str(movie),
        str(movie),
        "--out",
        str(tmp_path / "r"),
    ]
    assert cli.main(argv) == 2
    assert "to-video" in capsys.readouterr().err
    assert cli.main(["refine", "--scorer", "a b", "--movie", name, str(table), str(movie)]) == 2


def test_a_video_source_without_its_video_file_is_refused(tmp_path, capsys):
    name, table, movie, video = write_video_source(tmp_path)
    argv = ["refine", "--video", name, str(table), str(movie), str(tmp_path / "gone.mp4")]
    assert cli.main([*argv, "--frames", "3", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "gone.mp4" in capsys.readouterr().err


def test_train_init_fine_tunes_a_share_of_the_models_steps(tmp_path, capsys):
    import json

    from direction_tagger.data.synth import make_labelled_set
    from direction_tagger.io import save_labelled
    from direction_tagger.train.model_file import load_model

    images, locs = make_labelled_set(40, 0)
    save_labelled(tmp_path / "l.npz", images, locs)
    run_cli(
        [
            "split",
            "--data",
            tmp_path / "l.npz",
            "--group-key",
            "frame",
            "--out",
            tmp_path / "s.json",
        ]
    )
    options = {"steps": 8, "batch_size": 8, "arch_kwargs": {"width": 8}, "eval_every": 4}
    data = ["--data", tmp_path / "l.npz", "--split", tmp_path / "s.json"]
    run_cli(["train", *data, "--out", tmp_path / "a.pt", "--options", json.dumps(options)])
    options.pop("steps")
    tuned = ["train", *data, "--fine-tune", tmp_path / "a.pt", "--out", tmp_path / "b.pt"]
    run_cli([*tuned, "--options", json.dumps(options)])
    _, meta = load_model(tmp_path / "b.pt")
    assert meta["budget"]["steps"] == 2  # a quarter of 8
    assert meta["fine_tuned_from"]["steps"] == 8
    assert "0.25 x the 8 steps" in meta["fine_tuned_from"]["budget"]
    wrong = json.dumps(options | {"arch_kwargs": {"width": 16}})
    argv = [str(a) for a in tuned[:-1]] + [str(tmp_path / "c.pt"), "--options", wrong]
    assert cli.main(argv) == 2
    assert "fine-tuning keeps the architecture" in capsys.readouterr().err

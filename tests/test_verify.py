"""Verify: every fatal problem is one line naming file, key and problem; nothing is unpickled."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from direction_tagger import cli
from direction_tagger.data.verify import (
    PUBLISHED_N,
    label_stats,
    npz_headers,
    verify_labelled,
    verify_movie,
)
from direction_tagger.io import DataError, save_labelled, save_movie


def make_set(n: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 50, 50), dtype=np.uint8)
    locs = rng.uniform(5, 45, (n, 3, 2)).astype(np.float32)
    return images, locs


def write_raw(path: Path, **arrays) -> Path:
    """Write an .npz exactly as given (bypassing the contract writer), pickles allowed."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def contract_arrays(images, locs, **extra):
    return {
        "images": images,
        "locs_base": locs[:, 0],
        "locs_neck": locs[:, 1],
        "locs_head": locs[:, 2],
        **extra,
    }


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text, text
    return text


class CreatesFile:
    """Unpickling this calls open(marker, 'w'): a file appears if anything ever unpickles it."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# --------------------------------------------------------------------------- good data


def test_summary_of_a_good_set(tmp_path):
    images, locs = make_set(10)
    images[7] = images[2]  # one repeated frame
    locs[:] = [[10, 10], [13, 14], [13, 20]]  # |neck-base| = 5, |head-neck| = 6
    path = tmp_path / "set.npz"
    save_labelled(path, images, locs)
    summary = verify_labelled(path)
    assert summary["n_frames"] == 10 and summary["kind"] == "labelled"
    assert summary["keys"]["images"] == {"dtype": "uint8", "shape": [10, 50, 50]}
    assert summary["keys"]["locs_head"] == {"dtype": "float32", "shape": [10, 2]}
    assert summary["duplicates"] == {"frames": 1, "examples": 1}
    assert summary["labels"]["body_length_px"]["median"] == pytest.approx(11.0)
    assert any(f"not the published set's {PUBLISHED_N:,}" in n for n in summary["notes"])
    json.dumps(summary)  # JSON-able as it is


def test_label_stats_heading_convention():
    # base -> neck points right (0 deg); neck -> nose points up on screen (90 deg: -y).
    locs = np.array([[[10, 20], [20, 20], [20, 10]]], dtype=np.float32)
    stats = label_stats(locs)
    assert stats["body_direction_deg"]["histogram"]["counts"][0] == 1
    assert stats["head_direction_deg"]["histogram"]["counts"][9] == 1  # [90, 100)
    assert stats["body_length_px"]["max"] == pytest.approx(20.0)


def test_labels_on_the_frame_edge_are_allowed(tmp_path):
    images, locs = make_set(3)
    locs[0, 0] = [-0.5, 49.5]
    path = tmp_path / "edge.npz"
    save_labelled(path, images, locs)
    assert verify_labelled(path)["n_frames"] == 3


def test_readme_spelling_of_the_neck_key_is_a_note(tmp_path):
    images, locs = make_set(4)
    arrays = contract_arrays(images, locs)
    arrays["locs_necks"] = arrays.pop("locs_neck")
    path = write_raw(tmp_path / "alias.npz", **arrays)
    summary = verify_labelled(path)
    assert any("locs_necks" in n for n in summary["notes"])


def test_movie_summary(tmp_path):
    frames = np.zeros((6, 50, 50), np.uint8)
    frames[3:] = 9
    path = tmp_path / "movie.npz"
    save_movie(path, frames, fps=25)
    summary = verify_movie(path)
    assert summary["n_frames"] == 6 and summary["fps"] == 25 and summary["duration_s"] == 0.24
    assert summary["duplicates"]["consecutive_repeats"] == 4 and not summary["ground_truth"]


def test_cli_writes_summary_montage_and_plots(tmp_path, capsys):
    images, locs = make_set(12)
    data = tmp_path / "set.npz"
    save_labelled(data, images, locs)
    out = tmp_path / "out"
    rc = cli.main(
        [
            "verify",
            "--data",
            str(data),
            "--summary",
            str(out / "summary.json"),
            "--montage",
            str(out / "montage.png"),
            "--plots-dir",
            str(out / "plots"),
            "--expected-n",
            "12",
        ]
    )
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_frames"] == 12 and summary["expected_n"] == 12
    for png in [
        out / "montage.png",
        out / "plots" / "body_length.png",
        out / "plots" / "heading.png",
    ]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert not list(out.rglob(".*tmp*"))
    assert '"n_frames": 12' in capsys.readouterr().out


def test_cli_movie(tmp_path):
    data = tmp_path / "movie.npz"
    save_movie(data, np.random.default_rng(0).integers(0, 256, (5, 50, 50), dtype=np.uint8))
    out = tmp_path / "out"
    rc = cli.main(
        [
            "verify",
            "--movie",
            "--data",
            str(data),
            "--summary",
            str(out / "s.json"),
            "--montage",
            str(out / "m.png"),
            "--plots-dir",
            str(out / "plots"),
        ]
    )
    assert rc == 0 and (out / "plots" / "brightness.png").exists()
    summary = json.loads((out / "s.json").read_text())
    assert summary["fps"] == 30 and summary["fps_from_file"] and summary["labels"] is None


# --------------------------------------------------------------------------- fatal problems


@pytest.mark.parametrize("key", ["images", "meta"])
def test_pickled_object_array_is_refused_and_never_executed(tmp_path, key):
    marker = tmp_path / "pwned"
    images, locs = make_set(4)
    payload = np.array([CreatesFile(marker)], dtype=object)
    arrays = contract_arrays(images, locs) | {key: payload}
    path = write_raw(tmp_path / "evil.npz", **arrays)

    with pytest.raises(DataError) as err:
        verify_labelled(path)
    assert f"{path}: key '{key}' holds a pickled object array" in one_line(err)
    assert not marker.exists()
    with pytest.raises(DataError):
        npz_headers(path)
    assert not marker.exists()

    # Control: the payload is live; anything that did unpickle it would have made the file.
    np.load(path, allow_pickle=True)[key]
    assert marker.exists()


def test_pickle_payload_control_alone(tmp_path):
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(CreatesFile(marker))).close()
    assert marker.exists()


def fatal(tmp_path, **arrays) -> str:
    path = write_raw(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError) as err:
        verify_labelled(path)
    msg = one_line(err)
    assert msg.startswith(f"{path}: "), msg
    return msg


def test_nan_labels(tmp_path):
    images, locs = make_set(5)
    locs[3, 2, 0] = np.nan
    assert "key 'locs_head' has 1 non-finite (NaN/inf) labels" in fatal(
        tmp_path, **contract_arrays(images, locs)
    )


def test_labels_far_outside_the_frame(tmp_path):
    images, locs = make_set(5)
    locs[2, 1] = [56.0, 10.0]
    locs[4, 1] = [-6.0, 10.0]
    locs[3, 1] = [-2.0, 10.0]  # within the margin: kept
    msg = fatal(tmp_path, **contract_arrays(images, locs))
    assert (
        "key 'locs_neck' has 2 labels outside the frame [-0.5, 49.5] px by more than 5 px "
        "(first: frame 2, (56.00, 10.00))" in msg
    )


def test_labels_just_outside_the_frame_are_kept_and_counted(tmp_path):
    """A shifted copy carries a tail base a pixel or two off the edge: one such label must
    not stop a whole augmented set (issue #23)."""
    images, locs = make_set(5)
    locs[0, 0] = [-1.5, 20.0]
    locs[3, 0] = [20.0, 50.4]
    locs[3, 2] = [54.4, 20.0]
    path = write_raw(tmp_path / "shifted.npz", **contract_arrays(images, locs))
    summary = verify_labelled(path)
    assert summary["labels"]["outside_frame"] == 2
    assert any("2 frames have a label just outside the frame" in n for n in summary["notes"])


def test_wrong_image_size(tmp_path):
    images, locs = make_set(5)
    msg = fatal(tmp_path, **contract_arrays(images[:, :48, :48], locs))
    assert "key 'images' has shape (5, 48, 48); expected (N, 50, 50)" in msg


def test_empty_set(tmp_path):
    images, locs = make_set(5)
    assert "key 'images' holds no frames" in fatal(
        tmp_path, **contract_arrays(images[:0], locs[:0])
    )


def test_missing_key(tmp_path):
    images, locs = make_set(5)
    arrays = contract_arrays(images, locs)
    del arrays["locs_head"]
    assert "missing key 'locs_head'" in fatal(tmp_path, **arrays)


def test_unexpected_frame_count_is_a_warning(tmp_path):
    images, locs = make_set(5)
    path = tmp_path / "set.npz"
    save_labelled(path, images, locs)
    summary = verify_labelled(path, expected_n=PUBLISHED_N)
    assert summary["n_matches_expected"] is False
    assert any(n.startswith("WARNING: N = 5 frames, expected 98,944") for n in summary["notes"])
    assert verify_labelled(path, expected_n=0)["n_matches_expected"] is None  # 0: no expectation


def test_not_an_npz(tmp_path):
    path = tmp_path / "page.npz"
    path.write_text("<!DOCTYPE html><html></html>")
    with pytest.raises(DataError) as err:
        verify_labelled(path)
    assert one_line(err).startswith(f"{path}: not a readable .npz file")


def test_cli_fatal_is_one_line_exit_2(tmp_path, capsys):
    images, locs = make_set(5)
    locs[0, 0, 1] = 60
    data = write_raw(tmp_path / "bad.npz", **contract_arrays(images, locs))
    out = tmp_path / "out"
    rc = cli.main(
        [
            "verify",
            "--data",
            str(data),
            "--summary",
            str(out / "s.json"),
            "--montage",
            str(out / "m.png"),
            "--plots-dir",
            str(out / "plots"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "outside the frame" in err[0] and str(data) in err[0]
    assert not (out / "s.json").exists()

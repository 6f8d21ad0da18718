"""`direction-tagger live` (issue #27): on a movie and on a video file it gives the batch
workflow's raw keypoints (within 1e-4 px); results reach a UDP socket; raw frames on stdin
work like a file; bad inputs are one line."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from live_material import TOLERANCE_PX, make_run, run_cli, table_locs

from direction_tagger import cli
from direction_tagger.data.synth.arena import write_arena_video
from direction_tagger.io import KEYPOINTS, load_movie


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("live"))


def raw_locs(table: pd.DataFrame) -> np.ndarray:
    return np.stack([table[[f"{k}_x_raw", f"{k}_y_raw"]].to_numpy() for k in KEYPOINTS], axis=1)


def test_live_on_a_movie_gives_the_predict_commands_keypoints(run, tmp_path):
    movie = run.parents[1] / "movie.npz"
    run_cli(["live", "--run", run, "--input", movie, "--out", tmp_path / "live.csv"])
    live = pd.read_csv(tmp_path / "live.csv")
    assert list(live["frame"]) == list(range(40))
    assert np.abs(raw_locs(live) - table_locs(run.parents[1] / "raw_tta2.csv")).max() <= (
        TOLERANCE_PX
    )
    assert (live["sent_time_s"] >= live["capture_time_s"]).all()
    for column in ("head_direction_deg", "base_p_within_2px", "qc_jump", "polarity_exchanged"):
        assert column in live.columns


def test_live_on_a_video_gives_the_workflows_raw_keypoints(run, tmp_path):
    """The batch chain, track (centre on each frame's own detection) -> predict, against
    live on the same video file."""
    video = tmp_path / "arena.mp4"
    write_arena_video(video, 40, seed=6, tether=False)
    track = ["--table", tmp_path / "t.csv", "--qc", tmp_path / "q.json", "--quiet"]
    run_cli(
        ["track", "--video", video, "--movie", tmp_path / "m.npz", *track, "--smooth-window", 1]
    )
    predict = ["--model", run / "model.pt", "--movie", tmp_path / "m.npz", "--tta", 2]
    run_cli(["predict", *predict, "--precision", "fp32", "--out", tmp_path / "raw.csv"])
    run_cli(["live", "--run", run, "--input", video, "--out", tmp_path / "live.csv"])
    live, tracked = pd.read_csv(tmp_path / "live.csv"), pd.read_csv(tmp_path / "t.csv")
    assert len(live) == len(tracked) == 40
    np.testing.assert_allclose(live[["crop_x", "crop_y"]], tracked[["crop_x", "crop_y"]], atol=1e-3)
    assert np.abs(raw_locs(live) - table_locs(tmp_path / "raw.csv")).max() <= TOLERANCE_PX
    # the video columns are the crop's scaled about the crop centre
    scale = live["crop_side"] / 50
    np.testing.assert_allclose(
        live["head_x_video"], live["crop_x"] + (live["head_x"] - 24.5) * scale, atol=1e-5
    )


def test_live_sends_one_json_datagram_per_frame(run, tmp_path):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    port = receiver.getsockname()[1]
    movie = run.parents[1] / "movie.npz"
    argv = ["live", "--run", run, "--input", movie, "--max-frames", 12]
    run_cli([*argv, "--udp", f"127.0.0.1:{port}", "--out", tmp_path / "live.csv"])
    messages = [json.loads(receiver.recv(65536)) for _ in range(12)]
    receiver.close()
    assert_messages_are_the_rows(messages, pd.read_csv(tmp_path / "live.csv"))


def assert_messages_are_the_rows(messages, live: pd.DataFrame) -> None:
    assert [m["frame"] for m in messages] == list(range(12))
    for message, (_, row) in zip(messages, live.iterrows()):
        assert message["capture_time_s"] <= message["sent_time_s"]
        assert message["capture_time_s"] == pytest.approx(row["capture_time_s"], abs=1e-6)
        np.testing.assert_allclose(
            message["keypoints"]["nose"], row[["head_x", "head_y"]], atol=1e-6
        )
        np.testing.assert_allclose(
            message["raw"]["tail_base"], row[["base_x_raw", "base_y_raw"]], atol=1e-6
        )
        assert message["head_direction_deg"] == pytest.approx(row["head_direction_deg"], abs=1e-6)
        assert set(message["flags"]) == {"jump", "uncertain", "geometry", "swap", "polarity"}
        assert message["polarity_certainty"] == pytest.approx(row["polarity_certainty"], abs=1e-6)
        assert set(message["p_within_2px"]) == {"tail_base", "neck", "nose"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_live_publishes_one_json_message_per_frame_on_zeromq(run, tmp_path):
    """A real SUB socket gets every frame's message, the UDP datagram's JSON; live waits for
    the subscriber to join before the first frame (a publisher drops what comes before)."""
    import zmq

    address = f"tcp://127.0.0.1:{free_port()}"
    context = zmq.Context()
    subscriber = context.socket(zmq.SUB)
    subscriber.setsockopt(zmq.SUBSCRIBE, b"")
    subscriber.setsockopt(zmq.RCVTIMEO, 10_000)
    subscriber.setsockopt(zmq.LINGER, 0)
    subscriber.connect(address)  # before live binds it: zmq keeps trying
    movie = run.parents[1] / "movie.npz"
    argv = ["live", "--run", run, "--input", movie, "--max-frames", 12]
    try:
        run_cli([*argv, "--zmq", address, "--zmq-wait", 10, "--out", tmp_path / "live.csv"])
        messages = [json.loads(subscriber.recv()) for _ in range(12)]
    finally:
        subscriber.close()
        context.term()
    assert_messages_are_the_rows(messages, pd.read_csv(tmp_path / "live.csv"))


def test_zeromq_without_pyzmq_is_one_line(run, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "zmq", None)  # `import zmq` fails as if not installed
    movie = str(run.parents[1] / "movie.npz")
    argv = ["live", "--run", str(run), "--input", movie, "--zmq", "tcp://127.0.0.1:5556"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'direction-tagger[zmq]'" in err[0], err


def test_a_polarity_lag_gives_every_frame_once_in_order_k_frames_late(run, tmp_path):
    """--polarity-lag 5: each frame's result once, stamped with its own frame's capture
    time; the keypoints the batch path's, the polarity the lagged filter's (Tagger.predict
    with the same lag), the last 5 frames given at the end."""
    from direction_tagger import Tagger

    movie = run.parents[1] / "movie.npz"
    run_cli(
        ["live", "--run", run, "--input", movie, "--polarity-lag", 5, "--out", tmp_path / "l.csv"]
    )
    live = pd.read_csv(tmp_path / "l.csv")
    assert list(live["frame"]) == list(range(40))
    assert live["capture_time_s"].is_monotonic_increasing
    assert (live["sent_time_s"] >= live["capture_time_s"]).all()
    assert np.abs(raw_locs(live) - table_locs(run.parents[1] / "raw_tta2.csv")).max() <= (
        TOLERANCE_PX
    )
    lagged = Tagger.from_run(run, polarity_lag=5, warm_up=False).predict(load_movie(movie).images)
    np.testing.assert_array_equal(
        live["polarity_exchanged"].astype(bool), lagged.polarity_exchanged
    )


def test_raw_frames_on_stdin_are_tagged_like_the_file(run, tmp_path):
    movie = run.parents[1] / "movie.npz"
    images = load_movie(movie).images
    command = [str(Path(sys.executable).parent / "direction-tagger"), "live", "--run", str(run)]
    done = subprocess.run(
        [*command, "--input", "-", "--size", "50x50"],
        input=images.tobytes(),
        capture_output=True,
        check=True,
    )
    live = pd.read_csv(io.BytesIO(done.stdout))
    assert len(live) == len(images)
    batch = table_locs(run.parents[1] / "raw_tta2.csv")
    assert np.abs(raw_locs(live) - batch).max() <= TOLERANCE_PX
    assert b"none dropped" in done.stderr


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--input", "-"], "need --size"),
        (["--input", "-", "--size", "50by50"], "WIDTHxHEIGHT"),
        (["--input", "MOVIE", "--udp", "localhost"], "HOST:PORT"),
        (["--input", "nothing.mp4"], "no such file"),
        (["--input", "MOVIE", "--zmq", "127.0.0.1:5556"], "expected e.g. tcp://127.0.0.1:5556"),
    ],
)
def test_bad_live_inputs_are_one_line(run, tmp_path, capsys, extra, expected):
    movie = str(run.parents[1] / "movie.npz")
    extra = [movie if e == "MOVIE" else e for e in extra]
    out = tmp_path / "live.csv"
    assert cli.main(["live", "--run", str(run), *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and expected in err[0] and err[0].startswith("direction-tagger live: error")
    )
    assert not out.exists()


class Collect:
    def __init__(self):
        self.rows = []

    def send(self, row):
        self.rows.append(row)


def test_the_loop_keeps_order_and_stamps_and_passes_errors_on():
    from direction_tagger.live.loop import run_loop
    from direction_tagger.live.stream import CausalStream

    stream = CausalStream()
    skeleton = np.array([[14.0, 24.5], [24.0, 24.5], [32.0, 24.5]])

    def tag(frame):  # the frame's one grey level moves the animal right
        return stream.add(skeleton + [float(frame[0, 0]), 0.0], np.full(3, 0.9), np.full(3, 0.1))

    frames = (np.full((4, 4), i, np.uint8) for i in range(50))
    sink = Collect()
    stats = run_loop(frames, tag, [sink], prepare=lambda f: f + 1)  # the middle thread's work
    assert stats.frames == stats.results == 50 and len(stats.latency_s) == 50
    assert [r["frame"] for r in sink.rows] == list(range(50))
    np.testing.assert_allclose([r["base_x"] for r in sink.rows], 15.0 + np.arange(50))
    assert all(r["capture_time_s"] > 0 for r in sink.rows)

    def fails(frame):
        if frame[0, 0] == 5:
            raise ValueError("frame 5 is bad")
        return frame

    frames = (np.full((4, 4), i, np.uint8) for i in range(50))
    with pytest.raises(ValueError, match="frame 5 is bad"):
        run_loop(frames, tag, [Collect()], prepare=fails)


def test_live_with_an_image_of_the_empty_arena(run, tmp_path, capsys):
    import imageio.v3 as iio

    from direction_tagger.videos.reader import iter_frames, video_info

    video = tmp_path / "arena.mp4"
    write_arena_video(video, 30, seed=8, tether=False)
    frames = np.stack(list(iter_frames(video_info(video))))
    iio.imwrite(tmp_path / "empty.png", np.median(frames, axis=0).astype(np.uint8))
    argv = ["live", "--run", str(run), "--input", str(video), "--background"]
    argv += [str(tmp_path / "empty.png"), "--out", str(tmp_path / "live.csv")]
    # one image cannot say whether the animal is darker or lighter than the floor
    assert cli.main(argv) == 2
    assert "set the polarity" in capsys.readouterr().err
    run_cli([*argv, "--polarity", "dark"])
    live = pd.read_csv(tmp_path / "live.csv")
    # the animal is measured on the first 15 frames; every later frame has its row (found on
    # most: this stand-in "empty" arena, a median of 30 frames, still holds some animal)
    assert list(live["frame"]) == list(range(15, 30)) and live["found"].mean() >= 0.6


@pytest.mark.parametrize("tta", [0, 2])
def test_the_frame_model_runs_in_onnxruntime_with_the_eager_models_numbers(run, tta, monkeypatch):
    """With onnxruntime installed (the `live` extra, in dev) the frame path runs there; without
    it, TorchScript: the same keypoints either way, to TOLERANCE_PX."""
    pytest.importorskip("onnxruntime")
    from direction_tagger.live.engine import FrameModel
    from direction_tagger.movies.predict import load_predictor

    predictor, _ = load_predictor(run / "model.pt", device="cpu", precision="fp32")
    fast = FrameModel(predictor, tta)
    assert fast.onnx is not None
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    plain = FrameModel(predictor, tta)
    assert plain.onnx is None and plain.traced is not None
    assert not predictor.model.training  # the export left the model as it found it
    for crop in load_movie(run.parents[1] / "movie.npz").images[:10]:
        for a, b in zip(fast(crop), plain(crop)):
            np.testing.assert_allclose(a, b, atol=TOLERANCE_PX, equal_nan=True)

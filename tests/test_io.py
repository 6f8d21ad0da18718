"""The data contract: round trips, and one-line errors for bad files."""

import numpy as np
import pytest

from direction_tagger.io import DataError, load_labelled, load_movie, save_labelled, save_movie


def make_set(n=5):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 50, 50), dtype=np.uint8)
    locs = rng.uniform(0, 49, (n, 3, 2)).astype(np.float32)
    return images, locs


def test_labelled_round_trip(tmp_path):
    images, locs = make_set()
    save_labelled(tmp_path / "set.npz", images, locs, video=np.arange(5))
    data = load_labelled(tmp_path / "set.npz")
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.locs, locs)
    np.testing.assert_array_equal(data.extra["video"], np.arange(5))
    with np.load(tmp_path / "set.npz") as raw:  # the contract's own key names
        np.testing.assert_array_equal(raw["locs_head"], locs[:, 2])
        np.testing.assert_array_equal(raw["locs_base"], locs[:, 0])


def test_movie_round_trip_with_and_without_truth(tmp_path):
    images, locs = make_set(7)
    save_movie(tmp_path / "m.npz", images, fps=25, locs=locs)
    movie = load_movie(tmp_path / "m.npz")
    assert movie.fps == 25 and len(movie) == 7
    np.testing.assert_array_equal(movie.locs, locs)
    np.savez(tmp_path / "bare.npz", images=images)
    bare = load_movie(tmp_path / "bare.npz")
    assert bare.locs is None and bare.fps == 30


def test_published_neck_spelling_is_accepted_with_a_warning(tmp_path):
    images, locs = make_set()
    np.savez(
        tmp_path / "old.npz",
        images=images,
        locs_base=locs[:, 0],
        locs_necks=locs[:, 1],
        locs_head=locs[:, 2],
    )
    with pytest.warns(UserWarning, match="locs_necks"):
        data = load_labelled(tmp_path / "old.npz")
    np.testing.assert_array_equal(data.locs[:, 1], locs[:, 1])


def test_object_array_is_refused_without_unpickling(tmp_path):
    images, locs = make_set()
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    objects = np.empty(5, dtype=object)
    objects[:] = [Payload() for _ in range(5)]
    np.savez(
        tmp_path / "evil.npz",
        images=images,
        locs_base=objects,
        locs_neck=locs[:, 1],
        locs_head=locs[:, 2],
    )
    assert not marker.exists()  # saving pickles, it must not have run the payload yet
    with pytest.raises(DataError) as err:
        load_labelled(tmp_path / "evil.npz")
    message = str(err.value)
    assert "evil.npz" in message and "locs_base" in message and "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize(
    "arrays, key",
    [
        ({"locs_base": 1, "locs_neck": 1, "locs_head": 1}, "images"),
        ({"images": 1, "locs_neck": 1, "locs_head": 1}, "locs_base"),
    ],
)
def test_missing_key_is_a_one_line_error(tmp_path, arrays, key):
    images, locs = make_set()
    values = {
        "images": images,
        "locs_base": locs[:, 0],
        "locs_neck": locs[:, 1],
        "locs_head": locs[:, 2],
    }
    np.savez(tmp_path / "s.npz", **{k: values[k] for k in arrays})
    with pytest.raises(DataError, match=f"s.npz: missing key '{key}'"):
        load_labelled(tmp_path / "s.npz")


def test_wrong_frame_size_and_empty_and_not_npz(tmp_path):
    np.savez(tmp_path / "big.npz", images=np.zeros((3, 64, 64), np.uint8))
    with pytest.raises(DataError, match=r"big.npz: key 'images' has shape \(3, 64, 64\)"):
        load_movie(tmp_path / "big.npz")
    np.savez(tmp_path / "empty.npz", images=np.zeros((0, 50, 50), np.uint8))
    with pytest.raises(DataError, match="empty.npz: key 'images' holds no frames"):
        load_movie(tmp_path / "empty.npz")
    (tmp_path / "page.npz").write_text("<html>quota exceeded</html>")
    with pytest.raises(DataError, match="page.npz: not a readable .npz"):
        load_movie(tmp_path / "page.npz")


def test_nan_labels_are_refused(tmp_path):
    images, locs = make_set()
    locs[2, 1, 0] = np.nan
    save_labelled(tmp_path / "nan.npz", images, locs)
    with pytest.raises(DataError, match="nan.npz: key 'locs_neck' has 1 non-finite"):
        load_labelled(tmp_path / "nan.npz")


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    images, locs = make_set()
    save_labelled(tmp_path / "out.npz", images, locs)
    good = (tmp_path / "out.npz").read_bytes()

    def crash_midway(f, **arrays):
        f.write(b"PK half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save_labelled(tmp_path / "out.npz", images[:2], locs[:2])
    assert [p.name for p in tmp_path.iterdir()] == ["out.npz"]  # no temporary left over
    assert (tmp_path / "out.npz").read_bytes() == good  # the good file was not touched

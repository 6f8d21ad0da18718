"""QC that separates errors from behaviour (issue #24): a short body with confident,
consistent points is a rearing or grooming animal, not an error; held-out labelled frames
say how often each flag points at a real error."""

from __future__ import annotations

import numpy as np

from direction_tagger.evaluate.qc_precision import flag_precision
from direction_tagger.movies.qc import geometry_reference, qc_flags

M = 30


def _walk(length: np.ndarray) -> np.ndarray:
    """(M, 3, 2) a still rat whose body is `length` (M,) px long, neck 60 % of the way."""
    base = np.tile([14.0, 24.5], (len(length), 1))
    nose = base + np.stack([length, np.zeros_like(length)], axis=1)
    neck = base + 0.6 * (nose - base)
    return np.stack([base, neck, nose], axis=1)


def _reference() -> dict:
    rng = np.random.default_rng(0)
    return geometry_reference(_walk(rng.uniform(20.0, 26.0, 500)))


def test_a_short_confident_steady_body_is_behaviour_not_an_error():
    # rearing: seen from above the body shrinks to 9 px over 4 frames, holds, and grows back
    # (the nose moves 3.5 px a frame: no jump)
    length = np.interp(np.arange(M), [0, 8, 12, 20, 24, M - 1], [23, 23, 9, 9, 23, 23])
    locs = _walk(length)
    confident = np.full((M, 3), 0.99)
    flags = qc_flags(locs, confident, reference=_reference(), p_within_3=confident)
    assert not flags["jump"].any()
    assert not flags["geometry"].any()
    # the same frames with a doubtful point are flagged
    doubtful = confident.copy()
    doubtful[14, 0] = 0.5
    flags = qc_flags(locs, confident, reference=_reference(), p_within_3=doubtful)
    assert flags["geometry"][14] and flags["uncertain"][14]
    assert flags["geometry"].sum() == 1
    # and so is a short body that arrives in a jump (where it jumps; once steady, it is not)
    jumpy = _walk(np.where(np.arange(M) >= 10, 9.0, 23.0))
    flags = qc_flags(jumpy, confident, reference=_reference(), p_within_3=confident)
    assert flags["jump"][10] and flags["geometry"][10] and not flags["geometry"][12:].any()


def test_a_long_body_is_flagged_however_confident():
    length = np.full(M, 23.0)
    length[15] = 40.0
    flags = qc_flags(
        _walk(length), np.full((M, 3), 0.99), reference=_reference(), p_within_3=np.ones((M, 3))
    )
    assert flags["geometry"][15] and flags["geometry"].sum() == 1


def test_flag_precision_counts_flagged_frames_that_are_wrong():
    errors = np.array([[0.5, 0.5, 0.5], [4.0, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 5.0, 0.5]])
    flags = {"uncertain": np.array([True, True, False, False]), "geometry": np.zeros(4, bool)}
    out = flag_precision(flags, errors, radius_px=3.0)
    assert out["frames"] == 4 and out["wrong_frames"] == 2
    assert out["flags"]["uncertain"] == {
        "flagged": 2,
        "flagged_share": 0.5,
        "precision": 0.5,
        "caught": 1,
    }
    assert out["flags"]["geometry"]["precision"] is None
    assert out["any"]["caught"] == 1

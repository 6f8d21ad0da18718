"""Where live results go: CSV lines (stdout or a file, flushed line by line), UDP datagrams
and ZeroMQ messages of one JSON object each. Every record carries the frame's capture time (when its
last byte was read) and the time the result left (`sent_time_s`), both seconds since the
epoch (time.time()), so a receiver on the same clock can measure the delay itself."""

from __future__ import annotations

import json
import math
import socket
import time

from ..io import KEYPOINT_NAMES, KEYPOINTS


def record(result, capture_time: float) -> dict:
    """One frame's result as a flat dict of the CSV's columns (sent time excluded)."""
    row = {"frame": result.frame, "capture_time_s": capture_time}
    for k, name in enumerate(KEYPOINTS):
        row[f"{name}_x"], row[f"{name}_y"] = (float(v) for v in result.locs[k])
    row["body_direction_deg"] = result.body_direction_deg
    row["head_direction_deg"] = result.head_direction_deg
    row["polarity_exchanged"] = int(result.polarity_exchanged)
    row["polarity_certainty"] = float(result.polarity_certainty)
    for k, name in enumerate(KEYPOINTS):
        row[f"{name}_confidence"] = float(result.confidence[k])
        row[f"{name}_spread_px"] = float(result.spread[k])
        if result.p_within_3px is not None:  # calibrated
            row[f"{name}_p_within_2px"] = float(result.p_within_2px[k])
    for k, name in enumerate(KEYPOINTS):
        row[f"{name}_x_raw"], row[f"{name}_y_raw"] = (float(v) for v in result.locs_raw[k])
    for flag, value in result.flags.items():
        row[f"qc_{flag}"] = int(value)
    if result.locs_video is not None:
        row["crop_x"], row["crop_y"], row["crop_side"] = (
            result.crop_x,
            result.crop_y,
            result.crop_side,
        )
        row["found"] = int(result.found)
        for k, name in enumerate(KEYPOINTS):
            row[f"{name}_x_video"], row[f"{name}_y_video"] = (
                float(v) for v in result.locs_video[k]
            )
    return row


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6f}"
    return str(value)


class CsvSink:
    """A header, then one line per frame, flushed at once (a reader downstream gets each
    frame as it is made)."""

    def __init__(self, stream):
        self.stream = stream
        self.columns = None

    def send(self, row: dict) -> None:
        if self.columns is None:
            self.columns = [*row, "sent_time_s"]
            self.stream.write(",".join(self.columns) + "\n")
        cells = [_cell(row.get(c, "")) for c in self.columns[:-1]]
        self.stream.write(",".join(cells) + f",{time.time():.6f}\n")
        self.stream.flush()


def json_message(row: dict) -> bytes:
    """A frame's record as one JSON object (UTF-8): keypoints by name ({"tail_base": [x, y],
    ...}, the frame's own; `video` in video px when tracking), directions, P, flags, times
    (`sent_time_s` stamped now). NaN (a missing value) as null."""
    message = {"frame": row["frame"], "capture_time_s": row["capture_time_s"]}
    names = {k: KEYPOINT_NAMES[k].replace(" ", "_") for k in KEYPOINTS}
    message["keypoints"] = {names[k]: [row[f"{k}_x"], row[f"{k}_y"]] for k in KEYPOINTS}
    message["raw"] = {names[k]: [row[f"{k}_x_raw"], row[f"{k}_y_raw"]] for k in KEYPOINTS}
    if "crop_x" in row:
        message["video"] = {names[k]: [row[f"{k}_x_video"], row[f"{k}_y_video"]] for k in KEYPOINTS}
        message["crop"] = [row["crop_x"], row["crop_y"], row["crop_side"]]
    p = "p_within_2px" if f"{KEYPOINTS[0]}_p_within_2px" in row else "confidence"
    message[p] = {names[k]: row[f"{k}_{p}"] for k in KEYPOINTS}
    for key in ("body_direction_deg", "head_direction_deg"):
        message[key] = row[key]
    message["polarity_exchanged"] = bool(row["polarity_exchanged"])
    message["polarity_certainty"] = row["polarity_certainty"]
    message["flags"] = {c[3:]: bool(v) for c, v in row.items() if c.startswith("qc_")}
    message["sent_time_s"] = time.time()
    return json.dumps(_finite(message), allow_nan=False).encode()


class UdpSink:
    """One datagram per frame: `json_message`."""

    def __init__(self, host: str, port: int):
        self.address = (host, int(port))
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, row: dict) -> None:
        self.socket.sendto(json_message(row), self.address)

    def close(self) -> None:
        self.socket.close()


def import_zmq():
    """pyzmq, an optional extra: imported only when --zmq asks for it."""
    try:
        import zmq
    except ImportError:
        from ..io import DataError

        raise DataError(
            "--zmq needs pyzmq, which is not installed: pip install 'direction-tagger[zmq]'"
        ) from None
    return zmq


class ZmqSink:
    """A ZeroMQ publisher bound at `address` (tcp://127.0.0.1:5556, tcp://*:5556): one
    message per frame, `json_message` (the UDP datagram), no topic frame (subscribe to b""
    for all). A publisher drops what it sends before a subscriber has joined: `wait_s` waits
    that long for the first (an XPUB socket sees the subscription come in), so that no frame
    is lost at the start; `subscribed` says whether one came (None: not waited)."""

    def __init__(self, address: str, wait_s: float = 0.0, high_water_mark: int = 10_000):
        zmq = import_zmq()
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.XPUB)  # a PUB that also hears subscriptions
        self.socket.setsockopt(zmq.SNDHWM, high_water_mark)  # frames queued per slow reader
        self.socket.setsockopt(zmq.LINGER, 2000)  # ms to deliver what is queued on close
        try:
            self.socket.bind(address)
        except zmq.ZMQError as err:
            from ..io import DataError

            self.close()
            raise DataError(
                f"--zmq {address}: {err} (expected e.g. tcp://127.0.0.1:5556)"
            ) from None
        self.subscribed = self.socket.poll(int(1000 * wait_s)) != 0 if wait_s > 0 else None

    def send(self, row: dict) -> None:
        self.socket.send(json_message(row))

    def close(self) -> None:
        self.socket.close()
        self.context.term()


def _finite(value):
    """NaN (a missing value) as JSON null, in nested dicts and lists."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse_address(text: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port)."""
    from ..io import DataError

    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DataError(f"--udp: expected HOST:PORT (e.g. 127.0.0.1:9000), got {text}")
    return host, int(port)

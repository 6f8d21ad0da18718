"""The live loop: one thread does nothing but wait for the next frame and hand it over with
the time its last byte arrived; the calling thread tags each frame as soon as it is handed
over (no batching) and sends the result.

With `prepare` (full video frames: finding the animal and cropping, ~5-6 ms of CPU a
640x480 frame), a middle thread prepares each frame while the calling thread tags the one
before: a frame's latency is still the sum of both, but the two cores share the work, so
frames can come as fast as the slower half alone takes (the model's forward pass runs
without the GIL; most of the finder's numpy work too).

Frames are never dropped: a frame that arrives while the one before is still being tagged
waits in a queue (its wait counts in its latency, and the deepest the queue got is
reported). The queue holds at most QUEUE_FRAMES; beyond that the reader waits, which for a
file is harmless and for a camera leaves frames in ffmpeg's buffers.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .sinks import record

QUEUE_FRAMES = 1024
_END = object()


@dataclass
class LoopStats:
    frames: int = 0  # frames read
    results: int = 0  # results sent (fewer while the tracker learns the background)
    latency_s: list = field(default_factory=list)  # frame read -> last result sent, per result
    # CPU time per result (prepare + tag + send, in their threads): what the latency would be
    # on an idle machine with the frame never waiting, whatever else the machine is doing
    cpu_s: list = field(default_factory=list)
    deepest_queue: int = 0

    def summary(self) -> str:
        if not self.latency_s:
            return f"{self.frames} frames read, no result sent"
        ms = 1e3 * np.percentile(self.latency_s, [50, 99, 100])
        return (
            f"{self.frames} frames read, {self.results} results sent; frame read -> result "
            f"sent: p50 {ms[0]:.2f} ms, p99 {ms[1]:.2f} ms, max {ms[2]:.2f} ms; at most "
            f"{self.deepest_queue} frames waited; none dropped; CPU per result p50 "
            f"{1e3 * np.median(self.cpu_s):.2f} ms"
        )


def _read(frames, out: queue.Queue, stop: threading.Event, max_frames: int | None) -> None:
    """The reader thread: stamp each frame as it arrives and queue it; then the end (or the
    error that ended it)."""
    try:
        for index, frame in enumerate(frames):
            if stop.is_set() or (max_frames is not None and index >= max_frames):
                break
            out.put((index, time.time(), time.perf_counter(), frame, 0.0))
    except BaseException as err:  # raised again in the tagging thread
        out.put(err)
    out.put(_END)


def _prepare(prepare, given: queue.Queue, out: queue.Queue) -> None:
    """The middle thread: `prepare` each frame in order, keeping its stamps."""
    try:
        while (item := given.get()) is not _END:
            if isinstance(item, BaseException):
                break
            index, wall, arrived, frame, _ = item
            cpu = time.thread_time()
            prepared = prepare(frame)
            out.put((index, wall, arrived, prepared, time.thread_time() - cpu))
    except BaseException as err:
        item = err
    if isinstance(item, BaseException):
        out.put(item)
    out.put(_END)


def run_loop(
    frames, tag, sinks, max_frames: int | None = None, prepare=None, flush=None
) -> LoopStats:
    """Tag every frame of the iterator `frames` with `tag(frame)` (a FrameResult, or None
    while nothing can be said yet) and send each result to every sink; with `prepare`,
    `tag(prepare(frame))`, prepare running in a thread of its own. A result may be that of
    a frame `result.lag_frames` back (a polarity lag): it is stamped with that frame's
    capture time and index. `flush()`, at the end, gives the results still held back."""
    read: queue.Queue = queue.Queue(QUEUE_FRAMES)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read, args=(frames, read, stop, max_frames), name="frame-reader", daemon=True
    )
    waiting = read
    if prepare is not None:
        waiting = queue.Queue(QUEUE_FRAMES)
        threading.Thread(
            target=_prepare, args=(prepare, read, waiting), name="frame-prepare", daemon=True
        ).start()
    stats = LoopStats()
    stamps: deque = deque(maxlen=QUEUE_FRAMES)  # (index, wall, arrived) of the last frames

    def send(result, cpu_s: float | None) -> None:
        index, wall, arrived = stamps[-1 - result.lag_frames]
        result.frame = index
        row = record(result, wall)
        for sink in sinks:
            sink.send(row)
        stats.latency_s.append(time.perf_counter() - arrived)
        if cpu_s is not None:  # not for the results held back to the end
            stats.cpu_s.append(cpu_s)
        stats.results += 1

    reader.start()
    try:
        while (item := waiting.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            index, wall, arrived, frame, cpu_before = item
            stamps.append((index, wall, arrived))
            stats.frames += 1
            stats.deepest_queue = max(stats.deepest_queue, read.qsize() + waiting.qsize())
            cpu = time.thread_time()
            result = tag(frame)
            if result is not None:
                send(result, cpu_before + time.thread_time() - cpu)
        if flush is not None:
            for result in flush():
                send(result, None)
    finally:
        stop.set()
        for left in {read, waiting}:  # a thread waiting on a full queue gets going and stops
            try:
                while True:
                    left.get_nowait()
            except queue.Empty:
                pass
    return stats

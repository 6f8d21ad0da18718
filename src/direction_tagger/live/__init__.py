"""Live use: one frame in, its keypoints and directions out as soon as possible.

engine.py runs the model on one frame at a time, tracker.py follows the animal in full video
frames frame by frame, stream.py turns each answer into a result (calibrated P, causal
polarity, optionally a few frames late, causal QC flags), and sources.py / sinks.py (CSV,
UDP, ZeroMQ) / loop.py are the `live` command's
frames in, results out and the thread between them. The public API over all of it is
`direction_tagger.api`.
"""

"""The track table's columns (videos/track.py writes it), on their own: readers of the table
(to-video, the movie chain) need them without the tracker and its image libraries."""

TRACK_COLUMNS = (
    "frame",
    "time_s",
    "crop_x",
    "crop_y",
    "crop_side",
    "found",
    "jump",
    "raw_x",
    "raw_y",
    "body_length_px",
)
# Where the tail joins the body (finder.Detection.tail_x/y), in video px and in the frame's
# crop px: the polarity evidence the movie chain reads (movies/evidence.py). Empty where no
# tail was seen. Optional on reading: track tables made before them still work.
TAIL_COLUMNS = ("tail_root_x", "tail_root_y", "tail_root_x_crop", "tail_root_y_crop")

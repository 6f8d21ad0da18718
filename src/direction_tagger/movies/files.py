"""A movie's files, in one place (no imports: the workflow plans with it)."""

# a movie's files in results/{run}/movies/{movie}/ from predict -> smooth + QC (the rules and
# `tag-movies` name them alike)
MOVIE_FILES = {
    "raw": "predictions_raw.csv",
    "truth": "ground_truth_metrics.json",
    "smooth": "predictions.csv",
    "dlc": "predictions_dlc.csv",
    "qc": "qc.json",
}

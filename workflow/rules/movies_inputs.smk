# Input and param functions of the rules in movies.smk (which includes this file).
MOVIE_FIGURES = [
    "direction_traces.png",
    "trajectory.png",
    "heading_polar.png",
    "qc_timeline.png",
]


def movie_path(wildcards):
    return checked(movies()[wildcards.movie])

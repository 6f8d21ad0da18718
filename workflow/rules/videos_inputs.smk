# Input functions of the rules in videos.smk (which includes this file).
def video_path(wildcards):
    return videos()[wildcards.video]


def video_track(wildcards):
    """The track table the run's predictions were cut by (the tracker's, or its re-cut)."""
    return tracked_video_files(
        wildcards.run, wildcards.video, config["track"]["recentre"]
    )["track"]

# Input functions of the rules in videos.smk (which includes this file).
def video_path(wildcards):
    return videos()[wildcards.video]

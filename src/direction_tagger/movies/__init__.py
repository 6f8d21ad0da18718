"""movies: predict every frame, smooth and check the tracks, render the tagged video and figures."""

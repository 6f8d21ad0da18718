"""data: get the labelled set and the movies (download, or synthesize for the demo and tests) and verify them."""

"""direction-tagger: tail base, neck and nose of a rat in 50x50 top-view frames."""

__version__ = "0.1.0"

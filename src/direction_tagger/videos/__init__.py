"""Raw videos: find the animal, crop it, and bring predictions back to video pixels."""

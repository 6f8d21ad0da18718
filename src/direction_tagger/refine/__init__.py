"""Refine: pick the frames worth labelling, label them in a browser, retrain.

choose.py (which frames: doubt x diversity), extract.py (the refine folder: frames, the
model's points as DeepLabCut's CollectedData CSV), labelled_data.py (that layout, written and
read back), page.py + label_page.html (the labelling page)."""

"""originals: the originals behind an augmented set (recover), our own augmentation of them, and leak-free splits."""

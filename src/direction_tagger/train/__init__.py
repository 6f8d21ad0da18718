"""train: the model zoo, online augmentation and the training loop."""

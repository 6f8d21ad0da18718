"""evaluate: accuracy on labelled frames the model never trained on."""

"""Calibration targets, the populations they were published for, and the model's estimates of them."""

"""Training as plain torch code (no Django): the config, the loop, checkpoints, metrics."""

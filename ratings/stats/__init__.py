"""Agreement statistics for expert image-quality ratings: plain numpy/scipy, no Django import."""

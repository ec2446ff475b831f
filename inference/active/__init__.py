"""Active learning: strategies (plain torch) and the queries a researcher runs over a study."""

"""scoreaug_lab.train."""

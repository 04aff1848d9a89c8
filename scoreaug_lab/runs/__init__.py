"""scoreaug_lab.runs."""

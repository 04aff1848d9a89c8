"""scoreaug_lab.evaluate."""

"""scoreaug_lab.lab."""

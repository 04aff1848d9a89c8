"""Runs on disk.

    folder.py      a run folder (config.json, metrics.jsonl, checkpoint.pt): written and read here; `Run`
    checkpoint.py  atomic checkpoints, loaded without unpickling code
    keys.py        the store folder and the key of a configuration (`config_key`, `digest`)
    store.py       the run store: runs keyed by configuration, trained once, then loaded
    workers.py     `WorkerPool`: training (and commands) in worker processes, one per core
    background.py  the widgets' background training thread
"""

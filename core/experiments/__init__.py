"""Experiments: variants x folds x seeds queued as ordinary runs, compared honestly, searched with Optuna,
ensembled into one submission.

    spec.py     what an experiment is, checked before anything is queued
    queue.py    its folder, queue and runner (one run at a time, or one per visible GPU)
    oof.py      each run's validation probabilities; folds joined out-of-fold
    compare.py  mean ± spread per variant and paired bootstrap verdicts
    search.py   Optuna studies over declared parameters, workers on any machine reaching the storage
    ensemble.py averaged probabilities of runs or of a variant's folds -> submission.csv
    cli.py      `python -m core experiment ...`
"""

"""Developer mode (``vton-studio --dev``, or Settings → Developer): the tabs that drive the
data, training, distillation, export and evaluation code of ``models/`` on this machine.

One module per tab, the behaviour (``<tab>.py``, testable without pixels) apart from the
layout (``<tab>_view.py``), plus what they share:

==================  ===================================================================
``jobs.py``         the job runner: every job is ``python -m app.cli ...`` in a subprocess,
                    one at a time, queued → running → finished | paused | cancelled |
                    failed; its log kept beside what it writes; the list survives a restart
``requests.py``     one frozen request per kind of job (render, check, train, export,
                    evaluate) and the exact ``vton`` command line it runs
``progress.py``     follows a run's ``metrics.jsonl`` (losses, samples/s, ETA, grids, events)
``probes.py``       asks a subprocess what torch sees (CPU, CUDA) and what a config holds
``folders.py``      where the developer tabs keep things: ``<data dir>/dev``
``controller.py``   the developer area's services, built once per window
``monitor*.py``     a training run's live view (curves, samples/s, ETA, grid, log, buttons)
``data*.py``        Data: render a synthetic set, check a folder, its contact sheet
``train*.py``       Train: VAE, teacher or student from a config; the runs on this machine
``distill*.py``     Distill: the student from a teacher run, FGA switches, ablations
``export*.py``      Export: checkpoint → bundle, parity figures, "use in the studio"
``evaluate*.py``    Evaluate: bundles × test seed → scores, baselines, grids, side by side
``page_view.py``    the Developer page holding the five tabs
==================  ===================================================================

The app never imports torch: the jobs (and the probes) run the real code in a subprocess.
"""

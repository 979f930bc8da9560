"""One-command training recipes (``python -m models.recipes.default``)."""

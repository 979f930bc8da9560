"""`vton data`: filled in by its own issue."""


def register(sub) -> None:
    return None

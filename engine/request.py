"""Everything that determines a try-on lives in one immutable request (STYLE: WorkflowInput).

History stores the request, so any result can be redone.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import Cancelled

CATEGORIES = ("upper", "lower", "dress")
MAX_STEPS = 16


@dataclass(frozen=True)
class TryOnRequest:
    person: Path
    garment: Path
    category: str = "upper"
    steps: int = 4
    seed: int = 0
    size: tuple[int, int] | None = None  # (H, W); None = the bundle's default resolution
    bundle: str | None = None  # bundle folder/zip; None = whatever the runner has loaded
    garment_features: str | None = None  # "cached" | "per_step"; None = the manifest's choice
    restore: bool = True  # keep the portrait's own pixels where the try-on left it unchanged

    def __post_init__(self):
        object.__setattr__(self, "person", Path(self.person))
        object.__setattr__(self, "garment", Path(self.garment))
        if self.size is not None:
            object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
        if self.category not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}, not {self.category!r}")
        if not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {MAX_STEPS}, not {self.steps}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["person"], d["garment"] = str(self.person), str(self.garment)
        d["size"] = list(self.size) if self.size else None
        return d

    @classmethod
    def from_json(cls, d: dict) -> TryOnRequest:
        d = dict(d)
        if d.get("size"):
            d["size"] = tuple(d["size"])
        return cls(**d)


@dataclass(frozen=True, eq=False)
class TryOnResult:
    image: np.ndarray  # RGB uint8 (H, W, 3), the portrait's own size
    request: TryOnRequest
    size: tuple[int, int]  # model resolution used
    bundle_name: str
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds; "total" included


@dataclass(frozen=True)
class Progress:
    stage: str  # "load" | "encode" | "garment" | "denoise" | "decode" | "done"
    step: int  # denoise steps finished
    steps: int
    elapsed: float  # seconds since the run started
    eta: float | None  # seconds left, once a step has been timed

    @property
    def fraction(self) -> float:
        order = {"load": 0.0, "encode": 0.05, "garment": 0.1, "denoise": 0.15, "decode": 0.95, "done": 1.0}
        if self.stage == "denoise" and self.steps:
            return 0.15 + 0.8 * self.step / self.steps
        return order.get(self.stage, 0.0)


class CancelToken:
    """Set from any thread; the engine checks it between stages, steps and bands, and a
    running ONNX Runtime call is told to stop through :meth:`on_cancel` callbacks."""

    def __init__(self):
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list = []

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback) -> None:
        """Call ``callback()`` (from the cancelling thread) when cancelled; at once if already."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()

"""Live loss curves, drawn by pyqtgraph (imported only when the developer page is built)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

PALETTE = ("#4f46e5", "#059669", "#d97706", "#e11d48", "#0284c7", "#7c3aed", "#65a30d", "#475569", "#db2777",
           "#0d9488")


class LossAxis(pg.AxisItem):
    """The loss axis: in log mode pyqtgraph labels every minor tick (0.1, 0.09, 0.08...), which
    overlap on a short chart; keep the labels that have room, 1-2-5 first."""

    MIN_GAP_PX = 16.0

    def logTickStrings(self, values, scale, spacing):
        strings = super().logTickStrings(values, scale, spacing)
        lo, hi = self.range
        length = self.geometry().height() if self.orientation in ("left", "right") else self.geometry().width()
        if hi <= lo or length <= 0:
            return strings
        px = length / (hi - lo)

        def rank(i: int) -> int:
            lead = round(10 ** (values[i] - math.floor(values[i] + 1e-9)))
            return {1: 0, 2: 1, 5: 1}.get(lead, 2)

        kept: list[float] = []
        for i in sorted(range(len(values)), key=rank):
            if all(abs(values[i] - v) * px >= self.MIN_GAP_PX for v in kept):
                kept.append(values[i])
        return [s if v in kept else "" for v, s in zip(values, strings, strict=True)]


class LossChart(pg.PlotWidget):
    """One curve per ``loss*`` series of a run (log scale while every value is positive)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent=parent, background="w", axisItems={"left": LossAxis("left")})
        self.setObjectName("LossChart")
        self.setMinimumHeight(220)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        item.setMenuEnabled(False)
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen(pg.mkPen("#9aa1ae"))
            item.getAxis(axis).setTextPen(pg.mkPen("#3f4654"))
        self.legend = item.addLegend(offset=(-8, 8), labelTextColor="#3f4654", brush=pg.mkBrush(255, 255, 255, 220))
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._log = False

    def set_series(self, series: dict[str, tuple[list[float], list[float]]]) -> None:
        """Show exactly these series (name -> (steps, values))."""
        for name in [n for n in self.curves if n not in series]:
            self.removeItem(self.curves.pop(name))
        positive = all(v > 0 for _, ys in series.values() for v in ys)
        if positive != self._log:
            self._log = positive
            self.getPlotItem().setLogMode(y=positive)
        for i, name in enumerate(sorted(series)):
            xs, ys = series[name]
            curve = self.curves.get(name)
            if curve is None:
                color = PALETTE[i % len(PALETTE)]
                width = 2.4 if name == "loss" else 1.6
                curve = self.plot(name=name, pen=pg.mkPen(color, width=width),
                                  symbol="o" if len(xs) < 3 else None, symbolSize=5, symbolBrush=color,
                                  symbolPen=None)
                self.curves[name] = curve
            curve.setData(xs, ys, symbol="o" if len(xs) < 3 else None)
        if series:
            self.getPlotItem().enableAutoRange()

    def point_count(self) -> int:
        return sum(len(c.getData()[0]) if c.getData()[0] is not None else 0 for c in self.curves.values())

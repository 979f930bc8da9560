"""Deferred rendering: parts drawn as ids into a supersampled map, each visible point shaded once.

A picture is a list of ``Part``s drawn back to front: polygons (image pixels) and a shader
that colours any set of points on the part. Drawing writes only the part's id (1..255) into
a ``PartMap`` at ``ss``× supersampling, in C through Pillow; nothing is coloured yet. Then
``resolve`` looks at what is *visible*: a pixel whose ``ss``² subpixels show one part is
shaded once at its centre, a pixel on an edge is shaded at each subpixel and averaged (its
anti-aliasing). Every part is shaded once, on exactly its visible points, so nothing is
coloured and then hidden, and no layer is blended over another.

The same map gives the garment masks ("covers at least half of a pixel, after arms and
hair") by counting subpixels, and two maps that differ in one garment differ exactly where
that garment is or was, so the second picture is resolved only there (``changed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

F32 = np.float32

Shader = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (X, Y) float32 (n,) -> rgb (3, n) or (3, 1)


class Part(NamedTuple):
    polys: list[np.ndarray]  # image-pixel polygons (k, 2) whose union is the part
    shade: Shader
    tag: str | None = None  # garment category, for masks
    grid: Shader | None = None  # optional: the same colours for a row of X (1, w) and a column of Y (h, 1)


def supersampling(size: tuple[int, int]) -> int:
    """Subpixels per side: 4 below 200 pixels of height, else 2."""
    return 4 if size[0] < 200 else 2


# -- drawing polygons into a numpy buffer ------------------------------------------------


def _public_drawer(buf: np.ndarray):
    h, w = buf.shape
    img = Image.frombuffer("L", (w, h), buf, "raw", "L", 0, 1)
    img.readonly = 0  # frombuffer maps ``buf``: drawing must write into it, not into a copy
    draw = ImageDraw.Draw(img)
    return lambda xy, ink: draw.polygon(xy.tolist(), fill=ink)


def _core_drawer(buf: np.ndarray):
    """The same through Pillow's C core, without the Python wrappers (checked at import)."""
    h, w = buf.shape
    draw = Image.core.draw(Image.core.map_buffer(buf, (w, h), "raw", 0, ("L", 0, 1)), 0)
    return lambda xy, ink: draw.draw_polygon(xy, ink, 1)


def _pick_drawer():
    rng = np.random.default_rng(0)
    try:
        for _ in range(8):
            xy = np.trunc(rng.uniform(-9.0, 70.0, 18)).astype(F32)
            ref = Image.new("L", (64, 48), 0)
            ImageDraw.Draw(ref).polygon(xy.tolist(), fill=3)
            outs = []
            for make in (_core_drawer, _public_drawer):
                buf = np.zeros((48, 64), np.uint8)
                make(buf)(xy, 3)
                outs.append(buf.tobytes())
            if not outs[0] == outs[1] == ref.tobytes():
                return _public_drawer
        return _core_drawer
    except Exception:  # a Pillow without these internals
        return _public_drawer


_drawer = _pick_drawer()


class PartMap:
    """Part ids at ``ss``× supersampling, drawn back to front (0 is the background)."""

    __slots__ = ("size", "ss", "buf", "_fill")

    def __init__(self, size: tuple[int, int], ss: int, buf: np.ndarray | None = None):
        H, W = size
        self.size, self.ss = (H, W), ss
        self.buf = np.zeros((H * ss, W * ss), np.uint8) if buf is None else buf
        self._fill = _drawer(self.buf)

    def draw(self, polys: Sequence[np.ndarray], ink: int) -> None:
        for xy in _vertices(polys, self.ss):
            self._fill(xy, ink)

    def copy(self) -> PartMap:
        return PartMap(self.size, self.ss, self.buf.copy())

    def silhouette(self) -> np.ndarray:
        """bool (H, W): where the top-left subpixel shows any part."""
        return self.buf[:: self.ss, :: self.ss] != 0

    def changed(self, other: PartMap) -> np.ndarray:
        """bool (H, W): pixels where any subpixel shows another part in ``other``."""
        d = self.buf != other.buf
        ss = self.ss
        out = d[0::ss, 0::ss].copy()
        for j in range(ss):
            for i in range(ss):
                if i or j:
                    out |= d[j::ss, i::ss]
        return out


def _vertices(polys: Sequence[np.ndarray], ss: int, origin=(0, 0)) -> list[np.ndarray]:
    """Polygons as Pillow draws them at ``ss``×, relative to ``origin`` (y, x): Pillow
    truncates vertices to integers, so they are passed rounded, as flat float32 arrays
    (exact at these magnitudes). All the points are converted in one go."""
    pts = np.concatenate(polys) if len(polys) > 1 else polys[0]
    if origin != (0, 0):
        pts = pts - (origin[1], origin[0])
    xy = np.floor(pts * ss + 0.5).astype(F32).ravel()
    out, k = [], 0
    for p in polys:
        n = 2 * len(p)
        out.append(xy[k : k + n])
        k += n
    return out


def draw_all(
    size: tuple[int, int], ss: int, orders: Sequence[Sequence[Part]], origin=(0, 0)
) -> tuple[list[Part], list[PartMap]]:
    """Draw each back-to-front list of parts into its own map of ``size`` whose top-left
    pixel is ``origin`` (y, x) of the picture; parts shared between lists keep one id.
    Returns the parts by id (id k is ``parts[k - 1]``) and the maps. A prefix that all
    lists share is drawn once."""
    ids: dict[int, int] = {}
    parts: list[Part] = []
    for order in orders:
        for p in order:
            if id(p) not in ids:
                parts.append(p)
                ids[id(p)] = len(parts)
    if len(parts) > 255:
        raise ValueError(f"{len(parts)} parts; a part map holds at most 255")
    polys = [q for p in parts for q in p.polys]
    flat = _vertices(polys, ss, origin)
    verts, k = {}, 0
    for p in parts:
        verts[id(p)] = flat[k : k + len(p.polys)]
        k += len(p.polys)
    shared = 0
    while all(len(o) > shared for o in orders) and all(o[shared] is orders[0][shared] for o in orders):
        shared += 1
    first = PartMap(size, ss)
    for p in orders[0][:shared]:
        for xy in verts[id(p)]:
            first._fill(xy, ids[id(p)])
    maps = [first] + [first.copy() for _ in orders[1:]]
    for pm, order in zip(maps, orders, strict=True):
        for p in order[shared:]:
            for xy in verts[id(p)]:
                pm._fill(xy, ids[id(p)])
    return parts, maps


# -- resolving: shade the visible points ---------------------------------------------------


@lru_cache(maxsize=32)
def _subpixels(ss: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per subpixel of a pixel: its offset in the flattened map, and its centre (x, y)
    relative to the pixel's corner."""
    j, i = np.divmod(np.arange(ss * ss), ss)
    offs = j * (width * ss) + i
    fx = ((i + 0.5) / ss).astype(F32)
    fy = ((j + 0.5) / ss).astype(F32)
    for a in (offs, fx, fy):
        a.flags.writeable = False
    return offs, fx, fy


def _edges(m: np.ndarray, ss: int) -> tuple[np.ndarray, np.ndarray]:
    """(the id of each pixel's top-left subpixel, whether its subpixels differ), both (H, W).
    The subpixels of a pixel row are compared as packed integers (2 or 4 per word)."""
    first = m[::ss, ::ss]
    if ss == 2:
        words = m.view(np.uint16)  # (2H, W): the two subpixels of a pixel in one word
        top, bottom = words[0::2], words[1::2]
        edge = top != bottom
        edge |= (top & 0xFF) != (top >> 8)
        return first, edge
    if ss == 4:
        words = m.view(np.uint32)  # (4H, W): the four subpixels of a pixel row in one word
        top = words[0::4]
        edge = words[1::4] != top
        edge |= words[2::4] != top
        edge |= words[3::4] != top
        edge |= top != (top & 0xFF) * np.uint32(0x01010101)
        return first, edge
    edge = np.zeros(first.shape, bool)
    for j in range(ss):
        for i in range(ss):
            edge |= m[j::ss, i::ss] != first
    return first, edge


class Resolved(NamedTuple):
    """Which part each sample shows: interior pixels (one sample) then edge pixels (ss² each)."""

    ss: int
    inner: np.ndarray  # flat pixel indices shaded once
    edge: np.ndarray  # flat pixel indices shaded per subpixel
    ids: np.ndarray  # uint8 part id per sample

    def coverage(self, ids: Sequence[int], n_pixels: int) -> np.ndarray:
        """float32 (n_pixels,): the fraction of each pixel that shows one of ``ids`` (0 outside
        the resolved pixels)."""
        lut = np.zeros(256, F32)
        lut[list(ids)] = 1
        hit = lut[self.ids]
        out = np.zeros(n_pixels, F32)
        n = len(self.inner)
        out[self.inner] = hit[:n]
        n2 = self.ss * self.ss
        out[self.edge] = hit[n:].reshape(-1, n2).sum(axis=1) * F32(1.0 / n2)
        return out


def resolve(
    pm: PartMap, parts: Sequence[Part], image: np.ndarray, region: np.ndarray | None = None,
    background: tuple[np.ndarray, np.ndarray] | None = None, origin=(0, 0), box: tuple[int, int, int, int] | None = None,
) -> Resolved:  # fmt: skip
    """Shade what ``pm`` shows into ``image`` (3, H·W) float32, in place; returns which part
    each shaded sample showed.

    Without ``region`` every pixel showing a part is shaded and the others keep their value
    in ``image`` (the background). With ``region`` (bool (H, W)) exactly the pixels inside it
    are shaded; those showing no part take the background's colours from ``background`` =
    (flat indices of the region's pixels, their colours (3, n)). Work is limited to the
    region's box, or to ``box`` = (y0, y1, x0, x1) when the caller knows where the parts
    are. A map drawn with an ``origin`` is resolved with the same one: shaders see picture
    coordinates.
    """
    H, W = pm.size
    ss = pm.ss
    n2 = ss * ss
    r0, r1, c0, c1 = (0, H, 0, W) if box is None else box
    if region is not None:  # work inside the region's box only
        rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
        if not len(rows):
            return Resolved(ss, np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.uint8))
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        region = region[r0:r1, c0:c1]
    w = c1 - c0
    first, edge = _edges(pm.buf[r0 * ss : r1 * ss, c0 * ss : c1 * ss], ss)
    if region is None:
        inner = first != 0
        inner &= ~edge
    else:
        edge &= region
        inner = region & ~edge
    yi, xi = np.divmod(np.flatnonzero(inner), w)
    ye, xe = np.divmod(np.flatnonzero(edge), w)
    if r0 or c0:
        yi += r0
        xi += c0
        ye += r0
        xe += c0
    inner_idx = yi * W + xi
    edge_idx = ye * W + xe
    n_inner = len(inner_idx)
    offs, fx, fy = _subpixels(ss, W)
    flat = pm.buf.ravel()
    sub = ((ye * (n2 * W) + xe * ss)[:, None] + offs).ravel()
    ids = np.concatenate([flat.take(yi * (n2 * W) + xi * ss), flat.take(sub)])
    order = np.argsort(ids, kind="stable")
    counts = np.bincount(ids, minlength=1)
    oy, ox = origin[0] + 0.5, origin[1] + 0.5
    X = np.concatenate([xi.astype(F32) + ox, (xe.astype(F32)[:, None] + (fx + (ox - 0.5))).ravel()]).take(order)
    Y = np.concatenate([yi.astype(F32) + oy, (ye.astype(F32)[:, None] + (fy + (oy - 0.5))).ravel()]).take(order)
    colour = np.empty((3, len(ids)), F32)
    a = 0
    for k in np.flatnonzero(counts).tolist():
        b = a + int(counts[k])
        if k == 0:  # the background, seen at an edge subpixel or inside the region
            sample = order[a:b]
            pix = np.where(sample < n_inner, inner_idx.take(np.minimum(sample, n_inner - 1)), 0)
            if len(edge_idx):
                at_edge = edge_idx.take(np.maximum(sample - n_inner, 0) // n2)
                pix = np.where(sample < n_inner, pix, at_edge)
            if background is None:
                colour[:, a:b] = np.take(image, pix, axis=1)
            else:
                keep, colours = background
                colour[:, a:b] = np.take(colours, np.searchsorted(keep, pix), axis=1)
        else:
            colour[:, a:b] = parts[k - 1].shade(X[a:b], Y[a:b])
        a = b
    # back to sample order (interior pixels, then each edge pixel's subpixels), channel by
    # channel, then into the image; edge pixels get the mean of their subpixels
    unsorted = np.empty_like(colour)
    for c in range(3):
        unsorted[c][order] = colour[c]
        image[c][inner_idx] = unsorted[c, :n_inner]
    if len(edge_idx):
        mean = unsorted[:, n_inner:].reshape(3, -1, n2).mean(axis=2)
        for c in range(3):
            image[c][edge_idx] = mean[c]
    return Resolved(ss, inner_idx, edge_idx, ids)


# -- compositing: shade each part over its box -----------------------------------------------


def _count(eq: np.ndarray, ss: int) -> np.ndarray:
    """Subpixels per pixel (uint8 (h, w)) of a boolean (h·ss, w·ss) map, by packed adds."""
    b = eq.view(np.uint8)
    if ss == 2:
        r = b.view(np.uint16)
        r = r[0::2] + r[1::2]
        return ((r & 0xFF) + (r >> 8)).astype(np.uint8)
    if ss == 4:
        r = b.view(np.uint32)
        r = r[0::4] + r[1::4] + r[2::4] + r[3::4]
        r = (r & 0x00FF00FF) + ((r >> 8) & 0x00FF00FF)
        return ((r & 0xFFFF) + (r >> 16)).astype(np.uint8)
    h, w = eq.shape[0] // ss, eq.shape[1] // ss
    return eq.reshape(h, ss, w, ss).sum(axis=(1, 3), dtype=np.uint8)


def composite(pm: PartMap, parts: Sequence[Part], backdrop: np.ndarray, origin=(0, 0)) -> np.ndarray:
    """The picture (3, h, w) float32 of what ``pm`` shows over ``backdrop`` (3, h, w): each
    part shaded at the pixel centres of its box, weighted by the share of each pixel's
    subpixels that show it. For pictures of a few large parts (product shots), where
    shading whole boxes costs less than sorting points; a part with a ``grid`` shader
    needs no per-pixel coordinates at all."""
    h, w = pm.size
    ss = pm.ss
    inv = F32(1.0 / (ss * ss))
    out = backdrop.copy()
    oy, ox = origin
    centres = np.arange(max(h + oy, w + ox) + 1, dtype=F32) + F32(0.5)
    counts = [sum(len(p) for p in part.polys) for part in parts]
    pts = np.concatenate([p for part in parts for p in part.polys])
    starts = np.cumsum([0, *counts[:-1]])
    lo = (np.floor(np.minimum.reduceat(pts, starts, axis=0)) - (ox + 1, oy + 1)).astype(int).tolist()
    hi = (np.ceil(np.maximum.reduceat(pts, starts, axis=0)) - (ox - 2, oy - 2)).astype(int).tolist()
    for k, part in enumerate(parts, 1):
        x0, y0 = max(lo[k - 1][0], 0), max(lo[k - 1][1], 0)
        x1, y1 = min(hi[k - 1][0], w), min(hi[k - 1][1], h)
        if x1 <= x0 or y1 <= y0:
            continue
        cover = _count(pm.buf[y0 * ss : y1 * ss, x0 * ss : x1 * ss] == k, ss)
        if not cover.any():
            continue
        X = centres[ox + x0 : ox + x1][None, :]
        Y = centres[oy + y0 : oy + y1][:, None]
        if part.grid is not None:
            colour = part.grid(X, Y)
        else:
            bh, bw = y1 - y0, x1 - x0
            c = part.shade(np.broadcast_to(X, (bh, bw)).ravel(), np.broadcast_to(Y, (bh, bw)).ravel())
            colour = c.reshape(3, 1, 1) if c.shape[1] == 1 else c.reshape(3, bh, bw)
        weight = cover.astype(F32)
        weight *= inv
        region = out[:, y0:y1, x0:x1]
        region += (colour - backdrop[:, y0:y1, x0:x1]) * weight
    return out


def parts_box(parts: Sequence[Part], size: tuple[int, int], margin: int = 2) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the pixels the parts' polygons can touch, clipped to ``size``."""
    pts = np.concatenate([p for part in parts for p in part.polys])
    (x0, y0), (x1, y1) = np.floor(pts.min(axis=0)).astype(int).tolist(), np.ceil(pts.max(axis=0)).astype(int).tolist()
    H, W = size
    return max(y0 - margin, 0), min(y1 + margin, H), max(x0 - margin, 0), min(x1 + margin, W)

"""Where each pixel of a worn garment comes from in its product photo (issue 14).

The world knows the answer exactly: the worn garment and its product shot sample one
fabric (``fabric.prepare``: one texel per product-shot pixel; worn, the same fabric
box-filtered to the garment's scale). So the same scene is drawn again with a *coordinate
fabric*, whose texels hold their own (column, row) instead of a colour, under a neutral
light (every shading multiplier exactly 1): what a pixel "shows" is then the texel it
samples. Drawing the product shot the same way and inverting it (texel -> pixel) gives,
for every pixel of the worn garment, the product-photo pixel that shows the same texel.

``garment_flow`` returns that as a flow field in canvas pixels, for the fabric of the
garment body, trouser legs and sleeves; collars, buttons, neckline ribs, cuffs, the inside
of the back and every pixel on a part's edge are left out (NaN), as is anything hidden by
arms or hair. A trainer can use it to teach the try-on network *where* to copy the
garment from (stripes and prints), which a colour loss alone does not.
"""

from __future__ import annotations

import numpy as np

from .fabric import Fabric, texture_box
from .garments import Garment, GarmentShape
from .product import ProductShot, _hanger, product_shape, shot_size
from .raster import Part, draw_all, parts_box, resolve, supersampling
from .render import GarmentParts, Light, PersonScene, Shading, _flat, garment_parts

F32 = np.float32
NEUTRAL = Light((0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 0.0)  # every multiplier exactly 1


def coordinate_fabric(th: int, cols: int, unit: float, x0: float, f: int = 1) -> Fabric:
    """A fabric of ``th`` x ``cols`` texels whose texel (r, c) holds the product-fabric
    coordinates of its centre, (column, row, 1), for a fabric box-filtered by ``f``."""
    r, c = np.mgrid[0:th, 0:cols].astype(F32)
    planes = np.stack([(c + F32(0.5)) * F32(f), (r + F32(0.5)) * F32(f), np.ones_like(r)])
    return Fabric(planes, unit / f, x0 / f)


def _fabric_parts(parts: GarmentParts, shape) -> list[Part]:
    """The parts that show the fabric itself: the body (with any trouser legs) and the
    sleeves; not the collar, the buttons or the inside of the back."""
    n = len(parts.main) - bool(shape.collar) - bool(shape.buttons)
    return parts.main[:n] + parts.sleeves[0] + parts.sleeves[1]


def _texel_image(order: list[Part], fabric_parts: list[Part], size: tuple[int, int]) -> np.ndarray:
    """float32 (h, w, 2): the (column, row) texel each pixel of the picture shows, where it
    shows exactly one fabric part and nothing mixed into the fabric (ribs, cuffs); NaN elsewhere."""
    H, W = size
    parts, (pm,) = draw_all(size, supersampling(size), [order])
    image = np.zeros((3, H * W), F32)
    res = resolve(pm, parts, image, box=parts_box(fabric_parts, size))
    ids = [i + 1 for i, p in enumerate(parts) if any(p is q for q in fabric_parts)]
    covered = res.coverage(ids, H * W) == 1
    inner = np.zeros(H * W, bool)
    inner[res.inner] = True  # shaded once at its centre: not a pixel on an edge
    valid = covered & inner & (np.abs(image[2] - 1) < 1e-4)
    out = np.full((H * W, 2), np.nan, F32)
    out[valid] = image[:2, valid].T
    return out.reshape(H, W, 2)


def product_texel_lookup(g: Garment, shot: ProductShot, canvas: tuple[int, int], shape: GarmentShape) -> np.ndarray:
    """float32 (th, cols, 2): for each texel of the product fabric (``fabric.texture_box`` of
    the product ``shape``), the canvas pixel (x, y) of the product photo that shows it (NaN
    for texels the photo does not show)."""
    size = shot_size(shot, canvas)
    fabric = coordinate_fabric(*texture_box(shape))
    parts = garment_parts(g, shape, fabric, Shading(NEUTRAL))
    order = parts.sleeves[0] + parts.sleeves[1] + parts.back
    front: list[Part] = []
    if shot.style == "hanger":  # as render_product: the bar behind, the hook in front
        bar, hook = _hanger(g, shape)
        grey = np.full((3, 1), 0.5, F32)
        order += [_flat(grey, [shape.frame.to_image(p) for p in bar])] if bar else []
        front.append(_flat(grey, [shape.frame.to_image(p) for p in hook]))
    order += parts.main + front
    texels = _texel_image(order, _fabric_parts(parts, shape), size)
    h, w = size
    top, left = (canvas[0] - h) // 2, (canvas[1] - w) // 2  # the product photo is padded into the canvas
    ys, xs = np.nonzero(~np.isnan(texels[..., 0]))
    c = np.floor(texels[ys, xs, 0]).astype(np.intp)
    r = np.floor(texels[ys, xs, 1]).astype(np.intp)
    table = np.full((fabric.th * fabric.cols, 2), np.nan, F32)
    # one pixel per texel (the last one drawn): sleeves and body can show the same texel
    # far apart, and a mean of the two would point between them
    table[r * fabric.cols + c] = np.stack([xs + F32(0.5 + left), ys + F32(0.5 + top)], axis=1)
    table = table.reshape(fabric.th, fabric.cols, 2)
    return _fill_holes(table) if shape.frame.angle != 0.0 else table  # upright: one pixel per texel


def _fill_holes(table: np.ndarray, passes: int = 2) -> np.ndarray:
    """Texels a turned photo skipped (between two pixel centres) take the mean of their
    shown 4-neighbours, up to ``passes`` texels away from a shown one."""
    for _ in range(passes):
        hole = np.isnan(table[..., 0])
        if not hole.any():
            break
        pad = np.pad(table, ((1, 1), (1, 1), (0, 0)), constant_values=np.nan)
        near = np.stack([pad[:-2, 1:-1], pad[2:, 1:-1], pad[1:-1, :-2], pad[1:-1, 2:]])
        shown = ~np.isnan(near)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(shown, near, 0).sum(axis=0) / shown.sum(axis=0)
        table = np.where(hole[..., None], mean, table)
    return table


def _to_canvas(flow: np.ndarray, canvas: tuple[int, int]) -> np.ndarray:
    """A flow over the scene (h0, w0, 2) at the canvas's size, as ``camera.fit`` places the
    scene there (scaled to fit, centred): nearest scene pixel per canvas pixel."""
    H, W = canvas
    h0, w0 = flow.shape[:2]
    if (h0, w0) == (H, W):
        return flow
    scale = min(H / h0, W / w0)
    h, w = max(1, min(H, round(h0 * scale))), max(1, min(W, round(w0 * scale)))
    top, left = (H - h) // 2, (W - w) // 2
    out = np.full((H, W, 2), np.nan, F32)
    ys = np.minimum(((np.arange(h) + 0.5) * (h0 / h)).astype(np.intp), h0 - 1)
    xs = np.minimum(((np.arange(w) + 0.5) * (w0 / w)).astype(np.intp), w0 - 1)
    out[top : top + h, left : left + w] = flow[ys][:, xs]
    return out


def garment_flow(spec, canvas: tuple[int, int], which: str = "b") -> np.ndarray:
    """float32 (H, W, 2): for each pixel of the portrait wearing garment ``which`` ("b": the
    sample's ``target``, with ``garment``; "a": its ``person``, with ``garment_worn``), the
    canvas pixel (x, y) of that garment's product photo that shows the same texel; NaN
    where the pixel shows no plain fabric of that garment. Deterministic in (spec, canvas);
    no texture is woven (only the fabric's size matters)."""
    from .world import scene_size  # world imports this module

    if which not in ("a", "b"):
        raise ValueError(f"which must be 'a' or 'b', got {which!r}")
    g, shot = (spec.garment_b, spec.shot_b) if which == "b" else (spec.garment_a, spec.shot_a)
    flat = product_shape(g, shot, canvas)
    lookup = product_texel_lookup(g, shot, canvas, flat)
    th, cols, unit, x0 = texture_box(flat)
    size = scene_size(spec, canvas)
    scene = PersonScene(spec.person, size, NEUTRAL)
    shape = scene.fit(g)
    f = int(max(th / max(shape.v1 - shape.v0, 1.0), 1.0))  # fabric.worn_fabric's box filter
    coords = coordinate_fabric(th // f, cols // f, unit, x0, f)
    parts = scene.garment(g, shape, coords)
    worn = {spec.category: parts}
    if spec.other is not None:  # the other garment occludes like in the photo; its colours do not matter
        o_shape = scene.fit(spec.other)
        worn[spec.other.category] = scene.garment(spec.other, o_shape, coordinate_fabric(8, 8, 4.0, 2.0))
    texels = _texel_image(scene.outfit(worn), _fabric_parts(parts, shape), size)
    flow = np.full(texels.shape, np.nan, F32)
    ok = ~np.isnan(texels[..., 0])
    c = np.clip(np.floor(texels[ok, 0]).astype(np.intp), 0, cols - 1)
    r = np.clip(np.floor(texels[ok, 1]).astype(np.intp), 0, th - 1)
    flow[ok] = lookup[r, c]
    return _to_canvas(flow, canvas)


def flow_mask(flow: np.ndarray) -> np.ndarray:
    """bool (H, W): where a flow is defined."""
    return ~np.isnan(flow[..., 0])


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) uint8 sampled bilinearly at ``flow`` (pixel centres at +0.5);
    zero where the flow is undefined. For checks and pictures, not for training."""
    H, W = image.shape[:2]
    ok = flow_mask(flow)
    x = np.clip(np.nan_to_num(flow[..., 0]) - 0.5, 0, W - 1)
    y = np.clip(np.nan_to_num(flow[..., 1]) - 0.5, 0, H - 1)
    x0, y0 = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
    x1, y1 = np.minimum(x0 + 1, W - 1), np.minimum(y0 + 1, H - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    img = image.astype(F32)
    out = (img[y0, x0] * (1 - fx) + img[y0, x1] * fx) * (1 - fy) + (img[y1, x0] * (1 - fx) + img[y1, x1] * fx) * fy
    out[~ok] = 0
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)



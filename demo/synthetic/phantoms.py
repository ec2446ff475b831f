"""Synthetic chest-radiograph and brain-MR phantoms: clean images whose anatomy is known."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

CHEST_SHAPE = (768, 512)  # rows x columns of the paper's preprocessed PA radiographs
MR_SHAPE = (256, 256)


@dataclass(frozen=True)
class ChestAnatomy:
    """One patient's anatomy, in fractions of image height (v) and width (u)."""

    midline: float  # u of the spine
    tilt_deg: float  # small patient rotation in the image plane
    body_half_width: float
    shoulder_v: float
    lung_top_v: float
    lung_half_width: float
    dome_right_v: float  # top of the right hemidiaphragm (viewer's left, usually higher)
    dome_left_v: float
    heart_center: tuple[float, float]
    heart_axes: tuple[float, float]
    rib_spacing_v: float
    vessel_seed: int


def random_chest_anatomy(rng: np.random.Generator) -> ChestAnatomy:
    """Draw one patient's anatomy; the ranges keep every draw a plausible adult PA chest."""
    lung_top = rng.uniform(0.09, 0.13)
    dome_right = rng.uniform(0.60, 0.68)
    return ChestAnatomy(
        midline=rng.uniform(0.48, 0.52),
        tilt_deg=rng.normal(0.0, 1.5),
        body_half_width=rng.uniform(0.43, 0.48),
        shoulder_v=lung_top - rng.uniform(0.02, 0.04),
        lung_top_v=lung_top,
        lung_half_width=rng.uniform(0.17, 0.20),
        dome_right_v=dome_right,
        dome_left_v=dome_right + rng.uniform(0.01, 0.05),
        # The heart rests on the left hemidiaphragm.
        heart_center=(rng.uniform(0.54, 0.57), dome_right - rng.uniform(0.02, 0.04)),
        heart_axes=(rng.uniform(0.13, 0.17), rng.uniform(0.10, 0.12)),
        rib_spacing_v=(dome_right - lung_top) / rng.uniform(8.2, 9.0),
        vessel_seed=int(rng.integers(2**31)),
    )


def _smoothstep(x: np.ndarray, width: float) -> np.ndarray:
    """0 below -width, 1 above +width: soft edges so tissue borders are not aliased."""
    t = np.clip(0.5 + x / (2.0 * width), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _grid(shape: tuple[int, int], anatomy: ChestAnatomy) -> tuple[np.ndarray, np.ndarray]:
    """Normalised coordinates (u, v), rotated about the image centre by the patient's tilt."""
    rows, cols = shape
    v, u = np.meshgrid(
        (np.arange(rows, dtype=np.float32) + 0.5) / rows,
        (np.arange(cols, dtype=np.float32) + 0.5) / cols,
        indexing="ij",
    )
    t = np.deg2rad(anatomy.tilt_deg)
    # Rotation works in pixel units so the aspect ratio does not shear the anatomy.
    du, dv = (u - 0.5) * cols, (v - 0.5) * rows
    ur = (np.cos(t) * du - np.sin(t) * dv) / cols + 0.5
    vr = (np.sin(t) * du + np.cos(t) * dv) / rows + 0.5
    return ur.astype(np.float32), vr.astype(np.float32)


def _dome(u: np.ndarray, top: float, centre: float, half_width: float, side: float) -> np.ndarray:
    """Row of a hemidiaphragm at column u: deep at the costophrenic angle, shallow medially."""
    x = (u - centre) / half_width
    lateral = side * x > 0
    return top + np.where(lateral, np.float32(0.09), np.float32(0.035)) * x**2


def _lung_masks(u: np.ndarray, v: np.ndarray, a: ChestAnatomy) -> np.ndarray:
    """Soft mask (0..1) of both lung fields, cut by diaphragm, heart and mediastinum."""
    lungs = np.zeros_like(u)
    for side in (-1.0, 1.0):
        cu = a.midline + side * (a.lung_half_width + 0.055)
        dome_top = a.dome_right_v if side < 0 else a.dome_left_v
        bottom = dome_top + 0.12
        cv = (a.lung_top_v + bottom) / 2.0
        half_h = (bottom - a.lung_top_v) / 2.0
        # A superellipse gives the rounded apex and the straight lateral wall of a lung.
        r = np.abs((u - cu) / a.lung_half_width) ** 2.6 + np.abs((v - cv) / half_h) ** 2.6
        inside = _smoothstep(1.0 - r, 0.04)
        below_dome = _smoothstep(
            _dome(u, dome_top, cu + 0.02 * side, a.lung_half_width, side) - v, 0.004
        )
        medial = _smoothstep(side * (u - a.midline) - 0.055, 0.006)
        lungs = np.maximum(lungs, inside * below_dome * medial)
    return lungs * _smoothstep(_heart_shape(u, v, a) - 1.0, 0.01)


def _heart_shape(u: np.ndarray, v: np.ndarray, a: ChestAnatomy) -> np.ndarray:
    """Implicit heart outline (< 1 inside), shared by the heart density and the lung cut-out."""
    hu, hv = a.heart_center
    ax, ay = a.heart_axes
    # Left ventricle bulges to the viewer's right; the right atrium makes the smaller left border.
    lv = ((u - hu) / ax) ** 2 + ((v - hv) / ay) ** 2 + 0.6 * (u - hu) * (v - hv) / (ax * ay)
    ra = ((u - a.midline + 0.035) / (0.55 * ax)) ** 2 + ((v - hv + 0.01) / (0.8 * ay)) ** 2
    return np.minimum(lv, ra)


def _heart_mediastinum(u: np.ndarray, v: np.ndarray, a: ChestAnatomy) -> np.ndarray:
    """Density of the heart shadow, the upper mediastinum and the aortic knob."""
    hv = a.heart_center[1]
    shape = _heart_shape(u, v, a)
    dens = np.sqrt(np.clip(1.0 - shape, 0.0, 1.0)) * 0.6 + _smoothstep(1.0 - shape, 0.015) * 0.4
    upper = _smoothstep(0.06 - np.abs(u - a.midline - 0.005), 0.01) * _smoothstep(hv - v, 0.05)
    knob = ((u - a.midline - 0.065) / 0.035) ** 2 + ((v - a.lung_top_v - 0.20) / 0.03) ** 2
    return np.maximum(dens, np.maximum(upper * 0.7, _smoothstep(1.0 - knob, 0.1) * 0.75))


def _ribs(u: np.ndarray, v: np.ndarray, a: ChestAnatomy, body_hw: np.ndarray) -> np.ndarray:
    """Posterior ribs (with brighter cortices), fainter anterior ribs and clavicles."""
    out = np.zeros_like(u)
    d = np.abs(u - a.midline)
    side_ok = _smoothstep(d - 0.04, 0.01) * _smoothstep(body_hw - d - 0.01, 0.01)
    for i in range(10):
        v0 = a.lung_top_v - 0.01 + i * a.rib_spacing_v
        half = 0.0075 + 0.0006 * i
        # Posterior ribs leave the spine rising slightly, then bend down along the chest wall.
        centre = v0 - 0.05 * d + 1.6 * np.clip(d - 0.12, 0.0, None) ** 2 + 0.03 * i * d
        t = np.abs(v - centre) / (half * (1.0 + 0.6 * d / 0.4))
        band = t < 1.0
        out += np.where(band, 0.55 + 0.45 * t**4, 0.0) * side_ok
        # Anterior ribs run down towards the sternum; only a faint band shows.
        va = v0 + 0.07 + 0.28 * (0.40 - np.clip(d, 0.0, 0.40))
        ta = np.abs(v - va) / (half * 1.3)
        out += np.where((ta < 1.0) & (d > 0.07), 0.25 * (1.0 - ta), 0.0) * side_ok
    clav_v = a.lung_top_v + 0.02 - 0.10 * np.clip(d - 0.05, 0.0, None) + 0.3 * (d - 0.2) ** 2
    tc = np.abs(v - clav_v) / 0.011
    out += np.where((tc < 1.0) & (d > 0.03) & (d < 0.32), 0.6 + 0.4 * tc**4, 0.0)
    return out


def _spine(u: np.ndarray, v: np.ndarray, a: ChestAnatomy) -> np.ndarray:
    """Vertebral column: bodies separated by darker discs, with paired pedicles."""
    d = u - a.midline
    column = _smoothstep(0.032 - np.abs(d), 0.004)
    period = a.rib_spacing_v
    phase = np.mod((v - a.lung_top_v) / period, 1.0)
    discs = 1.0 - 0.45 * _smoothstep(0.10 - np.abs(phase - 0.5), 0.03)
    ped = ((np.abs(d) - 0.021) / 0.007) ** 2 + ((phase - 0.3) / 0.16) ** 2
    pedicles = 0.5 * _smoothstep(1.0 - ped, 0.3)
    # Cortical edges of the vertebral bodies: the lateral borders read as lines.
    edges = 0.4 * _smoothstep(0.005 - np.abs(np.abs(d) - 0.029), 0.002)
    return column * discs * 0.7 + (pedicles + edges) * column


def _coarse_densities(shape: tuple[int, int], a: ChestAnatomy) -> np.ndarray:
    """Smooth anatomy (body, lungs, heart, bones, airways) as a density map, plus lung mask."""
    u, v = _grid(shape, a)
    d = np.abs(u - a.midline)
    # Torso outline: a neck above the shoulders, then a chest wall that widens slightly.
    shoulder = _smoothstep(v - a.shoulder_v, 0.03)
    body_hw = 0.08 + (a.body_half_width - 0.08) * shoulder + 0.02 * np.clip(v - 0.4, 0.0, None)
    body = _smoothstep(body_hw - d, 0.004)
    thickness = np.sqrt(np.clip(1.0 - (d / body_hw) ** 2, 0.0, 1.0)) * body
    lungs = _lung_masks(u, v, a)
    heart = _heart_mediastinum(u, v, a)
    bones = _ribs(u, v, a, body_hw) * body * (0.6 + 0.4 * lungs) + 1.6 * _spine(u, v, a)
    carina_v = a.lung_top_v + 0.21
    trachea = _smoothstep(0.016 - np.abs(u - a.midline), 0.004) * _smoothstep(carina_v - v, 0.005)
    # Main bronchi: two short dark tubes from the carina towards the hila.
    for side, slope in ((-1.0, 0.9), (1.0, 0.6)):
        along = v - carina_v - slope * side * (u - a.midline)
        tube = _smoothstep(0.011 - np.abs(along), 0.003)
        reach = _smoothstep(side * (u - a.midline), 0.002) * _smoothstep(0.07 - d, 0.01)
        trachea = np.maximum(trachea, tube * reach)
    gas = ((u - a.heart_center[0] - 0.12) / 0.04) ** 2 + ((v - a.dome_left_v - 0.05) / 0.022) ** 2
    density = (
        1.0 * thickness
        + 0.3 * body
        - 0.80 * lungs * (thickness + 0.3 * body)
        + 0.30 * heart
        + 0.22 * bones
        - 0.30 * trachea
        - 0.35 * _smoothstep(1.0 - gas, 0.2) * body
    )
    return np.stack([density, lungs])


def _vessels(shape: tuple[int, int], a: ChestAnatomy) -> np.ndarray:
    """Branching pulmonary vessels radiating from both hila, tapering towards the periphery."""
    rows, cols = shape
    rng = np.random.default_rng(a.vessel_seed)
    hilum_v = (a.lung_top_v + a.dome_right_v) / 2.0 + 0.02
    trunk = np.deg2rad([-70, -35, 0, 30, 60, 95, 130])
    side = np.repeat([-1.0, 1.0], trunk.size)
    theta = np.tile(trunk, 2) + rng.normal(0, 0.15, side.size)
    # Angle 0 points laterally; mirroring the column step serves the left lung.
    r0 = np.full(side.size, hilum_v * rows)
    c0 = (a.midline + side * 0.09) * cols
    ang = np.arctan2(-np.sin(theta), side * np.cos(theta))
    length = 55.0 * rng.uniform(0.8, 1.2, side.size)
    width = np.ones(side.size)
    img = np.zeros(shape, np.float32)
    # One generation at a time, vectorised: every segment of a generation has the same samples.
    for _depth in range(7):
        n = int(length.max()) + 1
        s = np.linspace(0.0, 1.0, n)[None, :] * length[:, None]
        wiggle = np.cumsum(rng.normal(0, 0.02, (side.size, n)), axis=1)
        rr = r0[:, None] + s * np.sin(ang[:, None] + wiggle)
        cc = c0[:, None] + s * np.cos(ang[:, None] + wiggle)
        ri, ci = rr.round().astype(np.intp), cc.round().astype(np.intp)
        ok = (ri >= 0) & (ri < rows) & (ci >= 0) & (ci < cols)
        np.add.at(img, (ri[ok], ci[ok]), np.broadcast_to(width[:, None], ri.shape)[ok])
        end_ang = ang + wiggle[:, -1]
        k = side.size
        split = rng.uniform(0.25, 0.6, (2, k)) * np.array([[-1.0], [1.0]])
        side = np.tile(side, 2)
        r0, c0 = np.tile(rr[:, -1], 2), np.tile(cc[:, -1], 2)
        ang = np.tile(end_ang, 2) + split.ravel()
        length = np.tile(length, 2) * rng.uniform(0.6, 0.8, 2 * k)
        width = np.tile(width, 2) * 0.72
    # Thick trunks get a wider profile than peripheral twigs: two blur scales.
    thick = np.where(img > 0.5, img, 0.0)
    return ndimage.gaussian_filter(img, 0.9) + ndimage.gaussian_filter(thick, 2.0) * 2.0


def _upsample2(x: np.ndarray, axis: int) -> np.ndarray:
    """Linear 2x upsampling along one axis (scipy's zoom is ~20x slower for this)."""
    x = np.moveaxis(x, axis, -1)
    prev = np.concatenate([x[..., :1], x[..., :-1]], axis=-1)
    nxt = np.concatenate([x[..., 1:], x[..., -1:]], axis=-1)
    out = np.empty((*x.shape[:-1], 2 * x.shape[-1]), x.dtype)
    out[..., 0::2] = 0.75 * x + 0.25 * prev
    out[..., 1::2] = 0.75 * x + 0.25 * nxt
    return np.moveaxis(out, -1, axis)


def chest_phantom(anatomy: ChestAnatomy, shape: tuple[int, int] = CHEST_SHAPE) -> np.ndarray:
    """Render a clean PA chest radiograph as display brightness in [0, 1] (1 = white, bone).

    The image is a sum of projected densities (soft tissue, mediastinum, bone, lung air, vessels)
    mapped through 1 - exp(-density), the film-like response of a radiograph. Table 1 of the
    CaHDC-RGA paper names what experts look for, so each is drawn: peripheral lung vessels,
    retrocardiac lung and spine through the heart, trachea and bronchi, heart and aortic borders,
    diaphragm and costophrenic angles.
    """
    a = anatomy
    rows, cols = shape
    # Smooth anatomy at half resolution (4x cheaper); fine detail is added at full resolution.
    coarse = _coarse_densities((rows // 2, cols // 2), a)
    density, lungs = _upsample2(_upsample2(coarse, axis=1), axis=2)
    vessels = np.clip(_vessels(shape, a), 0.0, 2.5)
    rng = np.random.default_rng(a.vessel_seed + 1)
    # Parenchymal texture: fine correlated mottling, the grain sharpness is judged on.
    texture = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), 1.5)
    density += (0.12 * vessels + 0.08 * texture) * (0.25 + 0.75 * lungs)
    img = 1.0 - np.exp(-np.clip(density, 0.0, None))
    img = 0.03 + 0.92 * img / (1.0 - np.exp(-2.4))
    # Collimation: the unexposed margins come out white on a processed radiograph.
    rr, cc = np.ogrid[:rows, :cols]
    m = 0.015 + 0.01 * ((a.vessel_seed >> 4) % 3)
    inside = (
        _smoothstep(rr / rows - m, 0.002)
        * _smoothstep(1.0 - m - rr / rows, 0.002)
        * _smoothstep(cc / cols - m, 0.003)
        * _smoothstep(1.0 - m - cc / cols, 0.003)
    )
    img = img * inside + 0.95 * (1.0 - inside)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class BrainAnatomy:
    """One subject's head for an axial T1-like brain series."""

    head_axes: tuple[float, float]  # semi-axes in pixels of the skin outline at mid-head
    ventricle_scale: float
    gyri_seed: int


def random_brain_anatomy(rng: np.random.Generator) -> BrainAnatomy:
    """Draw one subject's head size, ventricle size and cortical folding."""
    return BrainAnatomy(
        head_axes=(rng.uniform(88, 100), rng.uniform(108, 120)),
        ventricle_scale=rng.uniform(0.8, 1.3),
        gyri_seed=int(rng.integers(2**31)),
    )


def brain_phantom(anatomy: BrainAnatomy, z: float, shape: tuple[int, int] = MR_SHAPE) -> np.ndarray:
    """Render an axial T1-like slice as signal in [0, 1]; z from -1 (skull base) to 1 (vertex).

    Tissue layers from outside in: scalp fat (bright), skull (dark), CSF (dark), folded cortex
    (grey), white matter (bright), lateral ventricles (dark) and deep grey nuclei.
    """
    rows, cols = shape
    yy, xx = np.mgrid[:rows, :cols].astype(np.float32)
    # The head narrows towards the vertex; a gentle z-dependence keeps slices distinct.
    taper = np.sqrt(max(1.0 - 0.75 * z * z, 0.05))
    ax, ay = anatomy.head_axes[0] * taper, anatomy.head_axes[1] * taper
    cy, cx = rows / 2 + 4.0, cols / 2
    r = np.sqrt(((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2)
    theta = np.arctan2(yy - cy, xx - cx)
    rng = np.random.default_rng(anatomy.gyri_seed)
    k = np.arange(1, 48)
    amp, phase = rng.uniform(0, 1, k.size) / k**0.35, rng.uniform(0, 2 * np.pi, k.size)
    # Gyri: a random angular profile of the grey/white border, changing slowly with z.
    folds = (
        amp[:, None, None] * np.sin(k[:, None, None] * theta + phase[:, None, None] + 3 * z)
    ).sum(0)
    img = np.zeros(shape, np.float32)
    img[r < 1.0] = 0.85  # scalp fat
    img[r < 0.95] = 0.08  # skull
    img[r < 0.90] = 0.15  # CSF
    img[r < 0.88 + 0.015 * folds] = 0.55  # grey matter
    img[r < 0.76 + 0.05 * folds] = 0.80  # white matter
    vs = anatomy.ventricle_scale * max(0.0, 1.0 - (z / 0.55) ** 2)
    if vs > 0.05:
        for side in (-1.0, 1.0):
            vx, vy = cx + side * 10 * vs, cy - 8
            # Frontal horns meet at the septum; the bodies diverge backwards.
            t = -side * 0.3
            dx, dy = xx - vx, yy - vy
            ex = (np.cos(t) * dx + np.sin(t) * dy) / (7 * vs + 1)
            ey = (-np.sin(t) * dx + np.cos(t) * dy) / (30 * vs + 2)
            img[ex**2 + ey**2 < 1.0] = 0.12
            nucleus = ((xx - cx - side * 28) / 9) ** 2 + ((yy - cy + 2) / 14) ** 2
            img[(nucleus < 1.0) & (img > 0.5)] = 0.62
    img = ndimage.gaussian_filter(img, 0.8)
    texture = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 2.0)
    return np.clip(img * (1.0 + 0.04 * texture), 0.0, 1.0)


def chest_region_masks(anatomy: ChestAnatomy, shape: tuple[int, int] = CHEST_SHAPE) -> dict:
    """Boolean masks of the regions Table 1 names: lung fields and the heart shadow (with spine).

    Used by tests and metrics to measure what a degradation does where experts look.
    """
    u, v = _grid(shape, anatomy)
    return {
        "lung": _lung_masks(u, v, anatomy) > 0.95,
        "heart": _heart_shape(u, v, anatomy) < 0.8,
    }

"""Drawing one demo photo: a person's look, the face, mask, hair and pose, and the face's true box.

Every cue a label needs is drawn here (see core/data/demo.py for what the dataset writer does with
the images). Each function takes its own numpy Generator; nothing here touches global random state,
so the same Generator state always gives the same pixels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from core.labels import DEFAULT_AGE_EDGES, age_band

WIDTH, HEIGHT = 384, 512

# The person is drawn on a canvas larger than the image, so that rotating, scaling and shifting it
# (the pose jitter) never pulls empty pixels into the frame.
_PAD = 112
_CANVAS = (WIDTH + 2 * _PAD, HEIGHT + 2 * _PAD)
_FACE_CENTER = (_PAD + WIDTH / 2, _PAD + 222)

# --------------------------------------------------------------------------------------------
# A person's look: fixed across their 7 photos
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Look:
    gender: str
    age: int
    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    hair_style: str          # female: long, bob, tied; male: short, crop, balding
    hair_length: float       # long hair: how far below the chin it falls, in face heights
    hairline: float          # where the hair starts, as a fraction of the face half-height above centre
    parting: float           # -1..1: fringe slant
    face_a: float            # face half-width (px)
    face_b: float            # face half-height (px)
    jaw: float               # 0 round/pointed .. 1 square
    brow: float              # brow thickness (px)
    eye_gap: float           # eye distance from the centre line, as a fraction of face_a
    lip: tuple[float, float, float]
    mouth_w: float           # as a fraction of face_a
    wrinkles: float          # 0 smooth .. 1 deep lines
    spots: tuple[tuple[float, float], ...]  # age spots (face-relative x, y)
    glasses: bool
    clothes: tuple[float, float, float]
    neckline: str            # round or v
    background: str          # plain, wall, stripes
    door_x: float            # wall backgrounds: where the door frame stands, 0..1 of the width
    bg_colors: tuple[tuple[float, float, float], ...]


def _mix(a, b, t: float) -> tuple[float, float, float]:
    return tuple(float(x * (1 - t) + y * t) for x, y in zip(a, b))


def _jitter(color, rng: np.random.Generator, amount: float) -> tuple[float, float, float]:
    return tuple(float(np.clip(c + rng.normal(0, amount), 0, 255)) for c in color)


def _rgb(color) -> tuple[int, int, int]:
    return tuple(int(round(min(255.0, max(0.0, c)))) for c in color)


def _random_color(rng: np.random.Generator, low: int = 40, high: int = 230) -> tuple[float, float, float]:
    return tuple(float(c) for c in rng.uniform(low, high, size=3))


def draw_look(gender: str, age: int, rng: np.random.Generator) -> Look:
    female = gender == "female"
    band = age_band(age, DEFAULT_AGE_EDGES)

    skin = _jitter(_mix((238, 204, 180), (184, 136, 102), rng.uniform(0, 1)), rng, 6)

    # Hair: dark when young; grey mixed in from the 30s (more with every year); grey/white at 60+.
    base = ((28, 22, 20), (45, 32, 25), (62, 42, 30))[int(rng.integers(0, 3))]
    if female and band == 0 and rng.random() < 0.12:
        base = (115, 78, 52)  # dyed brown: dark-ish but not black, so colour alone is not age
    if band == 0:
        grey = rng.uniform(0.0, 0.06)
    elif band == 1:
        grey = 0.08 + 0.4 * (age - 30) / 29 + rng.uniform(-0.05, 0.08)
    else:
        grey = rng.uniform(0.62, 0.95)
    hair = _jitter(_mix(base, (214, 212, 208), float(np.clip(grey, 0, 1))), rng, 4)

    if female:
        hair_style = str(rng.choice(["long", "bob", "tied"], p=[0.55, 0.35, 0.10]))
        hairline = rng.uniform(0.28, 0.48)  # fringes reach low on the forehead
        face_a, face_b = rng.uniform(62, 72), rng.uniform(90, 100)
        jaw, brow = rng.uniform(0.0, 0.25), rng.uniform(2.5, 3.5)
        lip = _mix(skin, (200, 45, 60), rng.uniform(0.45, 0.75))
    else:
        bald_p = 0.0 if age < 45 else (0.25 if age < 60 else 0.45)
        hair_style = str(rng.choice(["short", "crop", "balding"], p=[0.75 - bald_p, 0.25, bald_p]))
        hairline = rng.uniform(0.5, 0.62) if hair_style != "balding" else rng.uniform(0.85, 0.95)
        face_a, face_b = rng.uniform(72, 82), rng.uniform(92, 102)
        jaw, brow = rng.uniform(0.55, 1.0), rng.uniform(4.5, 6.5)
        lip = _mix(skin, (170, 70, 70), rng.uniform(0.2, 0.38))

    if band == 0:
        wrinkles = 0.0
    elif band == 1:
        wrinkles = 0.2 + 0.35 * (age - 30) / 29 + rng.uniform(0, 0.1)
    else:
        wrinkles = rng.uniform(0.75, 1.0)
    spots = tuple((float(rng.uniform(-0.7, 0.7)), float(rng.uniform(-0.6, 0.2)))
                  for _ in range(int(rng.integers(2, 6)) if band == 2 else 0))

    bg_first = _random_color(rng, 60, 235)
    return Look(
        gender=gender, age=age, skin=skin, hair=hair, hair_style=hair_style,
        hair_length=float(rng.uniform(0.6, 1.6)), hairline=float(hairline),
        parting=float(rng.uniform(-1, 1)), face_a=float(face_a), face_b=float(face_b), jaw=float(jaw),
        brow=float(brow), eye_gap=float(rng.uniform(0.34, 0.42)), lip=lip,
        mouth_w=float(rng.uniform(0.38, 0.52)), wrinkles=float(wrinkles), spots=spots,
        glasses=bool(rng.random() < (0.1, 0.15, 0.3)[band]),
        clothes=_random_color(rng, 20, 235), neckline=str(rng.choice(["round", "v"])),
        background=str(rng.choice(["plain", "wall", "stripes"], p=[0.5, 0.3, 0.2])),
        door_x=float(rng.uniform(0.1, 0.85)),
        bg_colors=(bg_first, _jitter(bg_first, rng, 40), _random_color(rng, 60, 235)),
    )


# --------------------------------------------------------------------------------------------
# Drawing one image
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Geometry:
    """Face landmarks on the canvas, derived once per image from the look."""

    cx: float
    cy: float
    a: float
    b: float

    @property
    def eye_y(self):
        return self.cy - 0.12 * self.b

    @property
    def nose_y(self):  # nostrils
        return self.cy + 0.25 * self.b

    @property
    def mouth_y(self):
        return self.cy + 0.5 * self.b

    @property
    def chin_y(self):
        return self.cy + self.b


def render_face(look: Look, mask: int, rng: np.random.Generator) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """One 384x512 RGB photo of `look` with mask state 0 (wear), 1 (incorrect) or 2 (not wear), and
    the face's true box (x0, y0, x1, y1) in the photo: the face outline, forehead to chin, no ears."""
    g = _Geometry(*_FACE_CENTER, look.face_a, look.face_b)
    canvas = draw_background(look, rng)
    draw = ImageDraw.Draw(canvas)
    draw_torso(draw, look, g)
    draw_hair_back(draw, look, g)  # over the shoulders, behind the neck
    draw_neck(draw, look, g)
    draw_face(draw, look, g)
    draw_eyes_and_brows(draw, look, g, rng)
    draw_nose_and_mouth(draw, look, g, rng)
    draw_age_marks(draw, look, g)
    if mask != 2:
        draw_mask(canvas, draw, look, g, mask, rng)
    draw_hair_front(draw, look, g)
    if look.glasses:
        draw_glasses(draw, g)
    image, to_photo = apply_pose(canvas, rng)
    return apply_light_and_noise(image, rng), face_box(g, to_photo)


def face_box(g: _Geometry, to_photo) -> tuple[int, int, int, int]:
    """The bounds of the face ellipse once posed, clipped to the photo, in whole pixels."""
    t = np.linspace(0, 2 * math.pi, 72, endpoint=False)
    xs, ys = to_photo(g.cx + g.a * np.cos(t), g.cy + g.b * np.sin(t))
    x0, y0 = max(0, int(math.floor(xs.min()))), max(0, int(math.floor(ys.min())))
    x1, y1 = min(WIDTH, int(math.ceil(xs.max()))), min(HEIGHT, int(math.ceil(ys.max())))
    return x0, y0, x1, y1


def draw_background(look: Look, rng: np.random.Generator) -> Image.Image:
    """The same backdrop for all of a person's photos (one session), its tint jittered per photo."""
    w, h = _CANVAS
    c0 = np.array(_jitter(look.bg_colors[0], rng, 6), dtype=np.float32)
    c1 = np.array(_jitter(look.bg_colors[1], rng, 6), dtype=np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    # A smooth gradient: computed on a coarse grid and enlarged, which costs next to nothing.
    gw, gh = w // 8, h // 8
    xs = (np.arange(gw, dtype=np.float32) / gw - 0.5) * math.cos(angle)
    ys = (np.arange(gh, dtype=np.float32) / gh - 0.5) * math.sin(angle)
    t = np.clip(ys[:, None] + xs[None, :] + 0.5, 0, 1)[..., None]
    coarse = Image.fromarray((c0 * (1 - t) + c1 * t).astype(np.uint8), "RGB")
    image = coarse.resize((w, h), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    accent = _rgb(_jitter(look.bg_colors[2], rng, 6))
    if look.background == "wall":  # a door frame or cupboard edge behind the person
        x = int(w * look.door_x)
        draw.rectangle([x, 0, x + 60, h], fill=accent)
        draw.rectangle([x + 8, 0, x + 52, h], fill=_rgb(_mix(accent, (255, 255, 255), 0.25)))
    elif look.background == "stripes":  # curtain folds
        for x in range(0, w, 48):
            draw.rectangle([x, 0, x + 20, h], fill=_rgb(_mix(c0, accent, 0.25)))
    return image


def draw_torso(draw: ImageDraw.ImageDraw, look: Look, g: _Geometry) -> None:
    top = g.chin_y + 38
    draw.ellipse([g.cx - 2.5 * g.a, top, g.cx + 2.5 * g.a, top + 320], fill=_rgb(look.clothes))


def draw_neck(draw: ImageDraw.ImageDraw, look: Look, g: _Geometry) -> None:
    skin = _rgb(_mix(look.skin, (0, 0, 0), 0.12))  # the neck sits in the chin's shadow
    neck_w = g.a * (0.58 if look.gender == "male" else 0.46)
    top = g.chin_y + 38
    draw.rectangle([g.cx - neck_w, g.cy + 0.4 * g.b, g.cx + neck_w, top + 20], fill=skin)
    if look.neckline == "v":
        draw.polygon([(g.cx - neck_w, top + 10), (g.cx + neck_w, top + 10), (g.cx, top + 70)], fill=skin)
    else:
        draw.chord([g.cx - neck_w, top - 10, g.cx + neck_w, top + 40], 0, 180, fill=skin)


def draw_hair_back(draw: ImageDraw.ImageDraw, look: Look, g: _Geometry) -> None:
    """The hair behind the head; long hair and bobs fall beside the neck (the main gender cue)."""
    hair = _rgb(_mix(look.hair, (0, 0, 0), 0.15))  # the back of the hair is in shade
    if look.hair_style == "balding":
        return
    grow = 1.12 if look.gender == "female" else 1.05
    draw.ellipse([g.cx - g.a * grow, g.cy - g.b * 1.1, g.cx + g.a * grow, g.cy + g.b * 0.4], fill=hair)
    if look.hair_style in ("long", "bob"):
        bottom = g.chin_y + (look.hair_length * g.b if look.hair_style == "long" else 0.05 * g.b)
        # flaring a little towards the ends, with rounded tips
        top, flare = g.cy - 0.4 * g.b, 1.3 + 0.12 * look.hair_length
        draw.polygon([(g.cx - 1.22 * g.a, top), (g.cx + 1.22 * g.a, top), (g.cx + flare * g.a, bottom - 20),
                      (g.cx - flare * g.a, bottom - 20)], fill=hair)
        draw.ellipse([g.cx - flare * g.a, bottom - 40, g.cx + flare * g.a, bottom], fill=hair)
    elif look.hair_style == "tied":  # a bun showing above the head
        draw.ellipse([g.cx - 0.45 * g.a, g.cy - 1.38 * g.b, g.cx + 0.45 * g.a, g.cy - 0.92 * g.b], fill=hair)


def draw_face(draw: ImageDraw.ImageDraw, look: Look, g: _Geometry) -> None:
    skin = _rgb(look.skin)
    ear = _rgb(_mix(look.skin, (150, 60, 50), 0.12))
    for side in (-1, 1):  # ears: hidden by long hair later, visible on most men
        draw.ellipse([g.cx + side * g.a - 12, g.eye_y - 4, g.cx + side * g.a + 12, g.nose_y + 6], fill=ear)
    draw.ellipse([g.cx - g.a, g.cy - g.b, g.cx + g.a, g.cy + g.b], fill=skin)
    if look.jaw > 0.05:  # a squarer jaw widens the lower face (men)
        corner = 0.4 + 0.35 * look.jaw
        draw.polygon([(g.cx - g.a, g.cy), (g.cx - 0.97 * g.a, g.cy + 0.45 * g.b),
                      (g.cx - corner * g.a, g.cy + 0.94 * g.b), (g.cx + corner * g.a, g.cy + 0.94 * g.b),
                      (g.cx + 0.97 * g.a, g.cy + 0.45 * g.b), (g.cx + g.a, g.cy)], fill=skin)


def draw_eyes_and_brows(draw: ImageDraw.ImageDraw, look: Look, g: _Geometry, rng: np.random.Generator) -> None:
    gaze = rng.uniform(-2.5, 2.5)
    lid = 3 if look.gender == "female" else 2  # lashes
    brow_color = _rgb(_mix(look.hair, (20, 15, 12), 0.35))
    raise_ = rng.uniform(-2, 3)
    for side in (-1, 1):
        ex = g.cx + side * look.eye_gap * g.a
        draw.ellipse([ex - 12, g.eye_y - 6, ex + 12, g.eye_y + 6], fill=(236, 234, 228))
        draw.ellipse([ex + gaze - 5, g.eye_y - 5, ex + gaze + 5, g.eye_y + 5], fill=(55, 38, 28))
        draw.ellipse([ex + gaze - 2, g.eye_y - 2, ex + gaze + 2, g.eye_y + 2], fill=(10, 8, 8))
        draw.arc([ex - 13, g.eye_y - 7, ex + 13, g.eye_y + 7], 190, 350, fill=(40, 28, 24), width=lid)
        by = g.eye_y - 16 - raise_
        draw.line([(ex - side * 14, by + 3), (ex, by - 2), (ex + side * 16, by + 2)],
                  fill=brow_color, width=int(round(look.brow)), joint="curve")


def draw_nose_and_mouth(draw: ImageDraw.ImageDraw, look: Look, g: _Geometry, rng: np.random.Generator) -> None:
    # A shaded nose tip with clear nostrils: "is the nose covered?" separates wear from incorrect.
    shade = _rgb(_mix(look.skin, (60, 30, 20), 0.3))
    tip = _rgb(_mix(look.skin, (90, 45, 30), 0.14))
    draw.line([(g.cx + 4, g.eye_y + 10), (g.cx + 9, g.nose_y - 8)], fill=shade, width=2)
    draw.ellipse([g.cx - 17, g.nose_y - 16, g.cx + 17, g.nose_y + 5], fill=tip)
    draw.arc([g.cx - 17, g.nose_y - 12, g.cx + 17, g.nose_y + 6], 10, 170, fill=shade, width=2)
    for side in (-1, 1):
        draw.ellipse([g.cx + side * 8 - 5, g.nose_y - 2, g.cx + side * 8 + 5, g.nose_y + 4], fill=(70, 40, 35))
    half = look.mouth_w * g.a
    lip = _rgb(look.lip)
    y = g.mouth_y
    if rng.random() < 0.2:  # open mouth: teeth show, a strong "no mask" cue when present
        draw.ellipse([g.cx - half, y - 9, g.cx + half, y + 12], fill=lip)
        draw.ellipse([g.cx - half + 6, y - 5, g.cx + half - 6, y + 7], fill=(70, 25, 25))
        draw.rectangle([g.cx - half + 10, y - 5, g.cx + half - 10, y - 1], fill=(235, 230, 220))
        return
    smile = rng.uniform(-1, 4)
    draw.ellipse([g.cx - half, y - 7, g.cx + half, y + 9], fill=lip)
    draw.line([(g.cx - half, y - smile), (g.cx, y + 1), (g.cx + half, y - smile)], fill=(95, 35, 35),
              width=3, joint="curve")


def draw_age_marks(draw: ImageDraw.ImageDraw, look: Look, g: _Geometry) -> None:
    """Forehead lines, crow's feet, folds and spots; darker and more of them with age."""
    if look.wrinkles <= 0:
        return
    s = look.wrinkles
    line = _rgb(_mix(look.skin, (70, 40, 30), 0.18 + 0.32 * s))
    width = 2 if s > 0.6 else 1
    forehead_lines = 1 + int(3 * s)
    for i in range(forehead_lines):
        y = g.eye_y - 30 - 9 * i
        draw.arc([g.cx - 0.5 * g.a, y, g.cx + 0.5 * g.a, y + 14], 200, 340, fill=line, width=width)
    for side in (-1, 1):
        ex = g.cx + side * (look.eye_gap * g.a + 16)
        for k in range(1 + int(2 * s)):  # crow's feet fan out from the outer eye corner
            draw.line([(ex, g.eye_y + 2 * k - 2), (ex + side * 9, g.eye_y + 5 * k - 6)], fill=line, width=1)
        draw.arc([g.cx + side * look.eye_gap * g.a - 10, g.eye_y + 4, g.cx + side * look.eye_gap * g.a + 10,
                  g.eye_y + 14], 20, 160, fill=line, width=1)  # under-eye line
        # nasolabial fold from the nose wing to the mouth corner
        x0, x1 = g.cx + side * 14, g.cx + side * (look.mouth_w * g.a + 6)
        draw.line([(x0, g.nose_y - 4), ((x0 + x1) / 2 + side * 6, g.nose_y + 14), (x1, g.mouth_y + 4)],
                  fill=line, width=width, joint="curve")
        if s > 0.6:  # marionette lines
            draw.line([(g.cx + side * look.mouth_w * g.a, g.mouth_y + 8),
                       (g.cx + side * (look.mouth_w * g.a + 4), g.mouth_y + 26)], fill=line, width=width)
    spot = _rgb(_mix(look.skin, (110, 70, 40), 0.35))
    for x, y in look.spots:
        px, py = g.cx + x * g.a, g.cy + y * g.b
        draw.ellipse([px - 3, py - 2, px + 3, py + 2], fill=spot)


# Masks differ across a person's 5 "wear" photos, as the real set's mask1..mask5 do.
_MASK_STYLES = ("white", "blue", "black", "pattern", "solid")
_MASK_STYLE_P = (0.25, 0.25, 0.2, 0.15, 0.15)


def _mask_fill(size: tuple[int, int], rng: np.random.Generator) -> tuple[Image.Image, bool]:
    """A texture for the mask (and whether it is a pleated surgical mask)."""
    style = str(rng.choice(_MASK_STYLES, p=_MASK_STYLE_P))
    if style == "white":
        return Image.new("RGB", size, _rgb(_jitter((238, 238, 236), rng, 5))), True
    if style == "blue":
        return Image.new("RGB", size, _rgb(_jitter((120, 175, 215), rng, 12))), True
    if style == "black":
        return Image.new("RGB", size, _rgb(_jitter((30, 30, 34), rng, 5))), False
    if style == "solid":  # pink, grey, navy, beige... any cloth colour
        return Image.new("RGB", size, _rgb(_random_color(rng, 30, 240))), False
    base, ink = _rgb(_random_color(rng, 40, 240)), _rgb(_random_color(rng, 20, 240))
    fill = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(fill)
    w, h = size
    kind = int(rng.integers(0, 3))
    if kind == 0:  # stripes
        step = int(rng.integers(8, 18))
        for y in range(0, h, step):
            draw.rectangle([0, y, w, y + step // 2], fill=ink)
    elif kind == 1:  # dots
        for _ in range(40):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=ink)
    else:  # check
        step = int(rng.integers(10, 20))
        for y in range(0, h, step):
            for x in range((y // step) % 2 * step, w, 2 * step):
                draw.rectangle([x, y, x + step - 1, y + step - 1], fill=ink)
    return fill, False


def draw_mask(canvas: Image.Image, draw: ImageDraw.ImageDraw, look: Look, g: _Geometry, state: int,
              rng: np.random.Generator) -> None:
    """State 0: over nose and mouth; state 1: below the nose (mouth covered) or on the chin only."""
    a, b = g.a, g.b
    if state == 0:
        top = g.cy + b * rng.uniform(-0.02, 0.06)  # the nose bridge, just under the eyes
        bottom = g.chin_y + b * rng.uniform(0.02, 0.1)
    elif rng.random() < 0.7:
        top = g.cy + b * rng.uniform(0.33, 0.40)  # nostrils stay visible, the mouth is covered
        bottom = g.chin_y + b * rng.uniform(0.04, 0.12)
    else:
        top = g.cy + b * rng.uniform(0.64, 0.74)  # chin strap: mouth and nose both visible
        bottom = g.chin_y + b * rng.uniform(0.1, 0.18)
    drop = 0.22 * b  # the lower edge follows the jaw
    points = [(g.cx - 0.98 * a, top + 0.1 * b), (g.cx - 0.5 * a, top + 2), (g.cx, top - 3),
              (g.cx + 0.5 * a, top + 2), (g.cx + 0.98 * a, top + 0.1 * b)]
    points += [(g.cx + t * 0.9 * a, bottom - drop * t * t) for t in np.linspace(1, -1, 9)]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    box = (int(min(xs)) - 1, int(min(ys)) - 1, int(max(xs)) + 2, int(max(ys)) + 2)
    size = (box[2] - box[0], box[3] - box[1])
    shape = Image.new("L", size, 0)
    ImageDraw.Draw(shape).polygon([(x - box[0], y - box[1]) for x, y in points], fill=255)
    fill, pleated = _mask_fill(size, rng)
    canvas.paste(fill, box[:2], shape)
    color = fill.getpixel((0, 0))
    edge = _rgb(_mix(color, (0, 0, 0), 0.25))
    if pleated:  # three pleats and a nose wire, as on surgical masks
        for k in (0.3, 0.5, 0.7):
            y = top + k * (bottom - drop * 0.3 - top)
            draw.line([(g.cx - 0.85 * a, y + 4), (g.cx + 0.85 * a, y + 4)], fill=edge, width=2)
        draw.line([(g.cx - 0.3 * a, top + 3), (g.cx + 0.3 * a, top + 3)], fill=(170, 170, 175), width=2)
    strap = _rgb(color if rng.random() < 0.6 else _jitter((235, 235, 235), rng, 5))
    for side in (-1, 1):  # ear loops
        ear = (g.cx + side * (a + 6), g.eye_y + 10)
        draw.line([(g.cx + side * 0.97 * a, top + 0.1 * b), ear], fill=strap, width=3)
        draw.line([(g.cx + side * 0.88 * a, bottom - drop), (g.cx + side * (a + 6), g.nose_y + 4)],
                  fill=strap, width=3)


def draw_hair_front(draw: ImageDraw.ImageDraw, look: Look, g: _Geometry) -> None:
    """The hair over the forehead and, for long hair, over the sides of the face."""
    hair = _rgb(look.hair)
    grow = 1.1 if look.gender == "female" else 1.05
    ra, rb = g.a * grow, g.b * 1.08
    line_y = g.cy - look.hairline * g.b
    if look.hair_style == "balding":  # only a fringe of hair above the ears
        for side in (-1, 1):
            x = g.cx + side * (g.a - 2)
            draw.ellipse([x - 7, g.cy - 0.6 * g.b, x + 7, g.eye_y + 4], fill=hair)
        return
    # The cap: the top of the head ellipse, cut at the hairline, which slants with the parting.
    s = max(-1.0, min(1.0, (line_y - g.cy) / rb))
    start = math.pi + math.asin(-s)
    cap = [(g.cx + ra * math.cos(t), g.cy + rb * math.sin(t)) for t in np.linspace(start, 3 * math.pi - start, 25)]
    slant = 10 * look.parting
    cap += [(g.cx + x * ra, line_y - slant * x - (6 if look.gender == "male" else 0) * (1 - x * x))
            for x in np.linspace(1, -1, 9)]
    draw.polygon(cap, fill=hair)
    if look.hair_style in ("long", "bob"):  # side curtains cover the ears and the cheek edges
        bottom = g.chin_y + (look.hair_length * g.b if look.hair_style == "long" else 0.05 * g.b)
        for side in (-1, 1):
            inner, outer = g.cx + side * 0.8 * g.a, g.cx + side * (1.3 + 0.12 * look.hair_length) * g.a
            draw.polygon([(g.cx + side * 0.6 * g.a, line_y), (outer, line_y + 10), (outer, bottom - 16),
                          (inner, bottom - 16), (g.cx + side * 0.92 * g.a, g.cy + 0.3 * g.b),
                          (inner, g.eye_y - 12)], fill=hair)
    elif look.gender == "male":  # sideburns
        for side in (-1, 1):
            x = g.cx + side * 0.96 * g.a
            draw.rectangle([min(x, x + side * 10), line_y, max(x, x + side * 10), g.eye_y + 6], fill=hair)


def draw_glasses(draw: ImageDraw.ImageDraw, g: _Geometry) -> None:
    frame = (35, 30, 30)
    gap = 0.38 * g.a
    for side in (-1, 1):
        ex = g.cx + side * gap
        draw.rounded_rectangle([ex - 20, g.eye_y - 13, ex + 20, g.eye_y + 13], radius=8, outline=frame, width=3)
        draw.line([(ex + side * 20, g.eye_y - 6), (g.cx + side * (g.a + 2), g.eye_y - 8)], fill=frame, width=3)
    draw.line([(g.cx - gap + 20, g.eye_y - 4), (g.cx + gap - 20, g.eye_y - 4)], fill=frame, width=3)


def apply_pose(canvas: Image.Image, rng: np.random.Generator):
    """Rotate, scale and shift the whole photo about the face, and crop it to 384x512.

    Returns the photo and the map (x, y) on the canvas -> (x, y) in the photo, for the true face box.
    """
    angle = math.radians(rng.uniform(-12, 12))
    scale = rng.uniform(0.86, 1.14)
    shift_x, shift_y = rng.uniform(-28, 28), rng.uniform(-24, 24)
    fx, fy = _FACE_CENTER
    ox, oy = fx - _PAD + shift_x, fy - _PAD + shift_y  # where the face centre lands in the output
    # PIL wants the inverse map (output pixel -> canvas pixel): s = R(-angle)/scale (o - o_c) + f_c
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    matrix = (cos, sin, fx - cos * ox - sin * oy, -sin, cos, fy + sin * ox - cos * oy)
    image = canvas.transform((WIDTH, HEIGHT), Image.Transform.AFFINE, matrix,
                             resample=Image.Resampling.BILINEAR)

    def to_photo(x, y):  # the forward map: o = scale R(angle) (s - f_c) + o_c
        c, s = math.cos(angle) * scale, math.sin(angle) * scale
        dx, dy = np.asarray(x) - fx, np.asarray(y) - fy
        return c * dx - s * dy + ox, s * dx + c * dy + oy

    # A little blur: drawn edges are too sharp for a photo; how much varies like focus does.
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.3))), to_photo


def apply_light_and_noise(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A lighting gradient, a colour cast, exposure and sensor noise, so raw colours are unreliable."""
    pixels = np.array(image, dtype=np.float32)  # a writable copy
    angle = rng.uniform(0, 2 * math.pi)
    strength = rng.uniform(0.0, 0.45)
    xs = (np.arange(WIDTH, dtype=np.float32) / WIDTH - 0.5) * math.cos(angle)
    ys = (np.arange(HEIGHT, dtype=np.float32) / HEIGHT - 0.5) * math.sin(angle)
    light = np.float32(rng.uniform(0.78, 1.15)) * (1 + np.float32(strength) * (ys[:, None] + xs[None, :]))
    cast = rng.uniform(0.92, 1.08, size=3).astype(np.float32)
    pixels *= light[..., None] * cast
    # Luminance noise (one value per pixel for all channels): looks alike, costs a third.
    noise = rng.standard_normal((HEIGHT, WIDTH, 1), dtype=np.float32)
    noise *= np.float32(rng.uniform(1.5, 6.0))
    pixels += noise
    np.clip(pixels, 0, 255, out=pixels)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")

"""The sandbox's deterministic catalog: colors, categories, parts, minifigs and sets.

One seed gives one catalog, byte for byte: every random choice comes from ``random.Random``
seeded with the seed (string seeds hash with SHA-512, so ``PYTHONHASHSEED`` does not matter).
Tests pick items by property through :func:`build_catalog`::

    catalog = build_catalog(1)
    printed = next(item for item in catalog.parts() if item.is_printed)

Fixed whatever the seed:

* the curated classics (3001 "Brick 2 x 4", 3003, 3004, 3005, 3010, 3020 "Plate 2 x 4", 3022,
  3023, 3024, 3062b, 3069b, 3070b, 2780, 973, 970, 3626c, printed and obsolete variants, the
  minifigs ``sw0001a`` ... and the sets ``10030-1``, ``6080-1``, ``75192-1`` ...) with their
  colors; only their quantities and prices depend on the seed;
* item numbers that are never in the catalog: :data:`MISSING_ITEM_NUMBERS`
  (``9999999``, ``nonexistent-part``, ``3001-nope``, ``0000000``, ``sw9999z``, ``99999-1``);
  generated part numbers are always five digits from 30000 upwards, plus an optional print
  suffix, so they never collide with these;
* BrickLink colors without a BrickOwl color: :data:`UNMAPPED_BRICKLINK_COLOR_IDS`
  (0 "(Not Applicable)" and the Modulex colors 123-128);
* parts without a BrickOwl id: :data:`UNMAPPED_CURATED_PARTS` plus about 5% of the generated
  parts (``Item.boid is None``; which ones depends on the seed).
"""

from __future__ import annotations

import functools
import html
import json
import random
import zlib
from dataclasses import dataclass, field, replace
from decimal import Decimal

MISSING_ITEM_NUMBERS: tuple[str, ...] = (
    "9999999",
    "nonexistent-part",
    "3001-nope",
    "0000000",
    "sw9999z",
    "99999-1",
)

ITEM_TYPES = ("PART", "SET", "MINIFIG")
# BrickOwl's names for BrickLink's item types (id_lookup's ``type`` and a lot's ``type``).
BRICKOWL_TYPES = {"PART": "Part", "SET": "Set", "MINIFIG": "Minifigure"}

# (BrickLink id, name, hex, type, BrickOwl id or None, LDraw ids)
_COLORS: tuple[tuple[int, str, str, str, int | None, tuple[int, ...]], ...] = (
    (0, "(Not Applicable)", "000000", "Solid", None, ()),
    (1, "White", "FFFFFF", "Solid", 21, (15,)),
    (2, "Tan", "E4CD9E", "Solid", 68, (19,)),
    (3, "Yellow", "F2CD37", "Solid", 110, (14,)),
    (4, "Orange", "FE8A18", "Solid", 75, (25,)),
    (5, "Red", "C91A09", "Solid", 81, (4,)),
    (6, "Green", "237841", "Solid", 56, (2,)),
    (7, "Blue", "0055BF", "Solid", 15, (1,)),
    (8, "Brown", "583927", "Solid", 23, (6,)),
    (9, "Light Gray", "9BA19D", "Solid", 52, (7,)),
    (10, "Dark Gray", "6D6E5C", "Solid", 31, (8,)),
    (11, "Black", "05131D", "Solid", 38, (0,)),
    (12, "Trans-Clear", "FCFCFC", "Transparent", 101, (47,)),
    (13, "Trans-Black", "635F52", "Transparent", 97, (40,)),
    (14, "Trans-Dark Blue", "0020A0", "Transparent", 98, (33,)),
    (15, "Trans-Light Blue", "AEEFEC", "Transparent", 104, (43,)),
    (16, "Trans-Neon Green", "F8F184", "Transparent", 106, (42,)),
    (17, "Trans-Red", "C91A09", "Transparent", 109, (36,)),
    (18, "Trans-Neon Orange", "FF800D", "Transparent", 107, (38,)),
    (19, "Trans-Yellow", "F5CD2F", "Transparent", 111, (46,)),
    (20, "Trans-Green", "84B68D", "Transparent", 102, (34,)),
    (21, "Chrome Gold", "BBA53D", "Chrome", 17, (334,)),
    (22, "Chrome Silver", "E0E0E0", "Chrome", 18, (383,)),
    (23, "Pink", "FC97AC", "Solid", 79, (13,)),
    (24, "Purple", "81007B", "Solid", 80, (22,)),
    (25, "Salmon", "F2705E", "Solid", 84, (12,)),
    (26, "Light Salmon", "FEBABD", "Solid", 53, (100,)),
    (27, "Rust", "B31004", "Solid", 83, (216,)),
    (28, "Nougat", "D09168", "Solid", 74, (92,)),
    (29, "Earth Orange", "FA9C1C", "Solid", 41, (366,)),
    (31, "Medium Orange", "FFA70B", "Solid", 65, (462,)),
    (32, "Light Orange", "F9BA61", "Solid", 54, (125,)),
    (33, "Light Yellow", "FBE696", "Solid", 55, (18,)),
    (34, "Lime", "BBE90B", "Solid", 57, (27,)),
    (35, "Light Lime", "D9E4A7", "Solid", 51, (120,)),
    (36, "Bright Green", "4B9F4A", "Solid", 14, (10,)),
    (37, "Medium Green", "73DCA1", "Solid", 63, (74,)),
    (38, "Light Green", "C2DAB8", "Solid", 50, (17,)),
    (39, "Dark Turquoise", "008F9B", "Solid", 35, (3,)),
    (40, "Light Turquoise", "55A5AF", "Solid", 58, (11,)),
    (41, "Aqua", "B3D7D1", "Solid", 2, (118,)),
    (42, "Medium Blue", "5A93DB", "Solid", 61, (73,)),
    (43, "Violet", "4354A3", "Solid", 113, (110,)),
    (44, "Light Violet", "C9CAE2", "Solid", 59, ()),
    (46, "Glow In Dark Opaque", "D4D5C9", "Solid", 40, (21,)),
    (47, "Dark Pink", "C870A0", "Solid", 32, (5,)),
    (48, "Sand Green", "A0BCAC", "Solid", 87, (378,)),
    (49, "Very Light Gray", "E6E3DA", "Solid", 112, (151,)),
    (50, "Trans-Dark Pink", "DF6695", "Transparent", 99, (37,)),
    (51, "Trans-Purple", "A5A5CB", "Transparent", 108, (52,)),
    (55, "Sand Blue", "6074A1", "Solid", 86, (379,)),
    (56, "Light Pink", "FECCCF", "Solid", 60, (77,)),
    (58, "Sand Red", "D67572", "Solid", 88, (335,)),
    (59, "Dark Red", "720E0F", "Solid", 33, (320,)),
    (60, "Milky White", "FFFFFF", "Milky", 66, (79,)),
    (61, "Pearl Light Gold", "DCBC81", "Pearl", 77, (297,)),
    (62, "Light Blue", "B4D2E3", "Solid", 49, (9,)),
    (63, "Dark Blue", "0A3463", "Solid", 24, (272,)),
    (65, "Metallic Gold", "DBAC34", "Metallic", 62, (82,)),
    (66, "Pearl Light Gray", "9CA3A8", "Pearl", 78, (135,)),
    (67, "Metallic Silver", "A5A9B4", "Metallic", 64, (80,)),
    (68, "Dark Orange", "A95500", "Solid", 30, (484,)),
    (69, "Dark Tan", "958A73", "Solid", 36, (28,)),
    (70, "Metallic Green", "899B5F", "Metallic", 67, (81,)),
    (71, "Magenta", "923978", "Solid", 91, (26,)),
    (72, "Maersk Blue", "3592C3", "Solid", 92, (313,)),
    (73, "Medium Violet", "9391E4", "Solid", 93, ()),
    (74, "Trans-Medium Blue", "CFE2F7", "Transparent", 105, (41,)),
    (76, "Medium Lime", "C7D23C", "Solid", 94, (115,)),
    (77, "Pearl Dark Gray", "575857", "Pearl", 76, (148,)),
    (80, "Dark Green", "184632", "Solid", 29, (288,)),
    (83, "Pearl White", "F2F3F2", "Pearl", 89, (183,)),
    (85, "Dark Bluish Gray", "6C6E68", "Solid", 34, (72,)),
    (86, "Light Bluish Gray", "A0A5A9", "Solid", 39, (71,)),
    (87, "Sky Blue", "7DBFDD", "Solid", 95, (232,)),
    (88, "Reddish Brown", "582A12", "Solid", 85, (70,)),
    (89, "Dark Purple", "3F3691", "Solid", 1, (85,)),
    (90, "Light Nougat", "F6D7B3", "Solid", 48, (78,)),
    (95, "Flat Silver", "898788", "Pearl", 44, (179,)),
    (96, "Very Light Orange", "F3CF9B", "Solid", 114, (68,)),
    (97, "Blue-Violet", "4C61DB", "Solid", 16, (112,)),
    (98, "Trans-Orange", "F08F1C", "Transparent", 100, (182,)),
    (103, "Bright Light Yellow", "FFF03A", "Solid", 13, (226,)),
    (104, "Bright Pink", "E4ADC8", "Solid", 12, (29,)),
    (105, "Bright Light Blue", "9FC3E9", "Solid", 11, (212,)),
    (106, "Fabuland Brown", "B67B50", "Solid", 42, (450,)),
    (107, "Trans-Pink", "E4ADC8", "Transparent", 103, (45,)),
    (110, "Bright Light Orange", "F8BB3D", "Solid", 10, (191,)),
    (120, "Dark Brown", "352100", "Solid", 28, (308,)),
    (123, "Mx White", "F4F4F4", "Modulex", None, ()),
    (124, "Mx Light Bluish Gray", "AFB5C7", "Modulex", None, ()),
    (125, "Mx Light Gray", "9C9C9C", "Modulex", None, ()),
    (126, "Mx Charcoal Gray", "595D60", "Modulex", None, ()),
    (127, "Mx Tile Gray", "6B5A5A", "Modulex", None, ()),
    (128, "Mx Black", "000000", "Modulex", None, ()),
    (150, "Medium Nougat", "AA7D55", "Solid", 70, (84,)),
    (153, "Dark Azure", "078BC9", "Solid", 27, (321,)),
    (154, "Lavender", "E1D5ED", "Solid", 47, (31,)),
    (155, "Olive Green", "9B9A5A", "Solid", 72, (330,)),
    (156, "Medium Azure", "36AEBF", "Solid", 120, (322,)),
    (157, "Medium Lavender", "AC78BA", "Solid", 121, (30,)),
    (158, "Yellowish Green", "DFEEA5", "Solid", 122, (326,)),
    (220, "Coral", "FF698F", "Solid", 25, (353,)),
)

UNMAPPED_BRICKLINK_COLOR_IDS: tuple[int, ...] = tuple(c[0] for c in _COLORS if c[4] is None)

# Colors a generated part may come in: the everyday solids and a few transparents.
_COMMON_COLORS = (1, 2, 3, 4, 5, 6, 7, 11, 14, 15, 17, 19, 28, 36, 42, 59, 63, 69, 85, 86, 88, 120)

# (id, name, parent_id)
_CATEGORIES: tuple[tuple[int, str, int], ...] = (
    (5, "Brick", 0),
    (6, "Brick, Modified", 0),
    (11, "Brick, Decorated", 5),
    (20, "Brick, Round", 0),
    (26, "Plate", 0),
    (27, "Plate, Modified", 0),
    (21, "Plate, Round", 0),
    (37, "Tile", 0),
    (10, "Tile, Decorated", 37),
    (39, "Tile, Modified", 0),
    (31, "Slope", 0),
    (32, "Slope, Inverted", 0),
    (33, "Slope, Curved", 0),
    (18, "Bracket", 0),
    (36, "Technic", 0),
    (139, "Technic, Pin", 36),
    (134, "Technic, Axle", 36),
    (135, "Technic, Liftarm", 36),
    (38, "Wedge, Plate", 0),
    (23, "Panel", 0),
    (16, "Window", 0),
    (17, "Hinge", 0),
    (40, "Cone", 0),
    (41, "Cylinder", 0),
    (60, "Minifigure, Torso", 0),
    (61, "Minifigure, Legs", 0),
    (238, "Minifigure, Head", 0),
    (65, "Star Wars", 0),
    (66, "Star Wars Episode 4/5/6", 65),
    (67, "Star Wars Episode 1", 65),
    (158, "Ultimate Collector Series", 65),
    (186, "Castle", 0),
    (187, "Lion Knights", 186),
    (188, "Black Falcons", 186),
    (50, "Town", 0),
    (52, "Classic Town", 50),
)

# (no, name as BrickLink writes it, category, weight, dims, year, obsolete, alternate_no, colors,
#  description). Names keep BrickLink's HTML entities on purpose.
_CuratedPart = tuple[str, str, int, str, tuple[str, str, str], int, bool, str, tuple[int, ...], str]
# fmt: off
_CURATED_PARTS: tuple[_CuratedPart, ...] = (
    ("3001", "Brick 2 x 4", 5, "2.32", ("2.00", "4.00", "1.20"), 1958, False, "",
     (11, 1, 5, 7, 3, 86, 85, 2), "<p />"),
    ("3003", "Brick 2 x 2", 5, "1.15", ("2.00", "2.00", "1.20"), 1954, False, "",
     (5, 1, 11, 7, 3, 86), "<p />"),
    ("3004", "Brick 1 x 2", 5, "0.80", ("1.00", "2.00", "1.20"), 1954, False, "",
     (1, 5, 11, 2, 86, 85, 88), "<p />"),
    ("3005", "Brick 1 x 1", 5, "0.43", ("1.00", "1.00", "1.20"), 1954, False, "",
     (1, 11, 5, 3), "<p />"),
    ("3010", "Brick 1 x 4", 5, "1.46", ("1.00", "4.00", "1.20"), 1955, False, "",
     (1, 5, 11, 86), "<p />"),
    ("3009", "Brick 1 x 6", 5, "2.20", ("1.00", "6.00", "1.20"), 1955, False, "",
     (1, 5, 11), "<p />"),
    ("3008", "Brick 1 x 8", 5, "2.90", ("1.00", "8.00", "1.20"), 1955, False, "",
     (1, 11, 86, 85), "<p />"),
    ("3020", "Plate 2 x 4", 26, "0.94", ("2.00", "4.00", "0.40"), 1963, False, "",
     (11, 1, 5, 86, 85, 7, 2), "<p />"),
    ("3021", "Plate 2 x 3", 26, "0.72", ("2.00", "3.00", "0.40"), 1963, False, "",
     (11, 1, 86, 6), "<p />"),
    ("3022", "Plate 2 x 2", 26, "0.49", ("2.00", "2.00", "0.40"), 1963, False, "",
     (11, 1, 5, 86, 85), "<p />"),
    ("3023", "Plate 1 x 2", 26, "0.22", ("1.00", "2.00", "0.40"), 1963, False, "",
     (11, 1, 5, 86, 85, 3, 7, 88), "<p />"),
    ("3024", "Plate 1 x 1", 26, "0.12", ("1.00", "1.00", "0.40"), 1963, False, "",
     (11, 1, 5, 86, 85, 12), "<p />"),
    ("3710", "Plate 1 x 4", 26, "0.43", ("1.00", "4.00", "0.40"), 1963, False, "",
     (11, 1, 86), "<p />"),
    ("3062b", "Brick, Round 1 x 1 Open Stud", 20, "0.23", ("1.00", "1.00", "1.20"), 1980, False,
     "", (1, 11, 12, 17, 19), "<p>Open stud version. The solid stud version is 3062a.</p>"),
    ("3062a", "Brick, Round 1 x 1 Solid Stud", 20, "0.24", ("1.00", "1.00", "1.20"), 1979, True,
     "", (1, 5, 11), "<p />"),
    ("3069b", "Tile 1 x 2 with Groove", 37, "0.38", ("1.00", "2.00", "0.40"), 1978, False, "",
     (11, 1, 86, 85, 5, 2), "<p />"),
    ("3069a", "Tile 1 x 2 without Groove", 37, "0.37", ("1.00", "2.00", "0.40"), 1968, True, "",
     (1, 11), "<p />"),
    ("3070b", "Tile 1 x 1 with Groove", 37, "0.15", ("1.00", "1.00", "0.40"), 1978, False, "",
     (11, 1, 86, 5, 3), "<p />"),
    ("3068b", "Tile 2 x 2 with Groove", 37, "0.68", ("2.00", "2.00", "0.40"), 1978, False, "",
     (11, 1, 86, 85, 2), "<p />"),
    ("2780", "Technic, Pin with Friction Ridges Lengthwise and Center Slots", 139, "0.18",
     ("0.00", "0.00", "0.00"), 1997, False, "", (11,), "<p />"),
    ("4073", "Plate, Round 1 x 1 Straight Side", 21, "0.07", ("1.00", "1.00", "0.40"), 1980,
     False, "30057, 6141", (11, 1, 5, 3, 12, 17, 86), "<p />"),
    ("15573",
     "Plate, Modified 1 x 2 with 1 Stud with Groove and Bottom Stud Holder &#40;Jumper&#41;",
     27, "0.24", ("1.00", "2.00", "0.40"), 2014, False, "3794b", (11, 1, 86, 85), "<p />"),
    ("3794a", "Plate, Modified 1 x 2 with 1 Stud without Groove &#40;Jumper&#41;", 27, "0.23",
     ("1.00", "2.00", "0.40"), 1977, True, "", (1, 11, 9), "<p />"),
    ("3040b", "Slope 45 2 x 1", 31, "0.60", ("1.00", "2.00", "1.20"), 1980, False, "3040",
     (1, 5, 11, 86), "<p />"),
    ("3039", "Slope 45 2 x 2", 31, "0.90", ("2.00", "2.00", "1.20"), 1958, False, "",
     (1, 5, 11, 7, 86), "<p />"),
    ("3665", "Slope, Inverted 45 2 x 1", 32, "0.70", ("1.00", "2.00", "1.20"), 1979, False, "",
     (1, 11, 86), "<p />"),
    ("973", "Torso Plain", 60, "0.72", ("0.00", "0.00", "0.00"), 1978, False, "",
     (1, 5, 11, 7), "<p>Plain torso without arms.</p>"),
    ("970", "Hips", 61, "0.30", ("0.00", "0.00", "0.00"), 1978, False, "", (11, 7, 5, 1),
     "<p />"),
    ("3626c", "Minifigure, Head &#40;Plain&#41; - Hollow Stud", 238, "0.35",
     ("0.00", "0.00", "0.00"), 2004, False, "", (3, 90, 1), "<p />"),
    ("3626b", "Minifigure, Head &#40;Plain&#41; - Blocked Open Stud", 238, "0.36",
     ("0.00", "0.00", "0.00"), 1990, True, "", (3,), "<p />"),
    ("3001pr0001", "Brick 2 x 4 with &quot;LEGO&quot; Logo Pattern", 11, "2.33",
     ("2.00", "4.00", "1.20"), 1995, False, "", (5, 1), "<p />"),
    ("973pb0001", "Torso Santa&#39;s Coat with Fur Trim Pattern", 60, "0.73",
     ("0.00", "0.00", "0.00"), 2001, False, "", (5,), "<p />"),
    ("3069bpr0099", "Tile 1 x 2 with Black &amp; White Stripes Pattern", 10, "0.38",
     ("1.00", "2.00", "0.40"), 2008, False, "", (1, 86), "<p />"),
    ("3626cpb0001", "Minifigure, Head Standard Grin Pattern", 238, "0.35",
     ("0.00", "0.00", "0.00"), 2004, False, "", (3,), "<p />"),
    ("3068bpr0001", "Tile 2 x 2 with Groove with Computer Screen Pattern", 10, "0.68",
     ("2.00", "2.00", "0.40"), 1990, False, "", (9, 86), "<p />"),
    ("3070bpr0002", "Tile 1 x 1 with Groove with Clock Pattern", 10, "0.15",
     ("1.00", "1.00", "0.40"), 2010, True, "", (1,), "<p />"),
    ("3068bpb0999", "Tile 2 x 2 with Groove with Club Membership &amp; Stamp Pattern", 10,
     "0.68", ("2.00", "2.00", "0.40"), 1999, True, "", (1,), "<p />"),
    ("3004pb0999", "Brick 1 x 2 with Fan Club &#39;98 Pattern", 11, "0.80",
     ("1.00", "2.00", "1.20"), 1998, True, "", (1, 5), "<p />"),
)
# fmt: on

# Deliberately unknown to BrickOwl, whatever the seed.
UNMAPPED_CURATED_PARTS: tuple[str, ...] = ("3068bpb0999", "3004pb0999")

# (no, name, category, weight, year)
_CURATED_MINIFIGS: tuple[tuple[str, str, int, str, int], ...] = (
    ("sw0001a", "Battle Droid Tan with Back Plate", 67, "3.20", 1999),
    ("sw0002", "Luke Skywalker &#40;Tatooine&#41;", 66, "3.50", 1999),
    ("cas100", "Black Falcon Knight with Blue Plume", 188, "4.10", 1984),
    ("twn001", "Classic Town Police Officer", 52, "3.30", 1979),
)

# (no, name, category, weight, dims, year, obsolete)
# fmt: off
_CURATED_SETS: tuple[tuple[str, str, int, str, tuple[str, str, str], int, bool], ...] = (
    ("10030-1", "Imperial Star Destroyer - UCS", 158, "9093.00", ("58.80", "50.50", "21.00"),
     2002, False),
    ("6080-1", "King&#39;s Castle", 187, "1630.00", ("48.00", "38.50", "8.00"), 1984, False),
    ("75192-1", "Millennium Falcon - UCS", 158, "17750.00", ("58.00", "48.00", "16.00"), 2017,
     False),
    ("10179-1", "Ultimate Collector&#39;s Millennium Falcon", 158, "12020.00",
     ("57.00", "48.00", "17.00"), 2007, False),
    ("6086-1", "Black Knight&#39;s Castle", 188, "1820.00", ("48.00", "38.00", "9.00"), 1992,
     False),
    ("6394-1", "Metro Park &amp; Service Tower", 52, "1500.00", ("48.00", "38.00", "8.00"), 1987,
     False),
)
# fmt: on

# Generated part families: (name template, category, studs x, studs y, height).
_TEMPLATES: tuple[tuple[str, int], ...] = (
    ("Brick {a} x {b}", 5),
    ("Brick {a} x {b} x {h}", 5),
    ("Brick, Modified {a} x {b} with Studs on 1 Side", 6),
    ("Brick, Modified {a} x {b} with Grille", 6),
    ("Brick, Round {a} x {a} with Axle Hole", 20),
    ("Plate {a} x {b}", 26),
    ("Plate, Modified {a} x {b} with Door Rail", 27),
    ("Plate, Modified {a} x {b} with Handle on Side &#40;Free Ends&#41;", 27),
    ("Plate, Round {a} x {a} with Hole", 21),
    ("Tile {a} x {b} with Groove", 37),
    ("Tile, Modified {a} x {b} with Bar and Clip", 39),
    ("Slope 30 {a} x {b} x 2/3", 31),
    ("Slope 45 {a} x {b} Double", 31),
    ("Slope, Inverted 33 {a} x {b}", 32),
    ("Slope, Curved {a} x {b} x 2/3", 33),
    ("Bracket {a} x {b} - {a} x {b} Inverted", 18),
    ("Technic, Pin {a}L with Friction Ridges", 139),
    ("Technic, Axle {b}", 134),
    ("Technic, Liftarm Thick 1 x {b}", 135),
    ("Wedge, Plate {a} x {b} Right", 38),
    ("Wedge, Plate {a} x {b} Left", 38),
    ("Panel 1 x {a} x {b} with Side Supports - Hollow Studs", 23),
    ("Window 1 x {a} x {b} with Glass", 16),
    ("Hinge Plate 1 x {b} Locking with 2 Fingers on End", 17),
    ("Cone {a} x {a} x {h} &#40;Top Hollow Stud&#41;", 40),
    ("Cylinder Half {a} x {b} x {h} with Cutout", 41),
)

# Motifs for generated printed parts; some carry entities as BrickLink writes them.
_MOTIFS = (
    "Red Stripe",
    "Gauges",
    "Control Panel",
    "Bricks &amp; Mortar",
    "&#39;POLICE&#39; Text",
    "&quot;DANGER&quot; Sign",
    "Gold Trim",
    "Dark Red Cape",
    "Map",
    "Fire Logo",
    "Octan Logo",
    "Number 7",
)

_GENERATED_PARTS = 240
_UNMAPPED_GENERATED_SHARE = 0.06


@dataclass(frozen=True, slots=True)
class Color:
    """A BrickLink color and, when BrickOwl knows it, its BrickOwl twin."""

    color_id: int
    name: str
    code: str
    color_type: str
    brickowl_id: str | None
    ldraw_ids: tuple[int, ...]

    def bricklink_payload(self) -> dict:
        return {
            "color_id": self.color_id,
            "color_name": self.name,
            "color_code": self.code,
            "color_type": self.color_type,
        }


@dataclass(frozen=True, slots=True)
class Category:
    category_id: int
    name: str
    parent_id: int

    def bricklink_payload(self) -> dict:
        return {
            "category_id": self.category_id,
            "category_name": self.name,
            "parent_id": self.parent_id,
        }


@dataclass(frozen=True, slots=True)
class Item:
    """One catalog item. ``name`` is as BrickLink sends it, HTML entities included."""

    no: str
    name: str
    type: str
    category_id: int
    alternate_no: str
    weight: str
    dim_x: str
    dim_y: str
    dim_z: str
    year_released: int
    description: str
    is_obsolete: bool
    # (color_id, quantity) in BrickLink's order; the first color is the image's.
    colors: tuple[tuple[int, int], ...]
    # The colors endpoint sends quantities as strings for these items (the docs show both).
    quantity_as_string: bool
    boid: str | None
    base_price: Decimal

    @property
    def plain_name(self) -> str:
        return html.unescape(self.name)

    @property
    def has_entities(self) -> bool:
        return self.plain_name != self.name

    @property
    def is_printed(self) -> bool:
        return self.type == "PART" and ("pb" in self.no or "pr" in self.no)

    @property
    def color_ids(self) -> tuple[int, ...]:
        return tuple(color_id for color_id, _ in self.colors)

    @property
    def brickowl_type(self) -> str:
        return BRICKOWL_TYPES[self.type]

    def image_urls(self) -> tuple[str, str]:
        """Scheme-less URLs, as BrickLink sends them."""
        letter = {"PART": "P", "SET": "S", "MINIFIG": "M"}[self.type]
        color = self.colors[0][0] if self.type == "PART" else 0
        return (
            f"//img.bricklink.com/ItemImage/{letter}N/{color}/{self.no}.png",
            f"//img.bricklink.com/ItemImage/{letter}T/{color}/{self.no}.t1.png",
        )

    def bricklink_payload(self) -> dict:
        image_url, thumbnail_url = self.image_urls()
        return {
            "no": self.no,
            "name": self.name,
            "type": self.type,
            "category_id": self.category_id,
            "alternate_no": self.alternate_no,
            "image_url": image_url,
            "thumbnail_url": thumbnail_url,
            "weight": self.weight,
            "dim_x": self.dim_x,
            "dim_y": self.dim_y,
            "dim_z": self.dim_z,
            "year_released": self.year_released,
            "description": self.description,
            "is_obsolete": self.is_obsolete,
            "language_code": "",
        }

    def bricklink_colors_payload(self) -> list[dict]:
        return [
            {"color_id": color_id, "quantity": str(qty) if self.quantity_as_string else qty}
            for color_id, qty in self.colors
        ]


@dataclass(slots=True)
class Catalog:
    """Everything both marketplaces know about items, built once per seed and never mutated.

    ``cache`` holds serialized answers; filling it from several threads at once is harmless
    because every thread computes the same bytes.
    """

    seed: int
    colors: dict[int, Color]
    categories: dict[int, Category]
    items: dict[tuple[str, str], Item]
    brickowl_colors: dict[str, Color]
    boids: dict[str, Item]
    # BrickLink number or alternate number -> items, for BrickOwl's id_lookup.
    by_number: dict[str, list[Item]]
    cache: dict[object, bytes] = field(default_factory=dict)

    def item(self, item_type: str, no: str) -> Item | None:
        return self.items.get((item_type, no))

    def parts(self) -> list[Item]:
        return [item for item in self.items.values() if item.type == "PART"]

    def of_type(self, item_type: str) -> list[Item]:
        return [item for item in self.items.values() if item.type == item_type]

    def unmapped_parts(self) -> list[Item]:
        return [item for item in self.parts() if item.boid is None]

    def part_with_entities(self) -> str:
        """A part whose BrickLink name carries HTML entities (``&#40;``, ``&amp;``...)."""
        return next(item.no for item in self.parts() if item.has_entities)

    def part_without_boid(self) -> str:
        """A part BrickOwl's id_lookup answers 404 for."""
        return next(item.no for item in self.parts() if item.boid is None)

    def color_without_brickowl(self) -> int:
        """A BrickLink color id BrickOwl's color_list does not map."""
        return next(
            c.color_id for c in self.colors.values() if c.brickowl_id is None and c.color_id
        )

    def lookup_bricklink_number(self, number: str, item_type: str | None) -> list[Item]:
        """Items whose number (or one of whose alternate numbers) is ``number``."""
        found = self.by_number.get(number, [])
        return [item for item in found if not item_type or item.type == item_type]

    def cached_json(self, key: object, build) -> bytes:
        body = self.cache.get(key)
        if body is None:
            body = json.dumps(build(), separators=(",", ":")).encode()
            self.cache[key] = body
        return body


def _quantities(rng: random.Random, color_ids: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((color_id, rng.randint(1, 60000)) for color_id in color_ids)


def _quantity_as_string(no: str) -> bool:
    """Seed-independent, so a test can rely on 3001 answering one way."""
    return zlib.crc32(no.encode()) % 3 == 0


def _base_price(rng: random.Random, item_type: str, printed: bool) -> Decimal:
    if item_type == "SET":
        cents = rng.randint(4000, 90000)
    elif item_type == "MINIFIG":
        cents = rng.randint(150, 6000)
    else:
        cents = rng.randint(2, 180) * (rng.randint(3, 12) if printed else 1)
    return Decimal(cents) / 100


def _boid(rng: random.Random, used: set[str]) -> str:
    while True:
        boid = str(rng.randint(100000, 999999))
        if boid not in used:
            used.add(boid)
            return boid


def _curated_items(rng: random.Random) -> list[Item]:
    items = []
    for no, name, category, weight, dims, year, obsolete, alternate, colors, desc in _CURATED_PARTS:
        items.append(
            Item(
                no=no,
                name=name,
                type="PART",
                category_id=category,
                alternate_no=alternate,
                weight=weight,
                dim_x=dims[0],
                dim_y=dims[1],
                dim_z=dims[2],
                year_released=year,
                description=desc,
                is_obsolete=obsolete,
                colors=_quantities(rng, colors),
                quantity_as_string=_quantity_as_string(no),
                boid=None,
                base_price=_base_price(rng, "PART", "pb" in no or "pr" in no),
            )
        )
    for no, name, category, weight, year in _CURATED_MINIFIGS:
        items.append(
            Item(
                no=no,
                name=name,
                type="MINIFIG",
                category_id=category,
                alternate_no="",
                weight=weight,
                dim_x="0.00",
                dim_y="0.00",
                dim_z="0.00",
                year_released=year,
                description="<p />",
                is_obsolete=False,
                colors=_quantities(rng, (0,)),
                quantity_as_string=_quantity_as_string(no),
                boid=None,
                base_price=_base_price(rng, "MINIFIG", False),
            )
        )
    for no, name, category, weight, dims, year, obsolete in _CURATED_SETS:
        items.append(
            Item(
                no=no,
                name=name,
                type="SET",
                category_id=category,
                alternate_no="",
                weight=weight,
                dim_x=dims[0],
                dim_y=dims[1],
                dim_z=dims[2],
                year_released=year,
                description="<p />",
                is_obsolete=obsolete,
                colors=_quantities(rng, (0,)),
                quantity_as_string=_quantity_as_string(no),
                boid=None,
                base_price=_base_price(rng, "SET", False),
            )
        )
    return items


def _generated_part(rng: random.Random, no: str) -> Item:
    template, category = rng.choice(_TEMPLATES)
    a, b = sorted((rng.randint(1, 4), rng.randint(1, 12)))
    name = template.format(a=a, b=b, h=rng.randint(1, 3))
    studs = template.startswith(("Brick", "Plate", "Tile", "Slope", "Wedge"))
    dims = (f"{a:.2f}", f"{b:.2f}", "1.20") if studs else ("0.00", "0.00", "0.00")
    color_ids = tuple(rng.sample(_COMMON_COLORS, rng.randint(1, 8)))
    return Item(
        no=no,
        name=name,
        type="PART",
        category_id=category,
        alternate_no=str(int(no) + rng.randint(1, 900)) if rng.random() < 0.08 else "",
        weight=f"{rng.uniform(0.05, 15):.2f}",
        dim_x=dims[0],
        dim_y=dims[1],
        dim_z=dims[2],
        year_released=rng.randint(1960, 2025),
        description=rng.choice(("<p />", "<p />", f"<p>Similar to {no}b.</p>")),
        is_obsolete=rng.random() < 0.08,
        colors=_quantities(rng, color_ids),
        quantity_as_string=_quantity_as_string(no),
        boid=None,
        base_price=_base_price(rng, "PART", False),
    )


def _printed_variant(rng: random.Random, base: Item, index: int) -> Item:
    suffix = f"{rng.choice(('pb', 'pr'))}{index:04d}"
    motif = rng.choice(_MOTIFS)
    color_ids = base.color_ids[: rng.randint(1, min(3, len(base.color_ids)))]
    return Item(
        no=f"{base.no}{suffix}",
        name=f"{base.name} with {motif} Pattern",
        type="PART",
        category_id=base.category_id,
        alternate_no="",
        weight=base.weight,
        dim_x=base.dim_x,
        dim_y=base.dim_y,
        dim_z=base.dim_z,
        year_released=max(base.year_released, rng.randint(1975, 2025)),
        description="<p />",
        is_obsolete=rng.random() < 0.15,
        colors=_quantities(rng, color_ids),
        quantity_as_string=_quantity_as_string(f"{base.no}{suffix}"),
        boid=None,
        base_price=_base_price(rng, "PART", True),
    )


def _generated_items(rng: random.Random, count: int) -> list[Item]:
    numbers = sorted(rng.sample(range(30000, 99999), count))
    items = []
    for index, number in enumerate(numbers):
        part = _generated_part(rng, str(number))
        items.append(part)
        if rng.random() < 0.15:
            items.append(_printed_variant(rng, part, index + 1))
    return items


def _assign_boids(rng: random.Random, items: list[Item], generated: set[str]) -> list[Item]:
    """Give every item a BrickOwl id except the deliberately unmapped ones."""
    used: set[str] = set()
    result = []
    for item in items:
        unmapped = item.no in UNMAPPED_CURATED_PARTS or (
            item.no in generated and rng.random() < _UNMAPPED_GENERATED_SHARE
        )
        result.append(replace(item, boid=None if unmapped else _boid(rng, used)))
    return result


def _colors() -> tuple[dict[int, Color], dict[str, Color]]:
    colors = {}
    for color_id, name, code, color_type, brickowl_id, ldraw in _COLORS:
        colors[color_id] = Color(
            color_id=color_id,
            name=name,
            code=code,
            color_type=color_type,
            brickowl_id=None if brickowl_id is None else str(brickowl_id),
            ldraw_ids=ldraw,
        )
    brickowl = {c.brickowl_id: c for c in colors.values() if c.brickowl_id is not None}
    assert len(brickowl) == len(colors) - len(UNMAPPED_BRICKLINK_COLOR_IDS)
    return colors, brickowl


@functools.lru_cache(maxsize=8)
def build_catalog(seed: int, generated_parts: int = _GENERATED_PARTS) -> Catalog:
    """The catalog for ``seed``. Cached: building it takes a few milliseconds, not nothing.

    ``generated_parts`` sizes it for benchmarks that need thousands of distinct parts; the
    default gives the catalog the tests know.
    """
    rng = random.Random(f"brickops-sandbox-catalog:{seed}")  # noqa: S311 - replayable, not secret
    curated = _curated_items(rng)
    generated = _generated_items(rng, generated_parts)
    items = _assign_boids(rng, curated + generated, {item.no for item in generated})
    colors, brickowl_colors = _colors()
    by_number: dict[str, list[Item]] = {}
    for item in items:
        alternates = [alt.strip() for alt in item.alternate_no.split(",") if alt.strip()]
        for number in (item.no, *alternates):
            by_number.setdefault(number, []).append(item)
    return Catalog(
        seed=seed,
        colors=colors,
        categories={c[0]: Category(*c) for c in _CATEGORIES},
        items={(item.type, item.no): item for item in items},
        brickowl_colors=brickowl_colors,
        boids={item.boid: item for item in items if item.boid is not None},
        by_number=by_number,
    )

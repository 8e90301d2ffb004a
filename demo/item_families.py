"""The kinds of item Valdor plans, buys and makes, and how one item of each family is drawn:
fasteners, bearings, electronics, assemblies, machined parts, raw materials, packaging, MRO
supplies and finished goods, with their manufacturers, part numbers, weights and packs."""

import math
import zlib
from dataclasses import dataclass

from mdm.models import Item

# Manufacturers of purchased parts: GS1 company prefix (for GTINs) and part number prefix.
MANUFACTURERS = {
    "Boltara": ("4012007", "BT"),
    "Ferrum Fasteners": ("0712345", "FF"),
    "Schraubtec": ("4051234", "ST"),
    "Rollax": ("4061230", "RX"),
    "Kugelmann": ("4023456", "KM"),
    "Orbis Bearings": ("0734567", "OB"),
    "Voltaris": ("4045678", "VT"),
    "Nexatron": ("0756789", "NX"),
    "Siltec Components": ("6901234", "SC"),
    "Ampere Micro": ("0778901", "AM"),
    "ToolPro": ("4078901", "TP"),
    "Gripwell": ("5012345", "GW"),
    "Lubrix": ("4089012", "LX"),
}
FASTENER_MAKERS = ("Boltara", "Ferrum Fasteners", "Schraubtec")
BEARING_MAKERS = ("Rollax", "Kugelmann", "Orbis Bearings")
ELECTRONICS_MAKERS = ("Voltaris", "Nexatron", "Siltec Components", "Ampere Micro")
MRO_MAKERS = ("ToolPro", "Gripwell", "Lubrix")
PUMP_SIZES = ("32-125", "32-160", "40-160", "40-200", "50-160", "50-200", "65-200", "65-250",
              "80-250", "80-315")  # fmt: skip
PRODUCT_LINES = ("PX", "PXS", "GM", "HPU", "CC")


@dataclass(frozen=True)
class ItemSpec:
    """What an item family says about one item."""

    description: str
    item_type: str
    commodity: str
    unit: str = "H87"
    maker: str | None = None
    mpn: str = ""
    weight: float | None = None  # kg per base unit
    packs: tuple | None = None  # (pack unit, possible factors)
    gtin_share: float = 0.0  # how many items of the family carry a GTIN


def _steel_kg(diameter_mm, length_mm):
    return 7.85e-6 * math.pi / 4 * diameter_mm**2 * length_mm


def _drawing(rnd):
    return f"dwg {rnd.randint(40000, 79999)}"


FASTENER_SIZES = (3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24)
FASTENER_LENGTHS = (6, 8, 10, 12, 16, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70, 80, 90, 100, 120,
                    140, 160, 200)  # fmt: skip
# (name, standard, code, takes a length, strength classes in steel)
FASTENER_KINDS = (
    ("Hex bolt", "ISO 4017", "4017", True, ("8.8", "10.9")),
    ("Hex bolt partial thread", "ISO 4014", "4014", True, ("8.8", "10.9")),
    ("Socket head cap screw", "ISO 4762", "4762", True, ("8.8", "12.9")),
    ("Countersunk socket screw", "ISO 10642", "10642", True, ("8.8", "10.9")),
    ("Set screw cup point", "ISO 4029", "4029", True, ("45H",)),
    ("Hex nut", "ISO 4032", "4032", False, ("class 8", "class 10")),
    ("Lock nut nylon insert", "ISO 7040", "7040", False, ("class 8", "class 10")),
    ("Flange nut serrated", "DIN 6923", "6923", False, ("class 8", "class 10")),
    ("Washer", "ISO 7089", "7089", False, ("200HV", "300HV")),
    ("Washer large", "ISO 7093", "7093", False, ("200HV",)),
)
# (code, text, stainless property class or None)
FINISHES = (
    ("ZN", "zinc plated", None),
    ("ZNNI", "zinc-nickel", None),
    ("HDG", "hot-dip galvanized", None),
    ("BO", "black oxide", None),
    ("A2", "stainless", "A2-70"),
    ("A4", "stainless", "A4-80"),
)


def _fastener(rnd):
    name, standard, code, has_length, grades = rnd.choice(FASTENER_KINDS)
    size = rnd.choice(FASTENER_SIZES)
    finish_code, finish, stainless = rnd.choice(FINISHES)
    grade = stainless or rnd.choice(grades)
    finish = "" if stainless else f" {finish}"
    grade_code = grade.replace(".", "").replace("class ", "C")
    grade_code = grade_code if stainless else f"{grade_code}-{finish_code}"
    maker = rnd.choice(FASTENER_MAKERS)
    if has_length:
        length = rnd.choice([n for n in FASTENER_LENGTHS if 1.5 * size <= n <= 12 * size])
        dimension, part = f"M{size}x{length}", f"{size:02d}{length:03d}"
        weight = _steel_kg(size, length + 0.7 * size) * 1.2
    else:
        dimension, part = f"M{size}", f"{size:02d}"
        weight = _steel_kg(size * 1.8, size * 0.5)
    return ItemSpec(
        f"{name} {standard} {dimension} {grade}{finish}",
        Item.Type.COMPONENT,
        "Fasteners",
        maker=maker,
        mpn=f"{MANUFACTURERS[maker][1]}-{code}-{part}-{grade_code}",
        weight=weight,
        packs=("XBX", (50, 100, 100, 200)),
        gtin_share=0.6,
    )


def _bore(code):
    return (10, 12, 15, 17)[code] if code < 4 else code * 5


def _bearing(rnd):
    maker = rnd.choice(BEARING_MAKERS)
    bore = rnd.randrange(0, 21)
    kind = rnd.randrange(5)
    if kind < 2:
        seal = rnd.choice(("", "-Z", "-2Z", "-RS", "-2RS"))
        clearance = rnd.choice(("", " C3"))
        designation = f"6{rnd.choice((0, 2, 3))}{bore:02d}{seal}{clearance}"
        description = f"Deep groove ball bearing {designation}"
    elif kind == 2:
        designation = f"7{rnd.choice((2, 3))}{bore:02d}B{rnd.choice(('', '-2RS'))}"
        description = f"Angular contact ball bearing {designation}"
    elif kind == 3:
        designation = f"{rnd.choice(('NU', 'NJ', 'NUP'))}2{max(bore, 4):02d}E"
        description = f"Cylindrical roller bearing {designation}"
    else:
        designation = f"3{rnd.choice(('02', '03', '22'))}{max(bore, 3):02d} J2"
        description = f"Tapered roller bearing {designation}"
    weight = 0.01 + _bore(bore) ** 2 * 0.0003 * rnd.uniform(0.8, 1.4)
    return ItemSpec(
        description,
        Item.Type.COMPONENT,
        "Bearings",
        maker=maker,
        mpn=f"{MANUFACTURERS[maker][1]}-{designation.replace(' ', '')}",
        weight=weight,
        packs=("XBX", (10, 12, 24)),
        gtin_share=0.8,
    )


def _ohms(value):
    """A resistance as printed on reels: 47R, 4k7, 10k, 1M."""
    for limit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= limit:
            whole, rest = divmod(value, limit)
            return f"{whole}{suffix}{rest * 10 // limit if rest else ''}"
    return f"{value}R"


def _article(prefix, description):
    """A manufacturer's opaque article number, stable for a description."""
    return f"{prefix}{zlib.crc32(description.encode()) % 10_000_000:07d}"


E12 = (10, 12, 15, 18, 22, 27, 33, 39, 47, 56, 68, 82)
CAPACITANCES = ("10pF", "22pF", "47pF", "100pF", "220pF", "470pF", "1nF", "2.2nF", "4.7nF",
                "10nF", "22nF", "47nF", "100nF", "220nF", "470nF", "1uF", "2.2uF", "4.7uF",
                "10uF")  # fmt: skip
CHIP_SIZES = ("0402", "0603", "0805", "1206")


def _electronic(rnd):
    maker = rnd.choice(ELECTRONICS_MAKERS)
    prefix = MANUFACTURERS[maker][1]
    kind = rnd.randrange(8)
    packs, weight = ("XBX", (12, 24, 50, 100)), None
    if kind < 2:
        ohms = _ohms(rnd.choice(E12) * rnd.choice((1, 10, 100, 1000, 10_000, 100_000)))
        size, tolerance = rnd.choice(CHIP_SIZES), rnd.choice(("1%", "5%"))
        description = f"Resistor {ohms} {size} {tolerance}"
        mpn = f"{prefix}{size}{'F' if tolerance == '1%' else 'J'}-07{ohms}L"
        packs = ("XRL", (5000, 10000))
    elif kind < 4:
        value, size = rnd.choice(CAPACITANCES), rnd.choice(CHIP_SIZES)
        volts, dielectric = rnd.choice((10, 16, 25, 50)), rnd.choice(("X7R", "X5R", "C0G"))
        description = f"Capacitor {value} {size} {dielectric} {volts}V"
        mpn = f"{prefix}{size}{dielectric}{volts}V{value.replace('.', 'R')}"
        packs = ("XRL", (4000, 10000))
    elif kind == 4:
        thread, pins = rnd.choice(("M8", "M12")), rnd.choice((3, 4, 5, 8))
        gender, shape = rnd.choice(("male", "female")), rnd.choice(("straight", "angled"))
        metres, jacket = rnd.choice(((0, ""), (2, "PUR"), (5, "PUR"), (10, "PVC")))
        cable = f" cable {metres}m {jacket}" if metres else ""
        description = f"Connector {thread} {pins}-pin {gender} {shape}{cable}"
        mpn, weight = _article(prefix, description), 0.02 + 0.06 * metres
    elif kind == 5:
        size, output = rnd.choice((8, 12, 18, 30)), rnd.choice(("PNP", "NPN"))
        contact, wiring = rnd.choice(("NO", "NC")), rnd.choice(("M12 connector", "cable 2m"))
        reach = {8: 2, 12: 4, 18: 8, 30: 15}[size] * rnd.choice((1, 2))
        description = f"Inductive sensor M{size} {output} {contact} {reach}mm {wiring}"
        mpn = _article(prefix, description)
        weight = rnd.uniform(0.02, 0.12)
    elif kind == 6:
        coil = rnd.choice(("5V DC", "12V DC", "24V DC", "230V AC"))
        amps, contacts = rnd.choice((5, 8, 10, 16)), rnd.choice(("SPDT", "DPDT"))
        description = f"Relay {coil} {amps}A {contacts}"
        mpn = _article(prefix, description)
        weight = rnd.uniform(0.01, 0.04)
    else:
        flash = rnd.choice((32, 64, 128, 256, 512, 1024))
        package = rnd.choice(("QFN32", "LQFP48", "LQFP64", "LQFP100", "LQFP144"))
        temperature = rnd.choice(("-40..85°C", "-40..105°C"))
        description = f"Microcontroller 32-bit {flash}KB flash {package} {temperature}"
        mpn = f"{prefix}32F{flash}{package}{'6' if '85' in temperature else '7'}"
        packs = ("XBX", (50, 100))
    return ItemSpec(
        description,
        Item.Type.COMPONENT,
        "Electronics",
        maker=maker,
        mpn=mpn,
        weight=weight,
        packs=packs,
        gtin_share=0.5,
    )


def _assembly(rnd):
    product = rnd.choice(PRODUCT_LINES)
    if rnd.random() < 0.5:
        board = rnd.choice(
            (
                "controller",
                "power supply",
                "display",
                "motor driver",
                "I/O extension",
                "sensor interface",
                "communication",
                "keypad",
            )
        )
        description = f"PCB assembly {board} {product} v{rnd.randint(1, 4)}"
        commodity, weight = "Electronic assemblies", rnd.uniform(0.05, 0.4)
    else:
        loom = rnd.choice(("main", "motor", "sensor", "control panel", "power", "door"))
        description = f"Cable harness {loom} {product} {_drawing(rnd)}"
        commodity, weight = "Cable assemblies", rnd.uniform(0.1, 2.5)
    return ItemSpec(description, Item.Type.SEMI_FINISHED, commodity, weight=weight)


def _machined(rnd):
    kind = rnd.randrange(6)
    size = rnd.choice(PUMP_SIZES)
    if kind == 0:
        material = rnd.choice(("EN-GJL-250", "EN-GJS-400", "1.4408"))
        description = f"Pump housing machined PX {size} {material}"
        weight = 8 + int(size.split("-")[1]) * rnd.uniform(0.08, 0.12)
    elif kind == 1:
        side = rnd.choice(("left", "right"))
        description = f"Bracket welded {side} S235 {_drawing(rnd)}"
        weight = rnd.uniform(0.3, 6)
    elif kind == 2:
        diameter, length = rnd.choice((20, 25, 30, 35, 40, 50, 60)), rnd.randrange(120, 480, 20)
        description = f"Shaft Ø{diameter}x{length} {rnd.choice(('C45', '42CrMo4', '1.4021'))}"
        weight = _steel_kg(diameter, length)
    elif kind == 3:
        nominal = rnd.choice((25, 32, 40, 50, 65, 80, 100, 125, 150))
        pressure, material = rnd.choice((10, 16, 25, 40)), rnd.choice(("P250GH", "1.4571"))
        description = f"Flange DN{nominal} PN{pressure} {material} machined"
        weight = 0.5 + nominal * 0.04 * (1 + pressure / 40)
    elif kind == 4:
        material = rnd.choice(("bronze", "cast iron", "stainless"))
        description = f"Impeller PX {size} {material} Ø{int(size.split('-')[1]) - 5}"
        weight = int(size.split("-")[1]) ** 2 * 0.00005
    else:
        part = rnd.choice(("Cover plate", "Adapter ring", "Motor lantern", "Bearing housing"))
        description = f"{part} PX {size} {_drawing(rnd)}"
        weight = rnd.uniform(1, 15)
    return ItemSpec(description, Item.Type.SEMI_FINISHED, "Machined parts", weight=weight)


SHEET_MATERIALS = (
    ("Aluminium sheet EN AW-5754 H111", "Metals - aluminium"),
    ("Aluminium sheet EN AW-6082 T6", "Metals - aluminium"),
    ("Stainless steel sheet 1.4301 2B", "Metals - stainless"),
    ("Stainless steel sheet 1.4404 2B", "Metals - stainless"),
    ("Steel sheet S235JR", "Metals - steel"),
    ("Steel sheet DC01", "Metals - steel"),
    ("Galvanized steel sheet DX51D Z275", "Metals - steel"),
)
BAR_MATERIALS = ("S235JR", "S355J2", "C45", "42CrMo4", "1.4301", "1.4305", "EN AW-6082",
                 "CuZn39Pb3")  # fmt: skip
RAL_COLOURS = (1003, 2004, 3000, 5002, 5010, 5015, 6005, 7016, 7035, 7037, 9005, 9010)
POLYMERS = ("PP-H", "PP-C", "PA6", "PA66", "POM", "PBT", "ABS", "PC")


def _raw(rnd):
    kind = rnd.randrange(10)
    raw = Item.Type.RAW_MATERIAL
    if kind == 0:
        material, commodity = rnd.choice(SHEET_MATERIALS)
        thickness = rnd.choice((0.8, 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10))
        size = rnd.choice(("2000x1000", "2500x1250", "3000x1500"))
        return ItemSpec(
            f"{material} {thickness}mm {size}",
            raw,
            commodity,
            unit="KGM",
            packs=("XPX", (500, 1000)),
        )
    if kind == 1:
        grade, thickness = rnd.choice(("DC01", "DC04", "DX51D Z275")), rnd.choice((0.8, 1, 1.5, 2))
        width = rnd.choice((1000, 1250, 1500))
        return ItemSpec(
            f"Steel coil {grade} {thickness}x{width}mm", raw, "Metals - steel", unit="KGM"
        )
    if kind == 2:
        material, size = rnd.choice(BAR_MATERIALS), rnd.choice(range(10, 105, 5))
        shape, factor = rnd.choice(
            (("round bar Ø", 1.0), ("square bar ", 1.27), ("hex bar SW", 1.1))
        )
        density = 1 / 2.9 if material.startswith("EN AW") else 1.08 if material[0] == "C" else 1
        return ItemSpec(
            f"{material} {shape}{size}mm",
            raw,
            "Metals - bar stock",
            unit="MTR",
            weight=_steel_kg(size, 1000) * factor * density,
        )
    if kind == 3:
        section = rnd.choice((0.75, 1, 1.5, 2.5, 4, 6, 10, 16))
        colour = rnd.choice(("black", "blue", "brown", "grey", "green-yellow", "red"))
        return ItemSpec(
            f"Copper wire H07V-K {section}mm² {colour}",
            raw,
            "Cable and wire",
            unit="MTR",
            weight=0.0095 * section + 0.006,
            packs=("XRO", (100, 500)),
        )
    if kind == 4:
        cores, section = rnd.choice((3, 4, 5, 7, 12, 18)), rnd.choice((0.5, 0.75, 1, 1.5, 2.5))
        jacket = rnd.choice(("PVC", "PUR"))
        return ItemSpec(
            f"Control cable {cores}G{section} {jacket}",
            raw,
            "Cable and wire",
            unit="MTR",
            weight=0.03 + cores * section * 0.012,
            packs=("XRO", (100, 500)),
        )
    if kind == 5:
        hose, nominal = (
            rnd.choice(("1SN", "2SN", "4SP")),
            rnd.choice((6, 8, 10, 12, 16, 20, 25, 32)),
        )
        return ItemSpec(
            f"Hydraulic hose {hose} DN{nominal}",
            raw,
            "Hydraulics",
            unit="MTR",
            weight=0.03 * nominal,
            packs=("XRO", (50, 100)),
        )
    if kind == 6:
        filler = rnd.choice(("", " GF15", " GF30"))
        colour = rnd.choice(("natural", "black", "grey RAL 7035"))
        return ItemSpec(
            f"Polymer granulate {rnd.choice(POLYMERS)}{filler} {colour}",
            raw,
            "Plastics",
            unit="KGM",
            packs=("XBG", (25,)),
        )
    if kind == 7:
        oil = rnd.choice(("Hydraulic oil HLP", "Hydraulic oil HVLP", "Gear oil CLP"))
        grade = rnd.choice((22, 32, 46, 68, 100) if oil.startswith("Hyd") else (100, 150, 220, 320))
        return ItemSpec(
            f"{oil} {grade}", raw, "Chemicals", unit="LTR", weight=0.88, packs=("XDR", (200, 208))
        )
    if kind == 8:
        colour, finish = rnd.choice(RAL_COLOURS), rnd.choice(("matt", "gloss", "fine texture"))
        return ItemSpec(
            f"Powder coating RAL {colour} {finish}",
            raw,
            "Chemicals",
            unit="KGM",
            packs=("XBX", (20, 25)),
        )
    coat = rnd.choice(("Primer 2K epoxy", "Topcoat 2K PUR"))
    return ItemSpec(
        f"{coat} RAL {rnd.choice(RAL_COLOURS)}",
        raw,
        "Chemicals",
        unit="LTR",
        weight=1.4,
        packs=("XDR", (200,)),
    )


def _packaging(rnd):
    kind = rnd.randrange(5)
    packs, weight = None, None
    if kind < 2:
        length, width = rnd.choice(
            (
                (300, 200),
                (400, 300),
                (500, 300),
                (600, 400),
                (800, 600),
                (1200, 800),
                (380, 280),
                (285, 185),
            )
        )
        height = rnd.choice((100, 150, 200, 250, 300, 400, 500))
        wall = rnd.choice(("single wall", "double wall"))
        description = f"Carton box {length}x{width}x{height}mm {wall}"
        weight, packs = length * width * 0.000004, ("XPX", (200, 300, 400))
    elif kind == 2:
        description = f"Foam insert {rnd.choice(PRODUCT_LINES)} {_drawing(rnd)}"
    elif kind == 3:
        size = rnd.choice(("100x150", "100x50", "60x40", "148x210", "50x25"))
        material = rnd.choice(("paper", "polypropylene"))
        description = f"Label thermal transfer {size}mm {material}"
        packs = ("XRO", (1000, 2000))
    else:
        description = rnd.choice(
            (
                "Euro pallet EPAL 1200x800",
                "Industrial pallet 1200x1000",
                "Pallet collar 1200x800 hinged",
                f"Stretch film {rnd.choice((17, 20, 23, 30))}µm {rnd.choice((450, 500))}mm",
                f"Wooden crate {rnd.choice(PRODUCT_LINES)} {_drawing(rnd)}",
            )
        )
    return ItemSpec(
        description, Item.Type.PACKAGING, "Packaging", weight=weight, packs=packs, gtin_share=0.3
    )


def _mro(rnd):
    kind = rnd.randrange(7)
    if kind == 0:
        glove = rnd.choice(("nitrile", "cut-resistant level C", "leather"))
        description = f"Safety gloves {glove} size {rnd.randint(6, 11)}"
    elif kind == 1:
        tool = rnd.choice(("HSS-G", "HSS-Co5", "solid carbide"))
        description = f"Drill bit {tool} Ø{rnd.randrange(10, 131, 5) / 10:g}mm"
    elif kind == 2:
        flute = rnd.choice(("straight flute", "spiral flute", "spiral point"))
        description = f"Machine tap M{rnd.choice((3, 4, 5, 6, 8, 10, 12, 16, 20))} {flute} HSS-E"
    elif kind == 3:
        shape = rnd.choice(("CNMG", "DNMG", "WNMG", "TNMG", "VNMG", "SNMG"))
        radius, chip = rnd.choice(("04", "08", "12")), rnd.choice(("PM", "MF", "MR"))
        description = (
            f"Cutting insert {shape} 1204{radius}-{chip} {rnd.choice(('P25', 'M20', 'K15'))}"
        )
    elif kind == 4:
        diameter, flutes = rnd.choice((2, 3, 4, 5, 6, 8, 10, 12, 16, 20)), rnd.choice((2, 3, 4))
        description = f"End mill solid carbide Ø{diameter}mm {flutes} flutes"
    elif kind == 5:
        size = rnd.choice(("100x2.5", "150x3.6", "200x4.8", "300x4.8", "370x7.6"))
        description = f"Cable ties {size} {rnd.choice(('black', 'natural'))}"
    else:
        disc = rnd.choice(("cutting disc", "grinding disc", "flap disc P60", "flap disc P80"))
        description = f"Abrasive {disc} Ø{rnd.choice((115, 125, 180, 230))}mm"
    maker = rnd.choice(MRO_MAKERS)
    return ItemSpec(
        description,
        Item.Type.MRO,
        "MRO",
        maker=maker,
        mpn=_article(MANUFACTURERS[maker][1], description),
        packs=("XBX", (12, 24, 50, 100)),
        gtin_share=0.8,
    )


def _finished(rnd):
    kind = rnd.randrange(5)
    if kind < 2:
        series, size = rnd.choice(("PX", "PXS", "PXM")), rnd.choice(PUMP_SIZES)
        kilowatts = rnd.choice((1.5, 2.2, 3, 4, 5.5, 7.5, 11, 15))
        description = f"Centrifugal pump {series} {size} {kilowatts:g}kW"
        weight = 30 + kilowatts * 9
    elif kind == 2:
        kilowatts, ratio = rnd.choice((0.37, 0.75, 1.5, 3, 5.5)), rnd.choice((5, 8, 10, 16, 20, 40))
        mounting = rnd.choice(("foot", "flange"))
        description = (
            f"Gear motor GM{rnd.choice((40, 50, 63, 80, 100))} {kilowatts:g}kW i={ratio} {mounting}"
        )
        weight = 8 + kilowatts * 12
    elif kind == 3:
        litres, supply = rnd.choice((25, 40, 60, 100)), rnd.choice(("400V 50Hz", "480V 60Hz"))
        description = f"Hydraulic power unit HPU-{rnd.randint(1, 9)} {litres}l {supply}"
        weight = 40 + litres * 1.2
    else:
        kit = rnd.choice(("seal kit", "wear parts kit", "overhaul kit"))
        description = f"Pump {kit} PX {rnd.choice(PUMP_SIZES)}"
        weight = rnd.uniform(1, 6)
    return ItemSpec(
        description, Item.Type.FINISHED_GOOD, "Finished goods", weight=weight, gtin_share=1.0
    )


ITEM_FAMILIES = (
    (_fastener, 22),
    (_bearing, 7),
    (_electronic, 19),
    (_assembly, 6),
    (_machined, 8),
    (_raw, 13),
    (_packaging, 5),
    (_mro, 12),
    (_finished, 8),
)

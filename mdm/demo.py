"""The demo world: Valdor, a fictional maker of pumps and drives with three plants, its
suppliers, its items and a few code lists, so the hub can be tried out on realistic data.

Deterministic: every record is drawn from its own random generator, seeded with the record's
kind and index, so the same sizes always give the same data. Item 42 depends only on items 1
to 41 (whose descriptions it must not repeat), so it is the same item whether 200 or 5,000
items are asked for, and a bigger seed only adds to a smaller one.

Idempotent: records are looked up by their natural keys and only the missing ones are
created. Records that already exist, perhaps edited by a steward since, are left alone, which
is why `make run` can seed on every start.
"""

import math
import random
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history
from stdnum import ean
from stdnum.iso7064 import mod_97_10

from core.history import change_source, current_change_source
from mdm import identifiers, units
from mdm.models import (
    Calendar,
    CalendarException,
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
    allocate_public_ids,
)
from mdm.signals import demo_seeded

SEED = "valdor-demo-1"
DEFAULT_ITEMS = 5000
DEFAULT_SUPPLIERS = 200
# DUNS numbers are spread over index-sized slices of the 9-digit range, so they stay unique.
MAX_SUPPLIERS = 50_000
FIRST_ITEM_NUMBER = 100000
BATCH_SIZE = 500
# How often a name or description already taken is drawn again before it is repeated.
REDRAWS = 30
# Supplier-specific packs come from the first few suppliers only, so that seeding more
# suppliers later does not change which supplier an item's pack belongs to.
KEY_SUPPLIERS = 10
COMPANY = "Valdor"
COMPANY_GS1_PREFIX = "4098765"

# --- units ------------------------------------------------------------------------------

# Created only when missing once the units service has loaded Rec 20 and Rec 21 (or has no
# loader): what the demo items and packs need.
DEMO_UNITS = {
    "H87": {
        "name": "piece",
        "pint_expression": "piece",
        "mapping_class": Unit.MappingClass.CUSTOM,
    },
    "KGM": {
        "name": "kilogram",
        "symbol": "kg",
        "pint_expression": "kilogram",
        "mapping_class": Unit.MappingClass.DIRECT,
    },
    "MTR": {
        "name": "metre",
        "symbol": "m",
        "pint_expression": "meter",
        "mapping_class": Unit.MappingClass.DIRECT,
    },
    "LTR": {
        "name": "litre",
        "symbol": "l",
        "pint_expression": "liter",
        "mapping_class": Unit.MappingClass.DIRECT,
    },
    "XBX": {"name": "Box", "source": Unit.Source.REC21},
    "XPX": {"name": "Pallet", "source": Unit.Source.REC21},
    "XRO": {"name": "Roll", "source": Unit.Source.REC21},
    "XRL": {"name": "Reel", "source": Unit.Source.REC21},
    "XDR": {"name": "Drum", "source": Unit.Source.REC21},
    "XBG": {"name": "Bag", "source": Unit.Source.REC21},
}
for _fields in DEMO_UNITS.values():
    if _fields.get("source") == Unit.Source.REC21:
        _fields["mapping_class"] = Unit.MappingClass.ITEM_SPECIFIC

# --- systems and code lists ---------------------------------------------------------------

SOURCE_SYSTEMS = (
    {
        "code": "ERP_LEGACY",
        "name": "Legacy ERP (on premises)",
        "kind": SourceSystem.Kind.ERP,
        "authoritative_for": ["item", "supplier"],
        "description": "System of record for items and suppliers until the cloud ERP takes over.",
    },
    {
        "code": "ERP_CLOUD",
        "name": "Cloud ERP",
        "kind": SourceSystem.Kind.ERP,
        "authoritative_for": [],
        "description": "Being rolled out plant by plant; uses its own item and supplier numbers.",
    },
    {
        "code": "PLANNING",
        "name": "Demand and supply planning",
        "kind": SourceSystem.Kind.PLANNING,
        "authoritative_for": [],
        "description": "Sends forecasts to the ERPs; keys items by its own planning codes.",
    },
    {
        "code": "SUPPLIER_NET",
        "name": "Supplier collaboration network",
        "kind": SourceSystem.Kind.SUPPLIER_NETWORK,
        "authoritative_for": [],
        "description": "Carries purchase orders, acknowledgements and ship notices to suppliers.",
    },
)

CODE_LISTS = {
    "ACK_LINE_STATUS": (
        "Acknowledgement line status",
        "How a supplier answered one purchase order line.",
        (
            ("accepted", "Accepted as ordered"),
            ("accepted_with_changes", "Accepted with changes to quantity, date or price"),
            ("backordered", "Backordered: accepted, delivery later"),
            ("rejected", "Rejected"),
            ("on_hold", "On hold: supplier has not decided yet"),
        ),
    ),
    "ITEM_STATUS": (
        "Item status",
        "Life-cycle status of an item.",
        (
            ("active", "Active: may be planned, bought and made"),
            ("blocked", "Blocked: no new orders"),
            ("obsolete", "Obsolete: phased out"),
        ),
    ),
    "SUPPLIER_STATUS": (
        "Supplier status",
        "Whether purchase orders may go to a supplier.",
        (
            ("active", "Active"),
            ("blocked", "Blocked: quality or compliance hold"),
            ("inactive", "Inactive: no longer used"),
        ),
    ),
    "REVISION_STATUS": (
        "Item revision status",
        "Engineering status of an item revision.",
        (("released", "Released for production"), ("obsolete", "Obsolete: superseded")),
    ),
    "PO_LINE_STATUS": (
        "Purchase order line status",
        "Where a purchase order line stands.",
        (
            ("open", "Open"),
            ("partially_received", "Partially received"),
            ("received", "Fully received"),
            ("cancelled", "Cancelled"),
            ("closed", "Closed"),
        ),
    ),
}

# --- plants -----------------------------------------------------------------------------


def _nth_weekday(year, month, weekday, n=1):
    """The n-th given weekday (0 = Monday) of a month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


@dataclass(frozen=True)
class Plant:
    code: str
    city: str
    country: str
    subdivision: str
    timezone: str
    postal_code: str
    street: str
    number: int
    gln_prefix: str
    shutdown_month: int
    shutdown_week: int
    shutdown_days: int


PLANTS = (
    Plant(
        code="DE01",
        city="Ingolstadt",
        country="DE",
        subdivision="BY",
        timezone="Europe/Berlin",
        postal_code="85055",
        street="Industriestraße",
        number=40,
        gln_prefix="4098765",
        shutdown_month=8,
        shutdown_week=1,
        shutdown_days=19,
    ),
    Plant(
        code="US01",
        city="Grand Rapids",
        country="US",
        subdivision="MI",
        timezone="America/Detroit",
        postal_code="49512",
        street="Industrial Park Dr SE",
        number=2150,
        gln_prefix="0614141",
        shutdown_month=7,
        shutdown_week=1,
        shutdown_days=5,
    ),
    Plant(
        code="MX01",
        city="Santiago de Querétaro",
        country="MX",
        subdivision="",
        timezone="America/Mexico_City",
        postal_code="76220",
        street="Av. de la Montaña",
        number=112,
        gln_prefix="7501234",
        shutdown_month=7,
        shutdown_week=2,
        shutdown_days=12,
    ),
)

# --- supplier countries -----------------------------------------------------------------


@dataclass(frozen=True)
class CountryStyle:
    """How suppliers of one country are named and addressed."""

    code: str
    name: str
    weight: int
    timezone: str
    working_weekdays: str
    name_format: str
    name_parts: tuple
    legal_format: str
    legal_forms: tuple
    address_format: str
    streets: tuple
    cities: tuple  # (city, postal code pattern: # digit, @ letter)


COUNTRIES = (
    CountryStyle(
        "DE", "Germany", 24, "Europe/Berlin", "1111100", "{} {}",
        (("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann",
          "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Neumann", "Zimmermann",
          "Braun", "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Kaiser"),
         ("Präzisionstechnik", "Metallbau", "Stanztechnik", "Kunststofftechnik", "Elektronik",
          "Zerspanungstechnik", "Drehteile", "Verpackungen", "Oberflächentechnik", "Gießerei",
          "Federnwerk", "Antriebstechnik", "Hydraulik", "Schraubenwerk", "Dichtungstechnik")),
        "{name} {form}", ("GmbH", "GmbH", "GmbH & Co. KG", "AG"),
        "{street} {number}",
        ("Industriestraße", "Gewerbepark", "Robert-Bosch-Straße", "Carl-Benz-Straße",
         "Siemensstraße", "Daimlerstraße", "Im Gewerbegebiet", "Hauptstraße"),
        (("Stuttgart", "705##"), ("Nürnberg", "904##"), ("Chemnitz", "091##"),
         ("Bielefeld", "336##"), ("Dortmund", "441##"), ("Augsburg", "861##"),
         ("Ulm", "890##"), ("Kassel", "341##"), ("Regensburg", "930##")),
    ),
    CountryStyle(
        "US", "United States", 15, "America/Chicago", "1111100", "{} {}",
        (("Great Lakes", "Midwest", "Summit", "Keystone", "Liberty", "Pioneer", "Heartland",
          "Lone Star", "Cascade", "Frontier", "Atlas", "Eagle", "Ridgeline", "Northstar"),
         ("Fastener", "Precision Machining", "Plastics", "Electronics", "Metal Stamping",
          "Packaging", "Bearing Supply", "Industrial Supply", "Castings", "Wire & Cable",
          "Hydraulics", "Components")),
        "{name} {form}", ("Inc.", "LLC", "Corp."),
        "{number} {street}",
        ("Industrial Pkwy", "Commerce Dr", "Enterprise Blvd", "Technology Way", "Factory Rd",
         "Progress Dr", "Manufacturers Rd"),
        (("Cleveland", "441##"), ("Toledo", "436##"), ("Fort Wayne", "468##"),
         ("Milwaukee", "532##"), ("Rockford", "611##"), ("Charlotte", "282##"),
         ("Houston", "770##"), ("Dayton", "454##")),
    ),
    CountryStyle(
        "CN", "China", 12, "Asia/Shanghai", "1111110", "{} {}",
        (("Hengli", "Xinda", "Huatai", "Longsheng", "Hongda", "Tianyi", "Yuxin", "Ruifeng",
          "Dingsheng", "Jiahe", "Kaiyuan", "Mingtai"),
         ("Precision", "Hardware", "Electronics", "Bearing", "Plastic", "Metal Products",
          "Machinery", "Packaging")),
        "{city} {name} {form}", ("Co., Ltd.", "Manufacturing Co., Ltd."),
        "No. {number} {street} Road",
        ("Xinghua", "Gongye", "Jinqiao", "Huashan", "Changjiang", "Binhai"),
        (("Ningbo", "3150##"), ("Suzhou", "2150##"), ("Shenzhen", "5180##"),
         ("Dongguan", "5230##"), ("Qingdao", "2660##"), ("Wuxi", "2140##")),
    ),
    CountryStyle(
        "MX", "Mexico", 8, "America/Mexico_City", "1111110", "{} {}",
        (("Industrias", "Maquinados", "Manufacturas", "Plásticos", "Empaques", "Fundiciones",
          "Componentes"),
         ("del Bajío", "de Querétaro", "del Norte", "Regiomontanos", "de Saltillo", "Unidos")),
        "{name} {form}", ("S.A. de C.V.", "S. de R.L. de C.V."),
        "{street} {number}",
        ("Av. Industrial", "Blvd. de la Industria", "Calle Acero", "Av. Tecnológico",
         "Circuito El Marqués"),
        (("Monterrey", "64###"), ("Saltillo", "25###"), ("Querétaro", "76###"),
         ("León", "37###"), ("Puebla", "72###")),
    ),
    CountryStyle(
        "PL", "Poland", 8, "Europe/Warsaw", "1111100", "{}{}",
        (("Pol", "Stal", "Elektro", "Tech", "Metal", "Mecha", "Plast", "Hydro", "Auto"),
         ("met", "profil", "pak", "tron", "plast", "mont", "lux", "bud")),
        "{name} {form}", ("Sp. z o.o.", "Sp. z o.o.", "S.A."),
        "ul. {street} {number}",
        ("Przemysłowa", "Fabryczna", "Kolejowa", "Polna", "Składowa"),
        (("Wrocław", "5#-###"), ("Poznań", "6#-###"), ("Łódź", "9#-###"),
         ("Katowice", "40-###"), ("Bielsko-Biała", "43-3##")),
    ),
    CountryStyle(
        "IT", "Italy", 8, "Europe/Rome", "1111100", "{} {}",
        (("Meccanica", "Officine", "Fonderia", "Minuterie", "Elettronica", "Stampaggio"),
         ("Rossi", "Bianchi", "Colombo", "Romano", "Ricci", "Marino", "Greco", "Bruno",
          "Gallo", "Conti", "Costa", "Fontana", "Moretti", "Lombardi")),
        "{name} {form}", ("S.r.l.", "S.r.l.", "S.p.A."),
        "Via {street} {number}",
        ("dell'Industria", "dell'Artigianato", "Enrico Fermi", "Galileo Galilei", "Roma"),
        (("Brescia", "251##"), ("Bergamo", "241##"), ("Torino", "101##"), ("Bologna", "401##"),
         ("Vicenza", "361##")),
    ),
    CountryStyle(
        "CZ", "Czechia", 6, "Europe/Prague", "1111100", "{} {}",
        (("Strojírny", "Kovovýroba", "Slévárna", "Plasty", "Obaly", "Elektro"),
         ("Brno", "Plzeň", "Ostrava", "Zlín", "Kolín", "Jihlava", "Liberec", "Morava")),
        "{name} {form}", ("s.r.o.", "s.r.o.", "a.s."),
        "{street} {number}",
        ("Průmyslová", "Tovární", "Nádražní", "Hlavní"),
        (("Brno", "6## 00"), ("Plzeň", "3## 00"), ("Ostrava", "7## 00"), ("Zlín", "760 01")),
    ),
    CountryStyle(
        "AT", "Austria", 5, "Europe/Vienna", "1111100", "{} {}",
        (("Gruber", "Huber", "Wimmer", "Pichler", "Steiner", "Moser", "Leitner", "Eder"),
         ("Metallwaren", "Kunststoffe", "Präzisionsteile", "Elektrotechnik", "Federn")),
        "{name} {form}", ("GmbH", "GmbH", "AG"),
        "{street} {number}",
        ("Industriezeile", "Gewerbestraße", "Linzer Straße", "Betriebsstraße"),
        (("Linz", "40##"), ("Graz", "80##"), ("Steyr", "4400"), ("Wels", "4600")),
    ),
    CountryStyle(
        "NL", "Netherlands", 5, "Europe/Amsterdam", "1111100", "{} {}",
        (("Van Dijk", "De Vries", "Bakker", "Visser", "Jansen", "Smit", "Meijer", "De Boer",
          "Mulder"),
         ("Metaal", "Kunststoffen", "Techniek", "Verpakkingen", "Precisie", "Aandrijvingen")),
        "{name} {form}", ("B.V.",),
        "{street} {number}",
        ("Industrieweg", "Ambachtsweg", "Nijverheidsweg", "Havenstraat"),
        (("Eindhoven", "56## @@"), ("Tilburg", "50## @@"), ("Venlo", "59## @@"),
         ("Enschede", "75## @@")),
    ),
    CountryStyle(
        "JP", "Japan", 5, "Asia/Tokyo", "1111100", "{} {}",
        (("Yamato", "Sanko", "Daiwa", "Kyowa", "Taiyo", "Nikko", "Shinwa", "Tokai"),
         ("Seiki", "Denki", "Kogyo", "Seisakusho", "Precision", "Electronics")),
        "{name} {form}", ("Co., Ltd.",),
        "{street} {number}",
        ("Kogyo-cho", "Minato-machi", "Sakae", "Higashi"),
        (("Nagoya", "45#-####"), ("Osaka", "53#-####"), ("Hamamatsu", "43#-####")),
    ),
    CountryStyle(
        "SE", "Sweden", 4, "Europe/Stockholm", "1111100", "{}{}",
        (("Nord", "Berg", "Lind", "Sjö", "Ek", "Strand", "Fors", "Holm"),
         ("mek", "tek", "plast", "verken", "tronic")),
        "{name} {form}", ("AB",),
        "{street} {number}",
        ("Industrigatan", "Verkstadsvägen", "Fabriksgatan", "Hamnvägen"),
        (("Göteborg", "41# ##"), ("Västerås", "72# ##"), ("Jönköping", "55# ##")),
    ),
)  # fmt: skip
COUNTRY_BY_CODE = {country.code: country for country in COUNTRIES}
# Where a second site of a supplier may be when it is not in the supplier's own country.
NEIGHBOURS = {"DE": "CZ", "AT": "CZ", "US": "MX", "MX": "US", "NL": "DE", "IT": "AT"}


def _digits(rnd, count):
    return "".join(rnd.choices("0123456789", k=count))


def _fill(rnd, pattern):
    """A postal code from a pattern: # is a random digit, @ a random capital letter."""
    out = []
    for char in pattern:
        if char == "#":
            out.append(rnd.choice("0123456789"))
        elif char == "@":
            out.append(rnd.choice("ABCDEFGHJKLMNPRSTVWXZ"))
        else:
            out.append(char)
    return "".join(out)


# Each template gives the VAT number around one check digit: (before, after). The digit is
# found by trying all ten, so python-stdnum (through identifiers.vat_error) stays the judge.
VAT_TEMPLATES = {
    "DE": lambda rnd: (f"DE{rnd.randint(1, 9)}{_digits(rnd, 7)}", ""),
    "AT": lambda rnd: (f"ATU{_digits(rnd, 7)}", ""),
    "PL": lambda rnd: (f"PL{rnd.randint(1, 9)}{_digits(rnd, 8)}", ""),
    "IT": lambda rnd: (f"IT{_digits(rnd, 7)}{rnd.randint(1, 100):03d}", ""),
    "CZ": lambda rnd: (f"CZ{rnd.randint(1, 8)}{_digits(rnd, 6)}", ""),
    "NL": lambda rnd: (f"NL{_digits(rnd, 8)}", "B01"),
    "SE": lambda rnd: (f"SE{rnd.randint(1, 9)}{_digits(rnd, 8)}", "01"),
}
LEI_ISSUERS = ("5299", "3912", "8156", "9695", "2138", "5493", "7245")


def _vat(rnd, country):
    template = VAT_TEMPLATES.get(country)
    if template is None:
        return ""
    for _ in range(20):
        before, after = template(rnd)
        for digit in "0123456789":
            candidate = f"{before}{digit}{after}"
            if identifiers.vat_error(candidate, country) is None:
                return candidate
    return ""


def _lei(rnd):
    body = (
        rnd.choice(LEI_ISSUERS)
        + "00"
        + "".join(rnd.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=12))
    )
    return body + mod_97_10.calc_check_digits(body)


def _gs1(body):
    return body + ean.calc_check_digit(body)


def _rng(kind, index=0):
    """A generator for one record: its data depends on nothing but its kind and index."""
    return random.Random(f"{SEED}:{kind}:{index}")


# --- items ------------------------------------------------------------------------------

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
CHANGE_REASONS = ("material change", "drawing update", "tolerance change", "cost reduction",
                  "new supplier qualified", "RoHS compliance", "packaging change")  # fmt: skip


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


def _weight(value):
    return max(Decimal("0.0001"), Decimal(f"{value:.4f}"))


def item_number(index):
    return str(FIRST_ITEM_NUMBER + index - 1)


def supplier_number(index):
    return f"V{100000 + index}"


def _item_record(index, supplier_count, described):
    """One item with its revisions and pack conversions. `described` holds the descriptions
    of items 1 to index - 1; a description already taken is drawn again rather than repeated."""
    rnd = _rng("item", index)
    families, weights = zip(*ITEM_FAMILIES, strict=True)
    for _ in range(REDRAWS):
        spec = rnd.choices(families, weights=weights)[0](rnd)
        if spec.description not in described:
            break
    described.add(spec.description)
    status = rnd.choices(
        (Item.Status.ACTIVE, Item.Status.BLOCKED, Item.Status.OBSOLETE), weights=(89, 5, 6)
    )[0]
    gtin = ""
    if rnd.random() < spec.gtin_share:
        prefix = MANUFACTURERS[spec.maker][0] if spec.maker else COMPANY_GS1_PREFIX
        gtin = _gs1(f"{prefix}{index % 100000:05d}")
    weight = spec.weight if spec.weight is not None and rnd.random() < 0.7 else None
    item = {
        "number": item_number(index),
        "description": spec.description,
        "base_unit_id": spec.unit,
        "item_type": spec.item_type,
        "status": status,
        "gtin": gtin,
        "manufacturer": spec.maker or "",
        "mpn": spec.mpn,
        "commodity": spec.commodity,
        "net_weight": _weight(weight) if weight is not None else None,
        "weight_unit_id": "KGM" if weight is not None else None,
    }
    return item, _revisions(rnd, status), _conversions(rnd, spec, supplier_count)


def _revisions(rnd, status):
    """1-3 revisions back to back: earlier ones obsolete and ended, the last released and
    open-ended (or ended and obsolete too when the item itself is obsolete)."""
    count = rnd.choices((1, 2, 3), weights=(60, 30, 10))[0]
    start = date(2016, 1, 4) + timedelta(days=rnd.randrange(5 * 365))
    revisions = []
    for n in range(count):
        code = "ABC"[n]
        note = (
            "Initial release"
            if n == 0
            else f"ECN-{rnd.randint(20000, 29999)}: {rnd.choice(CHANGE_REASONS)}"
        )
        last = n == count - 1
        if last and status != Item.Status.OBSOLETE:
            revisions.append((code, ItemRevision.Status.RELEASED, start, None, note))
            break
        end = start + timedelta(days=rnd.randint(120, 700))
        revisions.append((code, ItemRevision.Status.OBSOLETE, start, end, note))
        start = end + timedelta(days=1)
    return revisions


def _conversions(rnd, spec, supplier_count):
    """Pack conversions as (from unit, to unit, factor, supplier index or None)."""
    if not spec.packs or rnd.random() >= 0.45:
        return []
    pack, factors = spec.packs
    factor = rnd.choice(factors)
    conversions = [(pack, spec.unit, factor, None)]
    if pack == "XBX" and rnd.random() < 0.3:
        conversions.append(("XPX", "XBX", rnd.choice((20, 24, 36, 48, 60)), None))
    if supplier_count and rnd.random() < 0.12:
        other = rnd.choice([f for f in factors if f != factor] or [factor * 2])
        supplier = rnd.randint(1, min(supplier_count, KEY_SUPPLIERS))
        conversions.append((pack, spec.unit, other, supplier))
    return conversions


# --- suppliers --------------------------------------------------------------------------


def _supplier_record(index, named):
    """One supplier with its sites. `named` holds the names of suppliers 1 to index - 1; a
    name already taken is drawn again rather than repeated."""
    rnd = _rng("supplier", index)
    style = rnd.choices(COUNTRIES, weights=[c.weight for c in COUNTRIES])[0]
    for _ in range(REDRAWS):
        parts = [rnd.choice(options) for options in style.name_parts]
        name = style.name_format.format(*parts)
        if name not in named:
            break
    named.add(name)
    city, postal = rnd.choice(style.cities)
    legal_name = style.legal_format.format(name=name, city=city, form=rnd.choice(style.legal_forms))
    status = rnd.choices(
        (Supplier.Status.ACTIVE, Supplier.Status.BLOCKED, Supplier.Status.INACTIVE),
        weights=(91, 4, 5),
    )[0]
    supplier = {
        "number": supplier_number(index),
        "name": name,
        "legal_name": legal_name,
        "status": status,
        "country": style.code,
        "duns": f"{100_000_000 + index * 17_389 + rnd.randrange(17_389):09d}"
        if rnd.random() < 0.6
        else "",
        "lei": _lei(rnd) if rnd.random() < 0.35 else "",
        "vat": _vat(rnd, style.code) if rnd.random() < 0.85 else "",
    }
    site_count = rnd.choices((1, 2, 3), weights=(55, 30, 15))[0]
    sites = []
    for n in range(site_count):
        site_style = style
        if n > 0 and rnd.random() < 0.2 and style.code in NEIGHBOURS:
            site_style = COUNTRY_BY_CODE[NEIGHBOURS[style.code]]
        if n > 0:
            city, postal = rnd.choice(site_style.cities)
        number = rnd.randint(1, 250)
        address = site_style.address_format.format(
            street=rnd.choice(site_style.streets), number=number
        )
        if status == Supplier.Status.INACTIVE or rnd.random() < 0.05:
            site_status = SupplierSite.Status.INACTIVE
        else:
            site_status = SupplierSite.Status.ACTIVE
        sites.append(
            {
                "code": "HQ" if n == 0 else f"SHIP{n}",
                "name": f"{name} {city}",
                "address": address,
                "city": city,
                "postal_code": _fill(rnd, postal),
                "country": site_style.code,
                "status": site_status,
                "calendar_code": supplier_calendar_code(site_style.code)
                if rnd.random() < 0.4
                else None,
            }
        )
    return supplier, sites


def supplier_calendar_code(country):
    return f"SUPPLIER-{country}"


# --- seeding ----------------------------------------------------------------------------


def seed_demo(items=DEFAULT_ITEMS, suppliers=DEFAULT_SUPPLIERS, today=None):
    """Create whatever of the demo world is missing; return (what, created, total) rows.

    Runs in one transaction, so a failure leaves nothing half-written. `today` places the
    plant calendar exceptions in this year and the next. Ends by sending
    mdm.signals.demo_seeded, so that higher apps add their demo data (and summary rows).
    """
    if items < 0 or not 0 <= suppliers <= MAX_SUPPLIERS:
        raise ValueError(
            f"Give 0 or more items and 0 to {MAX_SUPPLIERS} suppliers "
            f"(got {items} items, {suppliers} suppliers)."
        )
    today = today or timezone.localdate()
    created = Counter()
    with transaction.atomic(), change_source("command", reference="seed_demo"):
        created[Unit] += _seed_units()
        _seed_systems(created)
        _seed_code_lists(created)
        _seed_plants(created, today.year)
        _seed_supplier_calendars(created)
        _seed_suppliers(created, suppliers)
        _seed_items(created, items, suppliers)
        # Higher apps (cross-references) add their demo data in the same transaction.
        responses = demo_seeded.send(
            sender="mdm.demo", today=today, items=items, suppliers=suppliers
        )
    kinds = (
        (Unit, "units"),
        (SourceSystem, "source systems"),
        (CodeList, "code lists"),
        (CodeValue, "code values"),
        (Calendar, "calendars"),
        (CalendarException, "calendar exceptions"),
        (Location, "locations"),
        (Supplier, "suppliers"),
        (SupplierSite, "supplier sites"),
        (Item, "items"),
        (ItemRevision, "item revisions"),
        (ItemUnitConversion, "unit conversions"),
    )
    summary = [(label, created[model], model.objects.count()) for model, label in kinds]
    for _, rows in responses:
        summary.extend(rows or ())
    return summary


def _seed_units():
    before = Unit.objects.count()
    load_units = getattr(units, "load_units", None)
    if before == 0 and load_units is not None:
        load_units()
    for code, fields in DEMO_UNITS.items():
        Unit.objects.get_or_create(code=code, defaults=fields)
    return Unit.objects.count() - before


def _get_or_create(created, model, defaults=None, **lookup):
    record, was_created = model.objects.get_or_create(defaults=defaults or {}, **lookup)
    created[model] += was_created
    return record


def _seed_systems(created):
    for fields in SOURCE_SYSTEMS:
        fields = dict(fields)
        _get_or_create(created, SourceSystem, code=fields.pop("code"), defaults=fields)


def _seed_code_lists(created):
    for code, (name, description, values) in CODE_LISTS.items():
        code_list = _get_or_create(
            created, CodeList, code=code, defaults={"name": name, "description": description}
        )
        for order, (value, meaning) in enumerate(values, start=1):
            _get_or_create(
                created,
                CodeValue,
                code_list=code_list,
                code=value,
                defaults={"meaning": meaning, "sort_order": order * 10},
            )


def _seed_plants(created, year):
    taken_glns = set(Location.objects.exclude(gln="").values_list("gln", flat=True))

    def location(code, gln, **fields):
        existing = Location.objects.filter(code=code).first()
        if existing:
            return existing
        fields["gln"] = "" if gln in taken_glns else gln
        created[Location] += 1
        return Location.objects.create(code=code, **fields)

    for plant in PLANTS:
        calendar = _get_or_create(
            created,
            Calendar,
            code=f"{plant.code}-PLANT",
            defaults={
                "name": f"{plant.city} plant",
                "timezone": plant.timezone,
                "working_weekdays": "1111100",
                "holiday_country": plant.country,
                "holiday_subdivision": plant.subdivision,
            },
        )
        for y in (year, year + 1):
            start = _nth_weekday(y, plant.shutdown_month, 0, plant.shutdown_week)
            _get_or_create(
                created,
                CalendarException,
                calendar=calendar,
                start=start,
                defaults={
                    "end": start + timedelta(days=plant.shutdown_days - 1),
                    "is_working": False,
                    "reason": "Summer shutdown",
                },
            )
            saturday = _nth_weekday(y, 11, 5, 2)
            _get_or_create(
                created,
                CalendarException,
                calendar=calendar,
                start=saturday,
                defaults={
                    "end": saturday,
                    "is_working": True,
                    "reason": "Working Saturday: year-end volume",
                },
            )
        common = {
            "city": plant.city,
            "postal_code": plant.postal_code,
            "country": plant.country,
            "timezone": plant.timezone,
            "calendar": calendar,
        }
        street = f"{plant.street} {{}}" if plant.country != "US" else f"{{}} {plant.street}"
        site = location(
            plant.code,
            _gs1(f"{plant.gln_prefix}00001"),
            name=f"{COMPANY} {plant.city} plant",
            kind=Location.Kind.PLANT,
            address=street.format(plant.number),
            **common,
        )
        location(
            f"{plant.code}-WH1",
            _gs1(f"{plant.gln_prefix}00002"),
            name=f"{COMPANY} {plant.city} central warehouse",
            kind=Location.Kind.WAREHOUSE,
            address=street.format(plant.number + 4),
            parent=site,
            can_receive=True,
            **common,
        )
        location(
            f"{plant.code}-GR1",
            _gs1(f"{plant.gln_prefix}00003"),
            name=f"{COMPANY} {plant.city} goods receipt, dock 1",
            kind=Location.Kind.SHIP_TO,
            address=street.format(plant.number + 2),
            parent=site,
            can_receive=True,
            **common,
        )


def _seed_supplier_calendars(created):
    for style in COUNTRIES:
        _get_or_create(
            created,
            Calendar,
            code=supplier_calendar_code(style.code),
            defaults={
                "name": f"Supplier default, {style.name}",
                "timezone": style.timezone,
                "working_weekdays": style.working_weekdays,
                "holiday_country": style.code,
            },
        )


def _bulk_insert(created, model, records, prefix=None):
    """Insert new records with an initial history row each, and public ids if they have
    them."""
    if not records:
        return
    if prefix:
        for record, public_id in zip(
            records, allocate_public_ids(prefix, len(records)), strict=True
        ):
            record.public_id = public_id
    source, reference = current_change_source()
    bulk_create_with_history(
        records,
        model,
        batch_size=BATCH_SIZE,
        default_change_reason="demo data",
        custom_historical_attrs={"change_source": source, "change_reference": reference},
    )
    created[model] += len(records)


def _seed_suppliers(created, count):
    existing = set(Supplier.objects.values_list("number", flat=True))
    taken_duns = set(Supplier.objects.exclude(duns="").values_list("duns", flat=True))
    taken_leis = set(Supplier.objects.exclude(lei="").values_list("lei", flat=True))
    new, sites_by_number, named = [], {}, set()
    for index in range(1, count + 1):
        fields, sites = _supplier_record(index, named)
        sites_by_number[fields["number"]] = sites
        if fields["number"] in existing:
            continue
        if fields["duns"] in taken_duns:
            fields["duns"] = ""
        if fields["lei"] in taken_leis:
            fields["lei"] = ""
        new.append(Supplier(**fields))
    _bulk_insert(created, Supplier, new, Supplier.PUBLIC_ID_PREFIX)

    supplier_ids = dict(Supplier.objects.values_list("number", "id"))
    calendar_ids = dict(Calendar.objects.values_list("code", "id"))
    existing_sites = set(SupplierSite.objects.values_list("supplier_id", "code"))
    new_sites = []
    for number, sites in sites_by_number.items():
        supplier_id = supplier_ids[number]
        for site in sites:
            if (supplier_id, site["code"]) in existing_sites:
                continue
            site = dict(site)
            calendar_code = site.pop("calendar_code")
            new_sites.append(
                SupplierSite(
                    supplier_id=supplier_id, calendar_id=calendar_ids.get(calendar_code), **site
                )
            )
    _bulk_insert(created, SupplierSite, new_sites, SupplierSite.PUBLIC_ID_PREFIX)


def _seed_items(created, count, supplier_count):
    existing = set(Item.objects.values_list("number", flat=True))
    taken_gtins = set(Item.objects.exclude(gtin="").values_list("gtin", flat=True))
    new, children, described = [], {}, set()
    for index in range(1, count + 1):
        fields, revisions, conversions = _item_record(index, supplier_count, described)
        children[fields["number"]] = (revisions, conversions)
        if fields["number"] in existing:
            continue
        if fields["gtin"] in taken_gtins:
            fields["gtin"] = ""
        if fields["gtin"]:
            taken_gtins.add(fields["gtin"])
        new.append(Item(**fields))
    _bulk_insert(created, Item, new, Item.PUBLIC_ID_PREFIX)

    item_ids = dict(Item.objects.values_list("number", "id"))
    supplier_ids = dict(Supplier.objects.values_list("number", "id"))
    existing_revisions = set(ItemRevision.objects.values_list("item_id", "revision"))
    existing_conversions = set(
        ItemUnitConversion.objects.values_list(
            "item_id", "supplier_id", "from_unit_id", "to_unit_id"
        )
    )
    new_revisions, new_conversions = [], []
    for number, (revisions, conversions) in children.items():
        item_id = item_ids[number]
        for code, status, start, end, note in revisions:
            if (item_id, code) not in existing_revisions:
                new_revisions.append(
                    ItemRevision(
                        item_id=item_id,
                        revision=code,
                        status=status,
                        effective_from=start,
                        effective_to=end,
                        description=note,
                    )
                )
        for from_unit, to_unit, factor, supplier_index in conversions:
            supplier_id = None
            if supplier_index is not None:
                supplier_id = supplier_ids.get(supplier_number(supplier_index))
                if supplier_id is None:
                    continue
            key = (item_id, supplier_id, from_unit, to_unit)
            if key in existing_conversions:
                continue
            existing_conversions.add(key)
            new_conversions.append(
                ItemUnitConversion(
                    item_id=item_id,
                    supplier_id=supplier_id,
                    from_unit_id=from_unit,
                    to_unit_id=to_unit,
                    factor=Decimal(factor),
                )
            )
    _bulk_insert(created, ItemRevision, new_revisions)
    _bulk_insert(created, ItemUnitConversion, new_conversions)

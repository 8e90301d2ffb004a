"""Demo suppliers: named and addressed in the style of their country, with one to three
sites, DUNS, LEI and VAT numbers that pass their checks, and a default calendar per country.
A few are planted twice (TWINS), and one has its head office twice (SITE_TWINS), for the
duplicate review queue."""

from dataclasses import dataclass

from stdnum.iso7064 import mod_97_10

from demo.build import REDRAWS, bulk_insert, get_or_create, rng
from mdm import identifiers
from mdm.models import Calendar, Supplier, SupplierSite

# DUNS numbers are spread over index-sized slices of the 9-digit range, so they stay unique.
MAX_SUPPLIERS = 50_000


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


def supplier_number(index):
    return f"V{100000 + index}"


def supplier_record(index, named):
    """One supplier with its sites. `named` holds the names of suppliers 1 to index - 1; a
    name already taken is drawn again rather than repeated. A supplier of SITE_TWINS has its
    head office a second time, as its ordering address (site_twin)."""
    rnd = rng("supplier", index)
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
    if index in SITE_TWINS:
        sites.append(site_twin(sites[0]))
    return supplier, sites


def supplier_calendar_code(country):
    return f"SUPPLIER-{country}"


def seed_supplier_calendars(created):
    for style in COUNTRIES:
        get_or_create(
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


def seed_suppliers(created, count):
    existing = set(Supplier.objects.values_list("number", flat=True))
    taken_duns = set(Supplier.objects.exclude(duns="").values_list("duns", flat=True))
    taken_leis = set(Supplier.objects.exclude(lei="").values_list("lei", flat=True))
    new, sites_by_number, named = [], {}, set()
    for index in range(1, count + 1):
        fields, sites = supplier_record(index, named)
        sites_by_number[fields["number"]] = sites
        if fields["number"] not in existing:
            if fields["duns"] in taken_duns:
                fields["duns"] = ""
            if fields["lei"] in taken_leis:
                fields["lei"] = ""
            new.append(Supplier(**fields))
        # A twin right after its original: a smaller seed and then a bigger one number
        # every record as a fresh bigger seed does.
        if index in TWINS and twin_number(index) not in existing:
            new.append(Supplier(**twin_record(index, fields)))
    bulk_insert(created, Supplier, new, Supplier.PUBLIC_ID_PREFIX)

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
    bulk_insert(created, SupplierSite, new_sites, SupplierSite.PUBLIC_ID_PREFIX)


# Suppliers onboarded twice (issue 19): ERP_CLOUD created a record of its own for these
# suppliers, under its legal name, with the VAT number but no DUNS (unique to the first).
# The duplicate review queue finds them; merging one moves its ERP code to the survivor.
TWINS = (3, 11, 27)


# Suppliers whose head office is entered a second time ("supplier site identifiers are
# inconsistent across procurement and collaboration platforms"): the procurement platform's
# ordering address ORD, the head office written its way, in capitals. The duplicate review
# queue pairs the two sites; each has its own code in the supplier network (demo.references).
# Supplier 5 has one site of its own, so that it has two of the three a supplier may have.
SITE_TWINS = (5,)
SITE_TWIN_CODE = "ORD"


def site_twin(head_office):
    """The fields of the ordering address ORD that is the site `head_office` again."""
    return {
        **head_office,
        "code": SITE_TWIN_CODE,
        "address": head_office["address"].upper(),
        "calendar_code": None,
    }


def twin_number(index):
    return f"V{900000 + index}"


def twin_record(index, original):
    """The fields of the twin of supplier `index`, whose fields are `original`."""
    return {
        "number": twin_number(index),
        "name": original["legal_name"] or original["name"],
        "legal_name": original["legal_name"],
        "country": original["country"],
        "vat": original["vat"],
    }

#!/usr/bin/env python3
"""Writes config/demo.csv: a small, deterministic demo sheet.

The sheet is a small company's order log (300 orders, 10 columns) exported
the way Google Sheets exports CSV:
  * records end with CRLF; a line break *inside* a cell is a bare LF;
  * a cell is quoted only when it has to be (comma, double quote or line
    break in it) and a double quote inside a cell is doubled;
  * the last record has no line end after it (pass --final-newline to add
    one);
  * UTF-8 without a byte-order mark.

It deliberately contains the awkward cases a CSV reader has to get right:
quoted commas ("Smith, Jones & Co"), doubled quotes (Monitor 27"), multi-line
notes, non-ASCII text (Zürich, São Paulo, Kraków, 東京, emoji) and empty cells.

Fixed seed: running it again writes the same bytes.

    python3 config/make_demo.py                 # writes config/demo.csv
    python3 config/make_demo.py --out - --rows 20
"""
import argparse
import csv
import datetime
import io
import os
import random
import sys

SEED = 20240611

HEADER = ["Order ID", "Date", "Customer", "City", "Product", "Quantity",
          "Unit Price", "Total", "Status", "Notes"]

CUSTOMERS = [
    "Smith, Jones & Co",
    "Müller & Söhne GmbH",
    "Acme Corp",
    "Café Olé",
    "O'Brien Logistics Ltd",
    'The "Corner" Shop',
    "Ramírez, Hijos y Cía.",
    "Nordlicht AG",
    "株式会社山田商事",
    "Nguyễn Imports",
    "Øresund Fisk A/S",
    "Łódź Trading sp. z o.o.",
    "Brightside Dental",
    "Patel & Patel, LLP",
    "Greenleaf Landscaping",
    "Bäckerei Schön",
    "Blue Harbor Marine Supply",
    "Dupont, Martin et Fils",
    "Kowalski Design Studio",
    "Sunrise Yoga",
    "Hôtel Le Régent",
    "Alpha Omega Consulting",
    "Tanaka Electronics",
    "Riverside Public Library",
    "Zhang's Noodle House",
    "Fernandes Arquitetura",
    "Lindqvist & Berg AB",
    "Studio 54 Print",
    "Mike's Bikes",
    "Northwind Traders",
]

CITIES = [
    "Zürich", "São Paulo", "Kraków", "東京", "München", "Montréal",
    "Reykjavík", "İstanbul", "Malmö", "Córdoba", "New York", "London",
    "Chicago", "Austin", "Seattle", "Toronto", "Dublin", "Berlin", "Paris",
    "Lyon", "Madrid", "Lisbon", "Warszawa", "Göteborg", "Kyoto",
    "Washington, D.C.", "Saint-Étienne", "Düsseldorf", "Ho Chi Minh City",
    "Springfield",
]

# (product, unit price)
PRODUCTS = [
    ("Ergonomic Office Chair", 249.00),
    ("Standing Desk 140×70 cm", 529.00),
    ('Monitor 27" 4K', 379.90),
    ('Monitor 24" FHD', 149.50),
    ("Cable, USB-C to USB-C (2 m)", 12.99),
    ("Wireless Mouse", 24.95),
    ("Mechanical Keyboard (DE layout)", 119.00),
    ("Notebook A5, dotted", 6.50),
    ("Gel Pens, pack of 10", 8.75),
    ("Desk Lamp LED", 39.00),
    ("Toner Cartridge TN-2420", 64.90),
    ("Copy Paper A4, 5 × 500 sheets", 27.40),
    ("Whiteboard 120 × 90", 89.00),
    ("Webcam 1080p", 59.99),
    ("Headset with Mic", 74.00),
    ("Coffee Beans 1 kg — Espresso", 18.90),
    ("Label Printer", 134.00),
    ("Shredder P-4", 98.00),
    ("Extension Lead, 6-way", 15.49),
    ("Laptop Stand", 42.00),
]

STATUSES = ["Paid", "Paid", "Paid", "Shipped", "Shipped", "Delivered",
            "Delivered", "Delivered", "Pending", "Cancelled", "Refunded"]

SHORT_NOTES = [
    "Repeat customer",
    "Gift wrap requested",
    "Invoice to head office",
    "Paid by bank transfer",
    "Partial delivery, rest to follow",
    "Discount 10 % applied",
    'Customer said "ASAP"',
    'Marked "fragile" on the box',
    "Rush order ⚡",
    "Customer very happy 🎉",
    "Left at reception 📦",
    "Backordered until next week",
    "Price matched, see email from 3 March",
    "Delivery to Zürich warehouse",
    "Contact: Zoë Ångström",
    "Requested Kraków branch pick-up",
    "Please use the side door; ring twice",
    "PO #4471-B",
    "VAT exempt (EU reverse charge)",
    "Duplicate of previous order? Check with sales",
    "Sample order — no charge for shipping",
    "配達は午前中希望",
]

MULTILINE_NOTES = [
    "Deliver to back entrance.\nCall before arrival: +41 44 123 45 67",
    "Billing address:\nRua Augusta 1500\nSão Paulo, SP 01304-001",
    "Item arrived damaged.\nReplacement sent 2024-05-02.\nNo charge.",
    'Customer wrote:\n"Please send the invoice, not the receipt."',
    "Opening hours:\nMon–Fri 08:00–17:00\nSat closed",
    "Split shipment:\n- 2 boxes by courier\n- rest by freight",
    "Note from driver:\nNobody home, parcel at neighbour's 🏠",
    "Rechnung bitte an:\nBuchhaltung, Müller & Söhne GmbH",
]


def money(x):
    return "%.2f" % x


def make_rows(n, rng):
    rows = []
    day = datetime.date(2024, 1, 2)
    for i in range(n):
        # Orders come in date order, a few per working day.
        if rng.random() < 0.45:
            day += datetime.timedelta(days=rng.choice([1, 1, 1, 2, 3]))
        order_id = "SO-%05d" % (10001 + i)
        customer = rng.choice(CUSTOMERS)
        city = rng.choice(CITIES)
        product, price = rng.choice(PRODUCTS)
        qty = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 10, 12, 20, 25, 50])
        status = rng.choice(STATUSES)

        r = rng.random()
        if r < 0.50:
            notes = ""
        elif r < 0.88:
            notes = rng.choice(SHORT_NOTES)
        else:
            notes = rng.choice(MULTILINE_NOTES)

        unit = money(price)
        total = money(round(price * qty, 2))
        # A few empty cells, as in any hand-kept sheet.
        e = rng.random()
        if e < 0.03:
            city = ""
        elif e < 0.045:
            unit, total = "", ""          # price not entered yet
        elif e < 0.055:
            status = ""
        rows.append([order_id, day.isoformat(), customer, city, product,
                     str(qty), unit, total, status, notes])
    return rows


def render(rows, final_newline):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(HEADER)
    w.writerows(rows)
    text = buf.getvalue()
    if not final_newline:
        text = text[:-2]
    return text


def check(rows):
    """The demo is only useful if every awkward case is in it."""
    cells = [c for row in rows for c in row]
    needs = {
        "quoted comma": any("," in c for c in cells),
        "doubled quote": any('"' in c for c in cells),
        "line break in cell": any("\n" in c for c in cells),
        "non-ASCII": any(any(ord(ch) > 127 for ch in c) for c in cells),
        "CJK": any("東京" == c for c in cells),
        "emoji": any(any(ord(ch) > 0xFFFF for ch in c) for c in cells),
        "empty cell": any(c == "" for c in cells),
    }
    missing = [k for k, ok in needs.items() if not ok]
    if missing:
        sys.exit("make_demo: the sheet lacks: " + ", ".join(missing))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--out", default=os.path.join(here, "demo.csv"),
                    help="output file, '-' for stdout (default: %(default)s)")
    ap.add_argument("--final-newline", action="store_true",
                    help="end the last record with CRLF too")
    args = ap.parse_args()

    rng = random.Random(SEED)
    rows = make_rows(args.rows, rng)
    check(rows)
    data = render(rows, args.final_newline).encode("utf-8")
    if args.out == "-":
        sys.stdout.buffer.write(data)
    else:
        with open(args.out, "wb") as f:
            f.write(data)
        multi = sum(1 for r in rows if "\n" in r[-1])
        print("make_demo: %s: %d rows + header, %d bytes, %d multi-line notes"
              % (args.out, len(rows), len(data), multi), file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generates a large, sheet-like CSV for the benchmark (deterministic).

    python3 bench/make_sheet.py --rows 1000000 --out bench/out/sheet.csv

N data rows (plus a header) of 8 columns, written like a Google Sheets CSV
export: CRLF between records, a bare LF for a line break inside a cell, a
cell quoted only when needed, doubled double quotes, UTF-8, and no line end
after the last record (--final-newline adds one).

Columns: id, date, customer, city, amount, quantity, status, notes.
Mix (share of all cells): ~5 % hold a comma (so are quoted): "Last, First"
names, amounts formatted with a thousands separator ("1,234.56", as a sheet
with a number format exports them), "Washington, D.C.", notes; ~1 % hold a
line break (multi-line notes); ~0.3 % hold a doubled quote; non-ASCII names,
cities and a few emoji. The average row is ~100 bytes, so 1,000,000 rows is
~100 MB.

Speed: the seven columns after the id come in three groups, (date,
customer), (city, amount, quantity) and (status, notes); each group is drawn
from a pool of 65,536 pre-rendered entries, indexed by random 16-bit numbers,
and whole chunks of rows are joined in C (map/zip/join), so 1M rows take a
couple of seconds. Ids are SO-10000001, SO-10000002, ... Same --rows and --seed,
same bytes: the file is written to OUT.tmp and renamed when complete.
"""
import argparse
import array
import datetime
import os
import random
import sys
import time

POOL = 65536           # cells per pool, indexed by uint16
CHUNK = 131072         # rows joined and written at a time (~13 MB)
ID_BASE = 10000000

HEADER = ["id", "date", "customer", "city", "amount", "quantity", "status",
          "notes"]

FIRST = ["Anna", "Ben", "Chloé", "David", "Elif", "François", "Greta", "Hiro",
         "Inês", "Jan", "Karin", "Luis", "María", "Noah", "Olga", "Paweł",
         "Quinn", "Rosa", "Søren", "Tomás", "Uma", "Viktor", "Wei", "Xavier",
         "Yuki", "Zoë", "Ahmed", "Björn", "Carmen", "Dmitri", "Emma", "Fatima",
         "George", "Hana", "Ivan", "José", "Kenji", "Laura", "Mateusz", "Nina",
         "Oscar", "Priya", "Raúl", "Sarah", "Thomas", "Ursula", "Valentina",
         "William", "Jürgen", "Łucja", "Ana", "Chen", "Sofia", "Lars"]
LAST = ["Smith", "Müller", "García", "Kowalski", "Nguyễn", "O'Brien", "Rossi",
        "Dubois", "Johansson", "Yılmaz", "Novák", "Schmidt", "Fernández",
        "Jensen", "Tanaka", "Silva", "Ivanova", "Papadopoulos", "Brown",
        "Wójcik", "Lefèvre", "Andersson", "Costa", "Horváth", "Kim", "Wang",
        "Zimmermann", "de la Cruz", "van der Berg", "Østergaard", "Doe",
        "Jones", "Martin", "Bianchi", "Nowak", "Sato", "Patel", "Lopez"]
COMPANY = ["Acme Corp", "Northwind Traders", "Müller & Söhne GmbH",
           "Blue Harbor Supply", "Café Olé", "Tanaka Electronics",
           "Globex Ltd", "Initech", "Umbrella Logistics", "Øresund Fisk A/S",
           "株式会社山田商事", "Brightside Dental", "Lindqvist & Berg AB"]
COMPANY_COMMA = ["Smith, Jones & Co", "Patel & Patel, LLP",
                 "Ramírez, Hijos y Cía.", "Dupont, Martin et Fils",
                 "Wayne, Kent & Prince"]
CITIES = ["Zürich", "São Paulo", "Kraków", "東京", "München", "Montréal",
          "Reykjavík", "İstanbul", "Malmö", "Córdoba", "New York", "London",
          "Chicago", "Austin", "Seattle", "Toronto", "Dublin", "Berlin",
          "Paris", "Lyon", "Madrid", "Lisbon", "Warszawa", "Göteborg",
          "Kyoto", "Saint-Étienne", "Düsseldorf", "Ho Chi Minh City", "Oslo",
          "Zaragoza", "Bogotá", "México", "Αθήνα", "Москва", "Sydney",
          "Cape Town", "Mumbai", "Seoul", "Wien", "Praha"]
STATUSES = ["Paid", "Paid", "Paid", "Shipped", "Shipped", "Delivered",
            "Delivered", "Delivered", "Pending", "Cancelled", "Refunded",
            "On hold"]
WORDS = ("order customer delivery invoice please call before arrival box "
         "pallet urgent backorder partial shipment refund discount applied "
         "check stock warehouse return label tracking number sent email "
         "payment received late damaged replaced driver reception signed "
         "side door weekend office contact manager price matched sample "
         "Zürich Kraków branch pick-up gift wrap fragile VAT exempt").split()
EMOJI = ["🎉", "📦", "⚡", "✅", "🚚"]


def csv_cell(s):
    """Quote a cell the way a sheet export does: only when needed."""
    if '"' in s:
        return '"' + s.replace('"', '""') + '"'
    if "," in s or "\n" in s or "\r" in s:
        return '"' + s + '"'
    return s


def make_pools(rng):
    """Three pools of POOL pre-rendered, comma-joined groups of cells:
    (date, customer), (city, amount, quantity), (status, notes)."""
    rnd = rng.random

    def pick(seq):
        return seq[int(rnd() * len(seq))]

    def sentence(lo, hi):
        s = " ".join(rng.choices(WORDS, k=rng.randint(lo, hi)))
        return s[0].upper() + s[1:]

    start = datetime.date(2019, 1, 1).toordinal()
    span = datetime.date(2024, 12, 31).toordinal() - start + 1
    dates = [datetime.date.fromordinal(start + d).isoformat() for d in range(span)]
    g1, g2, g3 = [], [], []
    for _ in range(POOL):
        r = rnd()
        if r < 0.13:
            name = "%s, %s" % (pick(LAST), pick(FIRST))
        elif r < 0.15:
            name = pick(COMPANY_COMMA)
        elif r < 0.23:
            name = pick(COMPANY)
        elif r < 0.24:
            name = ""
        else:
            name = "%s %s" % (pick(FIRST), pick(LAST))
        g1.append(pick(dates) + "," + csv_cell(name))

        r = rnd()
        city = "Washington, D.C." if r < 0.01 else "" if r < 0.02 else pick(CITIES)
        # Log-normal amounts, median ~220; a "#,##0.00" number format
        # exports those >= 1000 with a thousands separator, quoted.
        amount = "" if rnd() < 0.01 else "{:,.2f}".format(rng.lognormvariate(5.4, 1.1))
        qty = str(min(int(rng.paretovariate(1.2)), 999))
        g2.append(csv_cell(city) + "," + csv_cell(amount) + "," + qty)

        r = rnd()
        if r < 0.30:
            note = ""
        elif r < 0.38:                                 # multi-line, 1 % of cells
            note = "\n".join(sentence(2, 6) for _ in range(rng.randint(2, 3)))
        elif r < 0.41:                                 # doubled quotes
            note = '%s "%s" %s' % (sentence(1, 3), pick(WORDS), sentence(2, 5))
        elif r < 0.57:                                 # comma
            note = "%s, %s" % (sentence(2, 5), sentence(2, 5))
        else:
            note = sentence(3, 9)
        if note and rnd() < 0.03:
            note += " " + pick(EMOJI)
        g3.append(pick(STATUSES) + "," + csv_cell(note))
    return [g1, g2, g3]


def write_sheet(path, rows, seed=1, final_newline=False):
    rng = random.Random(seed)
    getters = [p.__getitem__ for p in make_pools(rng)]
    swap = sys.byteorder == "big"    # same bytes on any machine
    tmp = path + ".tmp"
    size = 0
    with open(tmp, "wb", buffering=0) as f:
        size += f.write(",".join(HEADER).encode())
        for lo in range(0, rows, CHUNK):
            n = min(CHUNK, rows - lo)
            # ids SO-10000001, SO-10000002, ...: the "SO-" prefix rides on the
            # record separator, so each row is one C-level join of 4 strings.
            cols = [map(str, range(ID_BASE + lo + 1, ID_BASE + lo + n + 1))]
            for get in getters:
                idx = array.array("H", rng.randbytes(2 * n))
                if swap:
                    idx.byteswap()
                cols.append(map(get, idx))
            text = "\r\nSO-" + "\r\nSO-".join(map(",".join, zip(*cols)))
            size += f.write(text.encode("utf-8"))
        if final_newline:
            size += f.write(b"\r\n")
    os.replace(tmp, path)
    return size


def main():
    ap = argparse.ArgumentParser(description="Generates a sheet-like CSV.")
    ap.add_argument("--rows", type=int, default=1000000,
                    help="data rows, header not counted (default %(default)s)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--final-newline", action="store_true",
                    help="end the last record with CRLF too")
    args = ap.parse_args()
    d = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(d, exist_ok=True)
    t = time.perf_counter()
    size = write_sheet(args.out, args.rows, args.seed, args.final_newline)
    t = time.perf_counter() - t
    print("make_sheet: %s: %d rows, %.1f MB (%.1f bytes/row) in %.2f s"
          % (args.out, args.rows, size / 1e6, size / max(args.rows, 1), t),
          file=sys.stderr)


if __name__ == "__main__":
    main()

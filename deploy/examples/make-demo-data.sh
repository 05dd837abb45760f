#!/usr/bin/env bash
# Creates the demo's data in DIR: a SQLite shop database with a quarter of orders and a
# finance CSV export. Idempotent: existing data is replaced.
set -euo pipefail
dir="${1:?usage: make-demo-data.sh DIR}"
mkdir -p "$dir"

rm -f "$dir/shop.db"
sqlite3 "$dir/shop.db" <<'SQL'
CREATE TABLE orders (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, amount REAL NOT NULL,
                     shipped INTEGER NOT NULL DEFAULT 0);
-- One order every two hours since the quarter began, larger over time.
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 699)
INSERT INTO orders (created_at, amount, shipped)
SELECT datetime('2026-10-01', '+' || (i * 2) || ' hours'), 800 + (i % 17) * 25, i < 540 FROM n;
SQL

cat >"$dir/finance.csv" <<'CSV'
date,region,orders,revenue
2026-11-01,EU,120,6900.50
2026-11-01,US,98,5400.00
2026-11-08,EU,131,7420.00
2026-11-08,US,101,5710.25
2026-11-15,EU,127,7011.75
2026-11-15,US,110,6220.00
2026-11-22,EU,140,8005.00
2026-11-22,US,104,5904.10
CSV
echo "demo data in $dir"

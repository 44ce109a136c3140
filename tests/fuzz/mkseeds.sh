#!/bin/sh
# tests/fuzz/mkseeds.sh - rewrites tests/fuzz/corpus/ from real messages made
# by the product's own encoders ($BUILD/fuzz/mkseeds, built by
# `make fuzz-seeds`), plus the sample configuration files.  The device key
# and certificate are throwaway ones made here and deleted afterwards; the
# seeds carry only the public certificate and signatures.
set -eu
cd "$(dirname "$0")/../.."
: "${BUILD:=build/fuzz}"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sl-seeds.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$scratch/till-1.key" -out "$scratch/till-1.crt" -subj "/O=store-1/CN=till-1" \
    -days 3650 -addext extendedKeyUsage=clientAuth >/dev/null 2>&1
out=tests/fuzz/corpus
for d in json_event codec ack catmsg catreq batch batch_body; do
    rm -rf "${out:?}/$d"
done
mkdir -p "$out"
"$BUILD/fuzz/mkseeds" "$out" "$scratch" "$scratch/till-1.key" "$scratch/till-1.crt"

# configuration files: the shipped agent sample and a hub file like the tests'
rm -rf "$out/config"
mkdir -p "$out/config"
cp docs/storelink.conf.sample "$out/config/storelink.conf"
cat > "$out/config/hub.conf" <<EOC
[broker]
host = localhost
port = 8883
ca_file = /etc/storelink/ca.crt
cert_file = /etc/storelink/hub.crt
key_file = /etc/storelink/hub.key
client_id = hub-1
[hub]
db_path = /var/lib/storelink-hub/hub.db
topic_prefix = storelink/v1
share_group = hub
currencies = EUR,USD
[log]
log_level = info
EOC
cat > "$out/config/mixed.conf" <<EOC
; keys before any section, an unknown key, a typo
device_id = till-1
store_id = store-1
[sync]
broker_host = broker.example
broker_port = 8883
batch_max_records = 500
compres = yes
[status]
alert_backlog_age = 3600
EOC
# the hub's catalog CSV files (fuzz_catcsv): the first byte picks the list
# (bit 0: stock) and the currency check (bit 1: EUR and USD only)
rm -rf "$out/catcsv"
mkdir -p "$out/catcsv"
{ printf '\002'; cat <<'EOC'
sku,price,currency,effective_from
4006381333931,199,EUR,
2000000000015,299,EUR,2026-11-24T00:00:00Z
"012345678905",250,USD,1763899200000
EOC
} > "$out/catcsv/prices.csv"
{ printf '\000\357\273\277'; printf 'sku,price,currency\r\n"SKU ""quoted"", 1",100,GBP\r\n\r\n  4006381333931 ,  5 ,EUR\r\n'; } \
    > "$out/catcsv/prices-bom-crlf.csv"
{ printf '\000'; cat <<'EOC'
sku,price,currency,effective_from
4006381333931,199,EUR,2026-11-24T00:00:00.000+01:00
4006381333931,189,EUR,2026-12-01T00:00:00Z
EOC
} > "$out/catcsv/prices-scheduled.csv"
{ printf '\001'; cat <<'EOC'
sku,on_hand
4006381333931,12
2000000000015,-1.5
012345678905,0.125
EOC
} > "$out/catcsv/stock.csv"

find "$out" -type f | sort | while read -r f; do printf '%6d %s\n' "$(wc -c < "$f")" "$f"; done

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
for d in json_event codec ack catmsg catreq batch batch_body statusmsg framing; do
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

# barcode payloads as scanners deliver them (fuzz_barcode): EAN-13, EAN-8,
# UPC-A, GTIN-14, GS1-128 with symbology identifier, (01)(10) GS (17), the
# human-readable GS1 form, a quantity code, a plain SKU, a bad check digit
rm -rf "$out/barcode"
mkdir -p "$out/barcode"
printf '4006381333931' > "$out/barcode/ean13"
printf '96385074' > "$out/barcode/ean8"
printf '036000291452' > "$out/barcode/upca"
printf '14006381333938' > "$out/barcode/gtin14"
printf ']C10104006381333931' > "$out/barcode/gs1-128"
printf ']C1010400638133393110LOT42\03517271231' > "$out/barcode/gs1-batch-expiry"
printf '(01)04006381333931(17)271231(10)AB-1' > "$out/barcode/gs1-human"
printf '0104006381333931''10X\035''21SER' > "$out/barcode/gs1-unknown-ai"
printf 'QTY12' > "$out/barcode/qty"
printf 'SKU-Blue_shirt.XL' > "$out/barcode/sku"
printf '4006381333932' > "$out/barcode/bad-check"
# byte lines from a serial scanner (fuzz_framing: first byte even, second
# the read size); key-event seeds come from mkseeds above
printf '\000\003''4006381333931\r\nQTY12\r036000291452\n\n]C10104006381333931''10LOT42\03517271231\r\n' \
    > "$out/framing/lines-crlf"
printf '\000\000''partial-then\000nul\nSKU-1\n' > "$out/framing/lines-nul"
# control-socket request lines (fuzz_control)
rm -rf "$out/control"
mkdir -p "$out/control"
printf '{"cmd":"status"}' > "$out/control/status"
printf '{"cmd":"sync_now"}' > "$out/control/sync_now"
printf '{ "cmd" : "tail", "since": 0 }' > "$out/control/tail"
printf '{"cmd":"status","cmd":"tail"}' > "$out/control/duplicate"
printf 'TLS handshake failed: certificate expired' > "$out/control/detail"
# [scanner.NAME] sections (fuzz_scanners), as in tests/cli/84-scanner.t
rm -rf "$out/scanners"
mkdir -p "$out/scanners"
cat > "$out/scanners/serial.conf" <<'EOC'
[device]
device_id = device-1
[scanner.dock1]
device = /dev/ttyACM0
type = serial
baud = 115200
mode = receive
location = dock 1
qty_prefix = QTY
EOC
cat > "$out/scanners/all.conf" <<'EOC'
[scanner.wedge]
device = /dev/input/by-id/usb-scanner-event-kbd
type = evdev
grab = no
mode = damage
location = back room
[scanner.aisle]
device = /run/storelink/count
type = pipe
format = input_event
mode = count
end_code = COUNT-END
count_idle = 1
[scanner.desk]
device = /dev/ttyUSB0
type = serial
mode = lookup
output = device
[scanner.info]
device = /run/storelink/info
type = pipe
mode = lookup
output = /var/log/storelink/lookups.txt
EOC
printf '[scanner.d1]\ndevice = /x\ntype = pipe\nmode = count\ncount_idle = 0\ncolour = red\n' \
    > "$out/scanners/bad.conf"
# MQTT topics the hub gets (fuzz_topic: first byte picks the leaf buffer size)
rm -rf "$out/topic"
mkdir -p "$out/topic"
printf ' storelink/v1/store-1/till-1/journal' > "$out/topic/journal"
printf ' storelink/v1/store-1/till-1/status' > "$out/topic/status"
printf ' storelink/v1/store-1/till-1/catalog-request' > "$out/topic/catreq"
printf '\007storelink/v1/s/d/journal' > "$out/topic/leaf-too-long"

# ingest-socket streams (fuzz_ingest: the first byte is the write size, 0 =
# all at once), from the wire-form records and JSON events made above
be32() { printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"; }
frame() { be32 "$(wc -c < "$1")"; cat "$1"; }
rm -rf "$out/ingest"
mkdir -p "$out/ingest"
c=$out/codec j=$out/json_event i=$out/ingest
{ printf '\000'; frame "$c/wire-0.cbor"; } > "$i/cbor-one"
{ printf '\007'; frame "$c/wire-1.cbor"; frame "$c/wire-2.cbor"; frame "$c/day-close-wire-0.cbor"; } > "$i/cbor-three-split7"
{ printf '\001'; frame "$c/wire-3.cbor"; } > "$i/cbor-byte-by-byte"
{ printf '\000'; frame "$c/wire-4.cbor"; frame "$c/wire-4.cbor"; } > "$i/cbor-duplicate"
{ printf '\000'; frame "$c/wire-5.cbor"; be32 0; } > "$i/cbor-zero-length"
{ printf '\000'; be32 4294967295; printf 'x'; } > "$i/cbor-huge-length"
{ printf '\000'; be32 32769; head -c 64 "$c/wire-6.cbor"; } > "$i/cbor-over-max"
{ printf '\000'; be32 256; head -c 40 "$c/wire-6.cbor"; } > "$i/cbor-truncated"
{ printf '\000'; frame "$c/wire-0.cbor"; printf '\000\000'; } > "$i/cbor-short-prefix"
{ printf '\000'; be32 3; printf 'abc'; frame "$c/stored-1.cbor"; frame "$c/wire-1.cbor"; } > "$i/cbor-not-records"
{ printf '\000'; cat "$j/event-0.json"; printf '\n\r\n'; cat "$j/event-1.json"; printf '\r\n'; } > "$i/json-two"
{ printf '\003'; cat "$j/event-2.json"; printf '\n'; cat "$j/event-2.json"; printf '\n'; } > "$i/json-split3-duplicate"
{ printf '\000'; cat "$j/event-3.json"; } > "$i/json-truncated"
{ printf '\000'; printf '{"kind":"sale"}\n{\n'; cat "$j/event-4.json"; printf '\n'; } > "$i/json-invalid"
# replies a daemon sends on the ingest socket (fuzz_reply): length-prefixed
# CBOR maps, {1: seq, 2: status} or {3: code, 4: field, 5: reason}
reply() { be32 $(($(printf "$1" | wc -c))); printf "$1"; }
rm -rf "$out/reply"
mkdir -p "$out/reply"
r=$out/reply
reply '\242\001\030\052\002\000' > "$r/recorded-42"
reply '\242\001\007\002\001' > "$r/duplicate-7"
reply '\243\003\001\004\145lines\005\160qty: must be > 0' > "$r/invalid"
reply '\243\003\004\004\147journal\005\161storage I/O error' > "$r/io-error"
reply '\243\003\015\004\144peer\005\157not authorized.' > "$r/refused"
{ reply '\242\001\030\052\002\000'; reply '\242\001\030\053\002\000'; reply '\242\001\007\002\001'; } > "$r/three"
reply '\243\001\030\052\002\000\006\143new' > "$r/newer-key"
{ reply '\242\001\030\052\002\000'; be32 0; } > "$r/zero-length"
{ reply '\242\001\030\052\002\000'; be32 513; } > "$r/too-long"
printf '\000\000\000\010\242\001' > "$r/cut"
# control-socket streams (fuzz_ctlsock: first byte bits 0-6 the write size,
# 0 = all at once; bit 7: the client half-closes when done)
rm -rf "$out/ctlsock"
mkdir -p "$out/ctlsock"
s=$out/ctlsock
printf '\000{"cmd":"status"}\n' > "$s/status"
printf '\200{"cmd":"sync_now"}\n' > "$s/sync-now-half-close"
printf '\005{"cmd":"status"}\n\n{"cmd":"tail"}\r\n{"cmd":"nope"}\n{"cmd"' > "$s/split5-blank-bad-partial"
printf '\201{ "cmd" : "tail", "since": 0 }\nnot json\n' > "$s/byte-by-byte-half-close"
{ printf '\000'; head -c 4100 /dev/zero | tr '\0' 'x'; printf '\n{"cmd":"status"}\n'; } > "$s/over-long"
# a daemon's answers to the control client (fuzz_ctlreply: first byte picks
# the reply buffer, 8 + 16 x N bytes)
rm -rf "$out/ctlreply"
mkdir -p "$out/ctlreply"
s=$out/ctlreply
printf '\377{"running":true,"pid":42,"connection":"connected"}\n' > "$s/status"
printf '\377{"ok":true}\n{"event":"acked","seq":7}\n' > "$s/two-lines"
printf '\377{"error":"not authorized","uid":65534,"hint":"run as root"}\n' > "$s/not-authorized"
printf '\002{"running":true,"pid":42,"connection":"connected"}\n' > "$s/too-large"
printf '\377{"ok":tr' > "$s/cut"
printf '\377{"ok":\000true}\n' > "$s/nul"

#!/bin/sh
# The daemon's ingest socket (issue 6): 16 concurrent clients of the C client
# library x 1,000 records (100 under qemu) -> gapless unique seqs matching the journal,
# fewer LMDB commits than records (group commit), a duplicate txn_id
# answered with the original seq, an invalid event answered with its field
# and nothing written, a JSON-lines client, malformed frames answered while
# the daemon survives, a refused uid, and docs/examples/pos_minimal.c with
# and without the daemon.  No broker: `storelink run` works offline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; rm -rf "$TMP"' EXIT
plan 29

CLIENT=$SL_BUILD/tests/ingest_client
POS=$SL_BUILD/examples/pos_minimal
STATE=$TMP/dev-1
SOCK=$STATE/ingest.sock
jnum() { sed -n "s/.*\"$2\":\\(-\\{0,1\\}[0-9]*\\).*/\\1/p" "$1"; }
# one JSON line per record: "SEQ TXN"
journal_pairs() { ag dev-1 export 2>/dev/null | sed -n 's/.*"seq":\([0-9]*\).*"txn_id":"\([^"]*\)".*/\1 \2/p'; }
records() { ag dev-1 export 2>/dev/null | grep -c '"seq"'; }

pki_init "$TMP/pki" >/dev/null && pki_device "$TMP/pki" dev-1 s-1 >/dev/null
ok $? "device PKI"
BROKER_PORT=$(free_port)   # nobody listens: the daemon runs offline
agent_conf dev-1
agent_start dev-1
wait_for 10 '[ -S "$SOCK" ]'
ok $? "daemon listens on \$state_dir/ingest.sock without a broker"
is "$(stat -c %a "$SOCK")" 660 "ingest socket mode 0660"

# ---- 16 clients x 1,000 (x 100 under qemu) ----------------------------------
NC=16
PER=1000
[ -n "${SL_RUN:-}" ] && PER=100
T=$((NC * PER))
i=1
while [ $i -le $NC ]; do
    "$CLIENT" "$SOCK" "C$i" $PER > "$TMP/c$i.out" 2> "$TMP/c$i.err" &
    eval "P$i=\$!"
    i=$((i + 1))
done
fails=0
i=1
while [ $i -le $NC ]; do
    eval "wait \$P$i" || fails=$((fails + 1))
    i=$((i + 1))
done
is "$fails" 0 "$NC clients x $PER records: every client got only successful replies"
cat "$TMP"/c*.out > "$TMP/all.out"
is "$(wc -l < "$TMP/all.out" | tr -d ' ')" $T "$T replies"
is "$(grep -vc ' recorded$' "$TMP/all.out")" 0 "every reply says recorded"
cut -d' ' -f2 "$TMP/all.out" | sort -n > "$TMP/seqs"
is "$(sort -un "$TMP/seqs" | wc -l | tr -d ' ')" $T "$T unique seqs"
is "$(head -n1 "$TMP/seqs") $(tail -n1 "$TMP/seqs")" "1 $T" "seqs 1..$T: gapless"
ordered=0
i=1
while [ $i -le $NC ]; do
    # a client's seqs rise with its own order
    cut -d' ' -f2 "$TMP/c$i.out" | sort -nc 2>/dev/null || ordered=$((ordered + 1))
    i=$((i + 1))
done
is "$ordered" 0 "each client's seqs rise in its own order"
journal_pairs | sort > "$TMP/journal.pairs"
awk '{print $2" "$1}' "$TMP/all.out" | sort > "$TMP/reply.pairs"
cmp -s "$TMP/journal.pairs" "$TMP/reply.pairs"
ok $? "every reply's (seq, txn_id) is the journal's"
ag dev-1 journal verify > /dev/null 2>&1
ok $? "journal verify: hash chain intact"

# ---- group commit counters ------------------------------------------------
# daemon.json (what status --json shows) is refreshed at most once a second
ingest_json() {
    ag dev-1 status --json 2>&1 | tr -d '\n' | sed 's/.*"ingest":{\([^}]*\)}.*/\1/' > "$TMP/ingest.json"
}
wait_for 5 'ingest_json; grep -q "\"records\":$T," "$TMP/ingest.json"'
rec=$(jnum "$TMP/ingest.json" records); com=$(jnum "$TMP/ingest.json" commits)
is "$rec" $T "status: ingest.records $T"
ok "$([ -n "$com" ] && [ "$com" -ge 1 ] && [ "$com" -lt "$rec" ]; echo $?)" \
    "group commit: $com commits for $rec records"
diag "ingest: $(cat "$TMP/ingest.json")"

# ---- duplicate, invalid ---------------------------------------------------
orig=$(sed -n 's/^C3-1 \([0-9]*\) .*/\1/p' "$TMP/c3.out")
out=$("$CLIENT" "$SOCK" C3 1)
is "$out" "C3-1 $orig duplicate" "same txn_id again: duplicate with the original seq"
out=$("$CLIENT" "$SOCK" BAD invalid); rc=$?
is "$rc" 1 "invalid event: client exits 1"
like "$out" "^BAD-1 error 1 lines\\[0\\]\\.qty[a-z_]*: " "invalid event: error 1 naming lines[0].qty"
is "$(records)" $T "invalid event: nothing written"

# ---- JSON lines and malformed frames ----------------------------------------
python3 - "$SOCK" > "$TMP/json.out" 2>&1 <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rb')
good = b'{"kind":"sale","txn_id":"J-1","currency":"EUR","lines":[{"sku":"X","qty":1,"unit_price":100}],"tenders":[{"method":"cash","amount":100}]}'
s.sendall(good + b'\n' + b'{"kind":"sale","txn_id":"J-2"}\n' + b'{not json\n' + good + b'\n')
for _ in range(4): print(f.readline().decode().strip())
s.close()
# CBOR framing: bad CBOR (connection survives), then an oversized length
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack('>I', 3) + b'\xff\xff\xff')
n = struct.unpack('>I', s.recv(4))[0]; print('cbor-bad', len(s.recv(n)) > 0)
s.sendall(struct.pack('>I', 1 << 20))
n = struct.unpack('>I', s.recv(4))[0]; print('cbor-big', len(s.recv(n)) > 0, s.recv(10) == b'')
# a length prefix cut short by the end of the stream
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'\x00\x00'); s.shutdown(socket.SHUT_WR)
n = struct.unpack('>I', s.recv(4))[0]; r = s.recv(n); print('cbor-short', b'truncated' in r)
PY
sed -n 1p "$TMP/json.out" | grep -Eq "^\\{\"seq\":$((T + 1)),\"status\":\"recorded\"\\}\$"
ok $? "JSON line: {\"seq\":$((T + 1)),\"status\":\"recorded\"}"
like "$(sed -n 2p "$TMP/json.out")" '"error":"invalid","code":1,"field":"[a-z_]+"' "JSON line: invalid event names the field"
like "$(sed -n 3p "$TMP/json.out")" '"error":"invalid","code":1' "JSON line: bad JSON answered, connection kept"
like "$(sed -n 4p "$TMP/json.out")" "\"seq\":$((T + 1)),\"status\":\"duplicate\"" "JSON line after errors: duplicate of J-1"
like "$(sed -n 5,6p "$TMP/json.out" | tr '\n' ' ')" "cbor-bad True cbor-big True True" \
    "CBOR: bad record answered; oversized length answered and closed"
is "$(sed -n 7p "$TMP/json.out")" "cbor-short True" "CBOR: truncated length prefix answered"

# ---- refused uid --------------------------------------------------------------
# the tests run as root, which the daemon always allows: the client runs as
# nobody, and the state directory and socket are opened up so the daemon's
# SO_PEERCRED check is what is tested (as tests/cli/97-control.t does)
chmod 0755 "$TMP"; chmod 0711 "$STATE"; chmod 0666 "$SOCK"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CLIENT" "$SOCK" NOBODY 1 2>&1); rc=$?
like "$out" "^NOBODY-1 error 13 peer: not authorized" "uid 65534: refused with error 13 (PERM)"
wait_for 5 'grep -q "ingest: refused uid 65534" "$TMP/dev-1.log"'
ok $? "refused peer logged"
is "$(records)" $((T + 1)) "refused peer: nothing written"
agent_stop dev-1
agent_conf dev-1 "[ingest]
allowed_uids = 1000, 65534"
agent_start dev-1
wait_for 10 '[ -S "$SOCK" ]' && chmod 0666 "$SOCK"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CLIENT" "$SOCK" NOBODY 1 2>&1)
is "$out" "NOBODY-1 $((T + 2)) recorded" "uid 65534 in [ingest] allowed_uids: recorded"

# ---- the example POS program ------------------------------------------------
out=$("$POS" "$STATE" POS-1); rc=$?
is "$rc:$out" "0:recorded seq $((T + 3)) via daemon" "pos_minimal through the daemon"
agent_stop dev-1
out=$("$POS" "$STATE" POS-2); rc=$?
is "$rc:$out" "0:recorded seq $((T + 4)) via journal (no daemon)" "pos_minimal without the daemon: direct journal"
done_testing

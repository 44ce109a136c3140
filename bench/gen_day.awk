# bench/gen_day.awk - one generated business day of a supermarket, as JSON
# lines for `storelink record` (docs/PROTOCOL.md "JSON input").
#
#   awk -f bench/gen_day.awk -v n=100000 [-v seed=20251121] [-v tills=12] > day.jsonl
#
# Deterministic for a given seed with any POSIX awk (mawk, gawk, busybox):
# it uses its own Park-Miller generator in exact double arithmetic, never
# srand()/rand(), and prints large integers with %.0f.
#
# The shop (EUR, German VAT: prices include 7 % or 19 % tax, tax_included):
# - 2,000 SKUs; the basket picks them by a Zipf-like law (s = 1): the 300 best
#   sellers are ~3/4 of all lines, the long tail sells a few times a day.
#   Packaged goods have EAN-13 codes (GS1 Germany prefixes 400-440, check digit
#   computed, so the card-number guard accepts them as GTINs); loose produce
#   has 4-digit PLU codes ("4011"); the deli counter's weighed goods have
#   restricted-circulation EAN-13 codes (prefix 2).
# - Weighed goods (~10 % of SKUs) sell by the kg with 3-decimal quantities
#   (0.734); other lines are 1 unit mostly, sometimes 2-6.
# - Baskets of 1-8 lines, a few markdowns (line discounts).
# - Tenders: card ~58 %, cash ~37 % (handed over in notes/coins, the change
#   is the excess: only cash may exceed the total), voucher ~5 % (plus card or
#   cash for the rest).
# - ~1 % returns of a recent sale's line (restock or damaged, refunded exactly),
#   ~1.5 % stock adjustments: deliveries (receive, mostly mornings), damage,
#   shrink, cycle counts (absolute qty with the expected figure), transfers.
# - ts: Friday 2025-11-21, 07:00-22:00 Berlin time (06:00-21:00 UTC), with a
#   morning, lunch and after-work peak; non-decreasing in journal order.
# - txn_ids "POS07-000123": per till counters (tills lanes, default 12);
#   back-office adjustments "INV-000045".
# n is the number of events; 100,000 in one day is a large hypermarket's busy
# day (or a few days' backlog of a smaller one) squeezed into one day's clock.

function rnd() {            # uniform in (0,1), Park-Miller minimal standard
    rs = (rs * 16807) % 2147483647
    return rs / 2147483647
}
function irand(a, b) {      # integer in [a, b]
    return a + int(rnd() * (b - a + 1))
}
function gauss(   k, s) {   # ~N(0,1) from 12 uniforms
    s = 0
    for (k = 0; k < 12; k++) s += rnd()
    return s - 6
}
function ean13(body,   k, s, d) {  # body: 12 digits -> 13 with the GS1 check digit
    s = 0
    for (k = 1; k <= 12; k++) {
        d = substr(body, k, 1) + 0
        s += (k % 2 == 1) ? d : 3 * d
    }
    return body ((10 - s % 10) % 10)
}
function digits(k,   s) {   # k random decimal digits
    s = ""
    while (k-- > 0) s = s int(rnd() * 10)
    return s
}
function qtxt(m) {          # milli-units -> JSON number ("2", "0.734")
    if (m % 1000 == 0) return sprintf("%d", m / 1000)
    return sprintf("%s%d.%03d", m < 0 ? "-" : "", int((m < 0 ? -m : m) / 1000), (m < 0 ? -m : m) % 1000)
}
function zipf(   u, lo, hi, mid) {  # a SKU index by popularity (binary search in cum[])
    u = rnd() * cum[NSKU]
    lo = 1; hi = NSKU
    while (lo < hi) {
        mid = int((lo + hi) / 2)
        if (cum[mid] < u) lo = mid + 1; else hi = mid
    }
    return rank2sku[lo]
}
function at_time(i,   u, t, k, f) {  # ts of event i (1..n), non-decreasing
    u = (i - 1 + rnd()) / n * W
    for (k = 1; k < NH && hcum[k] <= u; k++) ;
    f = (u - hcum[k - 1]) / hw[k]
    if (f > 1) f = 1
    return DAY0 + int(((k - 1) + f) * 3600000)
}
function line_qty(s,   t) { # milli-units sold of SKU s
    if (weighed[s]) return irand(100, 2500)     # 0.100-2.500 kg
    if (price[s] > 5000) return 1000
    t = rnd()
    if (t < 0.72) return 1000
    if (t < 0.88) return 2000
    return irand(3, 6) * 1000
}
function vat(amount, rate) {    # tax contained in a tax-inclusive amount
    return int((amount * rate + (100 + rate) / 2) / (100 + rate))
}
function cash_given(total,   r) {  # what the customer hands over
    r = rnd()
    if (r < 0.20) return total                       # exact
    if (r < 0.45) return int((total + 99) / 100) * 100     # next euro
    if (r < 0.65) return int((total + 499) / 500) * 500
    if (r < 0.85) return int((total + 999) / 1000) * 1000
    if (r < 0.95) return int((total + 1999) / 2000) * 2000
    return int((total + 4999) / 5000) * 5000
}

function sale(i, ts, till,   nl, k, s, q, g, d, amt, tax, total, lines, tend, r, v, id, used) {
    nl = 1; r = rnd() * 100
    # 1..8 lines: 22 20 17 13 10 8 6 4 %
    if (r >= 22) nl = 2; if (r >= 42) nl = 3; if (r >= 59) nl = 4; if (r >= 72) nl = 5
    if (r >= 82) nl = 6; if (r >= 90) nl = 7; if (r >= 96) nl = 8
    total = 0; lines = ""
    split("", used)
    for (k = 1; k <= nl; k++) {
        s = zipf()
        if (s in used) s = zipf()      # mostly distinct SKUs in a basket
        used[s] = 1
        q = line_qty(s)
        g = int((q * price[s] + 500) / 1000)
        d = 0
        if (rnd() < 0.04 && g >= 100) d = int(g * (rnd() < 0.5 ? 0.3 : 0.5))   # markdown
        amt = g - d
        tax = vat(amt, rate[s])
        total += amt
        lines = lines (k > 1 ? "," : "") "{\"sku\":\"" sku[s] "\",\"qty\":" qtxt(q) \
                ",\"unit_price\":" price[s] (d ? ",\"discount\":" d : "") \
                (tax ? ",\"tax\":" tax : "") "}"
        if (k == 1) { f_sku = s; f_q = q; f_d = d; f_amt = amt; f_tax = tax }
    }
    r = rnd()
    if (r < 0.05 && total > 500) {                     # voucher, rest by card or cash
        v = (total >= 2000 && rnd() < 0.5) ? 2000 : (total >= 1000 ? 1000 : 500)
        if (rnd() < 0.6)
            tend = "{\"method\":\"voucher\",\"amount\":" v "},{\"method\":\"card\",\"amount\":" (total - v) "}"
        else
            tend = "{\"method\":\"voucher\",\"amount\":" v "},{\"method\":\"cash\",\"amount\":" cash_given(total - v) "}"
        if (total == v) tend = "{\"method\":\"voucher\",\"amount\":" v "}"
    } else if (r < 0.42) {
        tend = "{\"method\":\"cash\",\"amount\":" cash_given(total) "}"
    } else {
        tend = "{\"method\":\"card\",\"amount\":" total "}"
    }
    cnt[till]++
    id = sprintf("POS%02d-%06d", till, cnt[till])
    printf "{\"kind\":\"sale\",\"txn_id\":\"%s\",\"ts\":%.0f,\"currency\":\"EUR\",\"tax_included\":true,\"lines\":[%s],\"tenders\":[%s]}\n", \
        id, ts, lines, tend
    nsales++
    # remember the first line for a later return
    rp = (rp % 500) + 1
    r_id[rp] = id; r_sku[rp] = f_sku; r_q[rp] = f_q; r_d[rp] = f_d; r_amt[rp] = f_amt; r_tax[rp] = f_tax
    if (rp > rmax) rmax = rp
}

function ret(i, ts, till,   k, s, id, disp) {
    k = irand(1, rmax)
    s = r_sku[k]
    disp = rnd() < 0.75 ? "restock" : "damaged"
    cnt[till]++
    id = sprintf("POS%02d-%06d", till, cnt[till])
    printf "{\"kind\":\"return\",\"txn_id\":\"%s\",\"ts\":%.0f,\"original_txn_id\":\"%s\",\"currency\":\"EUR\",\"tax_included\":true,\"lines\":[{\"sku\":\"%s\",\"qty\":%s,\"unit_price\":%d%s%s,\"disposition\":\"%s\"}],\"refunds\":[{\"method\":\"%s\",\"amount\":%d}]}\n", \
        id, ts, r_id[k], sku[s], qtxt(r_q[k]), price[s], \
        r_d[k] ? ",\"discount\":" r_d[k] : "", r_tax[k] ? ",\"tax\":" r_tax[k] : "", disp, \
        rnd() < 0.6 ? "card" : "cash", r_amt[k]
}

function adj(i, ts, morning,   r, reason, loc, nl, k, s, q, e, lines, used) {
    r = rnd()
    if (morning) r *= 0.6           # deliveries come in the morning
    if (r < 0.35) reason = "receive"
    else if (r < 0.60) reason = "count"
    else if (r < 0.85) reason = "damage"
    else if (r < 0.95) reason = "shrink"
    else reason = "transfer_out"
    loc = (reason == "receive") ? "dock-1" : (rnd() < 0.15 ? "backroom" : "aisle-" irand(1, 24))
    nl = reason == "receive" ? irand(2, 12) : reason == "count" ? irand(1, 4) : 1
    lines = ""
    split("", used)
    for (k = 1; k <= nl; k++) {
        s = zipf()
        if (s in used) continue
        used[s] = 1
        if (reason == "receive")      q = weighed[s] ? irand(2000, 20000) : irand(1, 8) * 6000
        else if (reason == "count")   q = weighed[s] ? irand(0, 15000) : irand(0, 60) * 1000
        else if (reason == "transfer_out") q = -irand(1, 12) * 1000
        else                          q = weighed[s] ? -irand(100, 1500) : -irand(1, 3) * 1000
        lines = lines (lines != "" ? "," : "") "{\"sku\":\"" sku[s] "\",\"qty\":" qtxt(q)
        if (reason == "count") {
            e = q + (weighed[s] ? irand(-800, 400) : irand(-3, 2) * 1000)
            lines = lines ",\"expected\":" qtxt(e)
        }
        lines = lines "}"
    }
    nadj++
    printf "{\"kind\":\"adjustment\",\"txn_id\":\"INV-%06d\",\"ts\":%.0f,\"reason\":\"%s\",\"location\":\"%s\",\"lines\":[%s]}\n", \
        nadj, ts, reason, loc, lines
}

BEGIN {
    if (n == "") n = 100000
    if (seed == "") seed = 20251121
    if (tills == "") tills = 12
    n += 0; tills += 0
    rs = seed % 2147483646 + 1
    for (k = 0; k < 5; k++) rnd()

    DAY0 = 1763704800000          # 2025-11-21T06:00:00Z = 07:00 in Berlin
    # customers per hour, 07:00 .. 21:00 (15 hours)
    NH = split("4 6 7 7 8 10 10 8 7 8 10 12 11 8 5", hw, " ")
    hcum[0] = 0
    for (k = 1; k <= NH; k++) hcum[k] = hcum[k - 1] + hw[k]
    W = hcum[NH]

    # the catalogue: 2,000 SKUs, rank 1 sells most
    NSKU = 2000
    cum[0] = 0
    for (r = 1; r <= NSKU; r++) {
        s = r                         # SKU index; ranks are shuffled below
        t = rnd()
        if (t < 0.04) {               # loose produce, PLU code, sold by the kg
            weighed[s] = 1
            do code = sprintf("%d", irand(3000, 4999)); while (code in seen)
            price[s] = irand(9, 99) * 10 + 9           # 0.99-9.99 per kg
            rate[s] = 7
        } else if (t < 0.10) {        # deli counter, in-store EAN-13, by the kg
            weighed[s] = 1
            do code = ean13("2" digits(11)); while (code in seen)
            price[s] = irand(49, 399) * 10 + 9         # 4.99-39.99 per kg
            rate[s] = 7
        } else {                      # packaged, GS1 Germany EAN-13
            do code = ean13(sprintf("4%02d", irand(0, 40)) digits(9)); while (code in seen)
            p = int(exp(log(180) + 0.85 * gauss()))
            if (rnd() < 0.01) p = irand(3, 30) * 1000 - 1   # small electrics, 29.99-299.99
            if (p < 19) p = 19
            price[s] = int(p / 10) * 10 + 9
            rate[s] = rnd() < 0.7 ? 7 : 19
        }
        seen[code] = 1
        sku[s] = code
        cum[r] = cum[r - 1] + 1 / r   # Zipf, s = 1
        rank2sku[r] = r
    }
    for (r = NSKU; r > 1; r--) {      # popularity does not follow catalogue order
        k = irand(1, r)
        t = rank2sku[r]; rank2sku[r] = rank2sku[k]; rank2sku[k] = t
    }

    rmax = 0; rp = 0
    for (i = 1; i <= n; i++) {
        ts = at_time(i)
        t = rnd()
        if (t < 0.015) adj(i, ts, ts < DAY0 + 3 * 3600000)
        else if (t < 0.025 && rmax > 0) ret(i, ts, irand(1, tills))
        else sale(i, ts, irand(1, tills))
    }
}

#!/usr/bin/env bash
# `ocsp chain` on a cold cache (issue 12): every depth is fetched at once
# and the very first request is decided on the answers.
#
# A PKI made here: root -> I1 -> I2 -> leaf, three certificates below the
# anchor, each with an AIA OCSP URL naming its own responder (the fault
# responder of ocsp-responder.c, one process per issuing CA, signing as
# that CA).  Three families, each its own I1, I2 and leaf:
#
#   good   every responder answers good at once
#   mixed  the leaf's responder is slow (2 s, below fetch_timeout 4 s),
#          I2's is dead (nothing listens), I1's answers good
#   slow   every responder answers good after 2 s
#
#  1  good, A (ocsp_failure deny): the first request is 200 (no
#     X-Authd-Revocation: that is for unchecked and revoked), one query per
#     responder; a second request asks nobody
#  2  mixed: A answers 401 revocation-unknown, B (ocsp_failure allow) 200
#     with X-Authd-Revocation: unchecked, both on the first request, and
#     the slow and good responders were asked once by each
#  3  slow, A: the first request is 200 after about one responder's delay,
#     not three (the fetches run side by side: under 4 s, where one after
#     the other takes 6 s)
. "$(dirname "$0")/lib.bash"

A_PORT=$(free_port); B_PORT=$(free_port); DEAD_PORT=$(free_port)
A="127.0.0.1:$A_PORT"; B="127.0.0.1:$B_PORT"
mkdir -p "$WORK/p" "$WORK/dA" "$WORK/dB"
P="$WORK/p"


# ---------------------------------------------------------------- the PKI
# ca NAME ISSUER AIA: a CA certificate (ISSUER "" for the self-signed root)
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$1.key" 2>/dev/null; }
issue() {   # NAME ISSUER AIA-URL CA:yes|no
    local n=$1 iss=$2 aia=$3 ca=$4 ext="$P/$1.ext"
    if [ "$ca" = yes ]; then
        printf '[v3]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n' > "$ext"
    else
        printf '[v3]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n' > "$ext"
    fi
    printf 'subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\nauthorityInfoAccess = OCSP;URI:%s\n' "$aia" >> "$ext"
    key "$n"
    openssl req -new -key "$P/$n.key" -subj "/O=Chain Test/CN=$n" -out "$P/$n.csr" 2>"$P/$n.err" &&
    openssl x509 -req -in "$P/$n.csr" -CA "$P/$iss.pem" -CAkey "$P/$iss.key" \
        -set_serial "0x$(openssl rand -hex 8 | tr a-f A-F)" -days 30 -sha256 \
        -extfile "$ext" -extensions v3 -out "$P/$n.pem" 2>>"$P/$n.err" ||
        { echo "$TEST_NAME: cannot issue $n:" >&2; cat "$P/$n.err" >&2; exit 2; }
}
serial() { openssl x509 -in "$P/$1.pem" -noout -serial | sed 's/^serial=//'; }

key root
openssl req -x509 -new -key "$P/root.key" -subj "/O=Chain Test/CN=root" -days 30 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$P/root.pem" 2>/dev/null || { echo "$TEST_NAME: cannot make the root" >&2; exit 2; }

# responder NAME ISSUER: the fault responder signing as ISSUER
declare -A RLOG=() RURL=()
responder() {
    local n=$1 log="$WORK/resp-$1.log"
    start_fault_responder "resp-$n" "$log" "$P/$2"
    RLOG[$n]=$log; RURL[$n]="http://127.0.0.1:$FAULT_PORT"
}
responder root root
DEAD="http://127.0.0.1:$DEAD_PORT/good"

# family F MODE-I1 MODE-I2 MODE-LEAF (a mode, or "dead")
family() {
    local f=$1 m1=$2 m2=$3 m3=$4 u
    u() { [ "$2" = dead ] && printf '%s' "$DEAD" || printf '%s/%s' "${RURL[$1]}" "$2"; }
    issue "$f-i1" root "$(u root "$m1")" yes
    responder "$f-i1" "$f-i1"
    issue "$f-i2" "$f-i1" "$(u "$f-i1" "$m2")" yes
    responder "$f-i2" "$f-i2"
    issue "$f-leaf" "$f-i2" "$(u "$f-i2" "$m3")" no
    printf 'X-SSL-Client-Cert: %s\n' "$(escape_pem "$P/$f-leaf.pem")" > "$P/$f.hdr"
}
family good good good good
family mixed good dead slow2000
family slow slow2000 slow2000 slow2000
cat "$P"/*-i1.pem "$P"/*-i2.pem > "$P/intermediates.pem"

# queries NAME CERT: how many times responder NAME was asked about CERT
queries() { grep -c "^ocsp .* serial=$(serial "$2") " "${RLOG[$1]}" || true; }

# ---------------------------------------------------------------- authd
COMMON=(--trust "$P/root.pem" --intermediates "$P/intermediates.pem" --ocsp chain
        --fetch-timeout 4s --fetch-threads 4)
start_authd authd-allow "$B" "${COMMON[@]}" --ocsp-failure allow --data-dir "$WORK/dB"
B_PID=$AUTHD_PID
start_authd authd "$A" "${COMMON[@]}" --ocsp-failure deny --data-dir "$WORK/dA"

# dec NAME ADDR: decide (lib.bash) with NAME's certificate
dec() { decide "$P/$1.hdr" "$2" /x; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# ---------------------------------------------------------------- 1: good
dec good "$A"
check_eq "1: good chain, first request to A (deny)" "$D" "200 ok -"
check_eq "1: one query per responder (I1 at root's, I2 at I1's, leaf at I2's)" \
    "$(queries root good-i1) $(queries good-i1 good-i2) $(queries good-i2 good-leaf)" "1 1 1"
dec good "$A"
check_eq "1: second request" "$D" "200 ok -"
check_eq "1: ... asks nobody" \
    "$(queries root good-i1) $(queries good-i1 good-i2) $(queries good-i2 good-leaf)" "1 1 1"

# ---------------------------------------------------------------- 2: mixed
dec mixed "$A"
check_eq "2: slow leaf responder, dead I2 responder: first request to A (deny)" \
    "${D% *}" "401 revocation-unknown"
check_contains "2: ... A's log names the dead responder" "$(cat "$WORK/authd.log")" "127.0.0.1:$DEAD_PORT"
dec mixed "$B"
check_eq "2: the same, first request to B (allow)" "$D" "200 ok unchecked"
check_eq "2: slow and good responders asked once by each instance" \
    "$(queries mixed-i2 mixed-leaf) $(queries root mixed-i1)" "2 2"

# ---------------------------------------------------------------- 3: slow
dec slow "$A"
check_eq "3: three slow responders (2 s each): first request" "$D" "200 ok -"
if lt "$DT" 4; then pass "3: ... in ${DT}s: the three were asked at once"
else fail "3: ... took ${DT}s: the responders were asked one after the other (>= 6 s) or waited on"; fi
check_eq "3: one query per responder" \
    "$(queries root slow-i1) $(queries slow-i1 slow-i2) $(queries slow-i2 slow-leaf)" "1 1 1"

stop_pid "$B_PID"; check_eq "authd-allow exits 0 on SIGTERM" "$STOP_RC" 0
stop_authd

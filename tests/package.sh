#!/usr/bin/env bash
# The Debian package (issue 15), built, installed and used as an operator
# would, on this machine (it installs system-wide, so it needs root, and it
# purges what it installed when it ends, whatever happens):
#
#  1  dpkg-buildpackage -us -uc -b from a clean export of the tree (the
#     files git tracks): authd_VERSION_ARCH.deb and its -dbgsym; the
#     changelog's version is the project's (CMakeLists.txt, authd version);
#     lintian: no error, no warning
#  2  apt-get install ./authd_*.deb: every installed path, owner and mode,
#     the conffiles, the system user, the enabled units; authd serve -n on
#     the shipped configuration says what is missing (the trust anchors);
#     man -w and mandoc -T lint for each page; systemd-analyze verify on the
#     installed units (with their Documentation= pages)
#  3  configured (the conffile edited), authd started exactly as the unit's
#     ExecStartPre and ExecStart say, as the authd user, on a socket held
#     the way authd.socket holds it (LISTEN_FDS: socket-holder.py); real
#     nginx with the installed snippets: 200 for a good client, 401 revoked
#  4  logrotate with the installed configuration: the audit log rotated and
#     authd writing to the new one (SIGUSR1)
#  5  upgrade to a rebuilt package with a higher version, under a client
#     loop through nginx: the edited conffile kept (the new one beside it as
#     .dpkg-dist), the state kept, authd restarted behind the held socket
#     with the new binary, no request failed
#  6  purge: nothing left but what Debian keeps (the system user, files the
#     administrator added to /etc/authd)
#
# Environment: PKI_DIR as for tests/integration (generated when unset);
# KEEP_WORK=1 keeps the work directory.  DEB_BUILD_OPTIONS gets nocheck:
# tests/run.sh runs the unit tests already.
LIB_NO_AUTHD_BIN=1
. "$(dirname "$0")/integration/lib.bash"

if [ "$(id -u)" -ne 0 ]; then
    skip "not root: the package is installed system-wide (run as root, as tests/run.sh does)"; exit 0
fi
for tool in dpkg-buildpackage lintian apt-get git setpriv logrotate nginx mandoc; do
    command -v "$tool" >/dev/null || {
        skip "$tool not found: tests/run.sh installs it (debhelper, lintian, logrotate, ...)"; exit 0; }
done

VERSION=$(sed -n 's/^project(authd VERSION \([0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt")
ARCH=$(dpkg --print-architecture)
UPGRADE_VERSION="$VERSION.1"        # what the rebuilt package of step 5 is
PORT=9180                           # the shipped listen and upstream address
TLS_PORT=$(free_port); BACKEND_PORT=$(free_port)
U="https://localhost:$TLS_PORT"
HOLDER="$REPO/tests/integration/socket-holder.py"
ADDED_ETC=(trust.pem intermediates.pem crl)   # what the "administrator" adds

installed() { dpkg-query -W -f='${db:Status-Status}' authd 2>/dev/null | grep -qx installed; }
if installed || [ -e /etc/authd ]; then
    # a run that was killed before its purge: start clean, and say so
    echo "$TEST_NAME: authd installed or /etc/authd present from an earlier run: purging first" >&2
    apt-get purge -y -q authd >/dev/null 2>&1 || true
    for f in "${ADDED_ETC[@]}"; do rm -rf "/etc/authd/$f"; done
    rmdir /etc/authd 2>/dev/null || true
    [ ! -e /etc/authd ] || { echo "$TEST_NAME: /etc/authd exists and is not this test's: refusing to touch it" >&2; exit 2; }
fi
if port_busy "$PORT"; then
    echo "$TEST_NAME: 127.0.0.1:$PORT is in use; the package's configuration listens there" >&2; exit 2
fi

HOLDER_PID=
teardown() {
    [ -n "$NGINX_PID" ] && stop_pid "$NGINX_PID"
    [ -n "$HOLDER_PID" ] && stop_pid "$HOLDER_PID"
    if installed; then apt-get purge -y -q authd >/dev/null 2>&1 || true; fi
    local f
    for f in "${ADDED_ETC[@]}"; do rm -rf "/etc/authd/$f"; done
    rmdir /etc/authd 2>/dev/null || true
}
trap 'rc=$?; teardown; (exit $rc); cleanup' EXIT

mode() { stat -c '%U:%G %a' "$1" 2>&1; }

# ---------------------------------------------------------------- 1 build
# build DIR: dpkg-buildpackage in DIR; the .deb files land in DIR/..
build() {
    (cd "$1" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
        > "$WORK/build-$(basename "$1").log" 2>&1
}
SRC="$WORK/b1/authd-$VERSION"
mkdir -p "$SRC"
git -C "$REPO" ls-files -z | (cd "$REPO" && tar --null -T - -cf -) | tar -C "$SRC" -xf -
build "$SRC" && rc=0 || rc=$?
check_eq "1: dpkg-buildpackage -us -uc -b" "$rc" 0
DEB="$WORK/b1/authd_${VERSION}_${ARCH}.deb"
[ -f "$DEB" ] || { fail "1: no $DEB; the build's log:"; tail -n 30 "$WORK/build-authd-$VERSION.log"; exit 1; }
pass "1: built $(basename "$DEB")"
check_eq "1: and its debug symbols" "$(ls "$WORK/b1/authd-dbgsym_${VERSION}_${ARCH}.deb" 2>/dev/null | wc -l)" 1
check_eq "1: the changelog's version is the project's" \
    "$(cd "$SRC" && dpkg-parsechangelog -S Version)" "$VERSION"
out=$(lintian --fail-on error,warning "$WORK/b1/authd_${VERSION}_${ARCH}.changes" 2>&1) && rc=0 || rc=$?
check_eq "1: lintian: exit status" "$rc" 0
check_eq "1: lintian: no error or warning" "$(grep -E '^[EW]: ' <<<"$out" || true)" ""

# ---------------------------------------------------------------- 2 install
out=$(cd "$WORK/b1" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$(basename "$DEB")" 2>&1) && rc=0 || rc=$?
check_eq "2: apt-get install ./$(basename "$DEB")" "$rc" 0
installed || { fail "2: not installed:"; tail -n 20 <<<"$out"; exit 1; }
# hardening=+all: a position-independent executable, full RELRO (relro +
# bindnow), _FORTIFY_SOURCE's checked functions, the stack protector
ELF=$(readelf -hldsW /usr/sbin/authd 2>&1)
check_contains "2: /usr/sbin/authd is PIE" "$ELF" "DYN (Position-Independent Executable file)"
check_contains "2: /usr/sbin/authd has RELRO" "$ELF" "GNU_RELRO"
check_contains "2: /usr/sbin/authd binds now" "$(grep FLAGS <<<"$ELF")" "BIND_NOW"
check_contains "2: /usr/sbin/authd is fortified" "$ELF" "_chk@"
check_contains "2: /usr/sbin/authd has the stack protector" "$ELF" "__stack_chk_fail"
check_eq "2: authd version is the package's" "$(/usr/sbin/authd version | head -n 1 | awk '{ print $2 }')" "$VERSION"

while read -r path want; do
    check_eq "2: $path" "$(mode "$path")" "$want"
done <<'EOF'
/usr/sbin/authd root:root 755
/etc/authd root:root 755
/etc/authd/authd.conf root:root 644
/etc/authd/policies/example.policy root:root 644
/etc/authd/policies/lists/lost-devices.sha256 root:root 644
/etc/nginx/snippets/authd/authd.conf root:root 644
/etc/nginx/snippets/authd/authd-protect.conf root:root 644
/etc/nginx/snippets/authd/authd-upstream.conf root:root 644
/etc/nginx/snippets/authd/authd-cache.conf root:root 644
/etc/logrotate.d/authd root:root 644
/lib/systemd/system/authd.service root:root 644
/lib/systemd/system/authd.socket root:root 644
/usr/lib/sysusers.d/authd.conf root:root 644
/usr/lib/tmpfiles.d/authd.conf root:root 644
/usr/share/authd/authd.rules.yml root:root 644
/usr/share/bash-completion/completions/authd root:root 644
/usr/share/doc/authd/copyright root:root 644
/usr/share/doc/authd/README.Debian root:root 644
/usr/share/doc/authd/examples/nginx/mtls-optional.conf root:root 644
/usr/share/doc/authd/examples/policies/example.policy root:root 644
/usr/share/man/man8/authd.8.gz root:root 644
/usr/share/man/man5/authd.conf.5.gz root:root 644
/usr/share/man/man5/authd-policy.5.gz root:root 644
/var/lib/authd authd:authd 700
/var/log/authd authd:adm 750
EOF
IFS=: read -r _ _ uid _ _ home shell <<<"$(getent passwd authd)"
check_eq "2: the system user authd: home, shell" "$home $shell" "/var/lib/authd /usr/sbin/nologin"
if [ -n "$uid" ] && [ "$uid" -lt 1000 ]; then pass "2: authd's uid is a system uid ($uid)"
else fail "2: authd's uid is not a system uid: '$uid'"; fi
check_eq "2: the group authd" "$(getent group authd | cut -d: -f1)" authd
CONFFILES=$(dpkg-query -W -f='${Conffiles}\n' authd | awk 'NF { print $1 }' | sort | tr '\n' ' ')
check_eq "2: the conffiles" "$CONFFILES" "/etc/authd/authd.conf /etc/authd/policies/example.policy /etc/authd/policies/lists/lost-devices.sha256 /etc/logrotate.d/authd /etc/nginx/snippets/authd/authd-cache.conf /etc/nginx/snippets/authd/authd-protect.conf /etc/nginx/snippets/authd/authd-upstream.conf /etc/nginx/snippets/authd/authd.conf "
check_eq "2: authd.service enabled" "$(readlink /etc/systemd/system/multi-user.target.wants/authd.service)" /lib/systemd/system/authd.service
check_eq "2: authd.socket enabled" "$(readlink /etc/systemd/system/sockets.target.wants/authd.socket)" /lib/systemd/system/authd.socket

# the shipped configuration: its one problem is the trust anchors nobody gave it
out=$(/usr/sbin/authd serve --config /etc/authd/authd.conf -n 2>&1) && rc=0 || rc=$?
check_eq "2: authd serve -n on the shipped configuration: exit status" "$rc" 2
line=$(grep -n '^trust ' /etc/authd/authd.conf | cut -d: -f1)
check_eq "2: authd serve -n says what is missing" "$out" \
    "/etc/authd/authd.conf:$line: cannot read /etc/authd/trust.pem: No such file or directory
authd: configuration has errors"

for page in authd.8 authd.conf.5 authd-policy.5; do
    name=${page%.*} sec=${page##*.}
    f=$(man -w "$sec" "$name" 2>&1) && rc=0 || rc=$?
    check_eq "2: man -w $sec $name" "$rc $f" "0 /usr/share/man/man$sec/$page.gz"
    out=$(mandoc -T lint -W warning "/usr/share/man/man$sec/$page.gz" 2>&1) && rc=0 || rc=$?
    check_eq "2: mandoc -T lint $page (installed)" "$rc $out" "0 "
done
out=$(systemd-analyze verify /lib/systemd/system/authd.socket /lib/systemd/system/authd.service 2>&1) && rc=0 || rc=$?
check_eq "2: systemd-analyze verify the installed units (their man pages too)" "$rc $out" "0 "

# ---------------------------------------------------------------- 3 configure, start as the unit does
cp "$PKI/trust.pem" "$PKI/intermediates.pem" /etc/authd/
mkdir -p /etc/authd/crl && cp "$PKI/crl/int.crl.pem" "$PKI/crl/root.crl.pem" /etc/authd/crl/
chmod 0644 /etc/authd/*.pem /etc/authd/crl/*
sed -i -e 's|^#intermediates  /etc/authd/intermediates.pem|intermediates   /etc/authd/intermediates.pem|' \
    -e 's|^#crl            /etc/authd/crl/|crl             /etc/authd/crl/|' /etc/authd/authd.conf
printf '\n# added by the administrator\ncrl_fetch       off\n' >> /etc/authd/authd.conf
EDITED=$(md5sum < /etc/authd/authd.conf)
check_eq "3: the edited configuration uses the intermediates and the CRLs" \
    "$(grep -cE '^(intermediates|crl) ' /etc/authd/authd.conf)" 2

PRE=$(sed -n 's/^ExecStartPre=//p' /lib/systemd/system/authd.service)
START=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/authd.service)
USR=$(sed -n 's/^User=//p' /lib/systemd/system/authd.service)
GRP=$(sed -n 's/^Group=//p' /lib/systemd/system/authd.service)
check_eq "3: the unit runs as" "$USR:$GRP" authd:authd
AS_UNIT=(setpriv --reuid="$USR" --regid="$GRP" --init-groups --inh-caps=-all --bounding-set=-all)
read -ra PRE_ARGV <<<"$PRE"
read -ra START_ARGV <<<"$START"
out=$("${AS_UNIT[@]}" "${PRE_ARGV[@]}" 2>&1) && rc=0 || rc=$?
check_eq "3: ExecStartPre ($PRE) as $USR" "$rc" 0

mkdir -p "$WORK/h"
SCAN_LOGS+=("$WORK/h/authd-1.log" "$WORK/h/authd-2.log")
bg holder "$WORK/holder.log" python3 -u "$HOLDER" tcp "$PORT" "$WORK/h" 1 "${AS_UNIT[@]}" "${START_ARGV[@]}"
HOLDER_PID=$LAST_PID
up=0
for i in $(seq 1 200); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz" && { up=1; break; }
    sleep 0.05
done
check_eq "3: authd ($START) answers /healthz on the held socket" "$up" 1
APID=$(awk '/^started 1 /{ print $3 }' "$WORK/holder.log")
check_eq "3: it runs as $USR" "$(ps -o user= -p "$APID" 2>/dev/null | tr -d ' ')" "$USR"
check_eq "3: its state in /var/lib/authd, its own" "$(mode /var/lib/authd/data.mdb)" "authd:authd 600"

# nginx with the installed snippets, unchanged, and the packaged example
# server with only its listen port, server certificate and backend changed
make_pki_copy
NGX="$WORK/nginx"; mkdir -p "$NGX/tmp" "$NGX/logs"; chmod 0755 "$NGX"
sed -e "s#listen 443 ssl;#listen 127.0.0.1:$TLS_PORT ssl;#" -e "s#/etc/nginx/tls/#$WORK/pki-copy/#g" \
    -e "s#127\.0\.0\.1:8080#127.0.0.1:$BACKEND_PORT#g" \
    /usr/share/doc/authd/examples/nginx/mtls-optional.conf > "$NGX/server.conf"
check_eq "3: the example server includes the installed snippets" \
    "$(grep -c 'include /etc/nginx/snippets/authd/' "$NGX/server.conf")" 2
NGINX_UPSTREAM_CONF=/etc/nginx/snippets/authd/authd-upstream.conf
nginx_conf www-data "$NGX/server.conf"
start_nginx "$TLS_PORT" "$BACKEND_PORT"
C=(--cacert "$PKI/root.pem" --cert "$(chain client)" --key "$PKI/client.key")
req "${C[@]}" "$U/api/x"
check_eq "3: a good client through nginx" "$CODE" 200
check_eq "3: the backend gets its identity" "$(body_field subject)" "$(cert_subject "$PKI/client.pem")"
req --cacert "$PKI/root.pem" --cert "$(chain revoked)" --key "$PKI/revoked.key" "$U/api/x"
check_eq "3: a revoked client through nginx" "$CODE $(hdr X-Authd-Reason)" "401 revoked"
req --cacert "$PKI/root.pem" "$U/api/x"
check_eq "3: no certificate" "$CODE $(hdr X-Authd-Reason)" "401 no-certificate"

# ---------------------------------------------------------------- 4 logrotate
AUDIT=/var/log/authd/audit.log
check_eq "4: the audit log, authd's" "$(stat -c %U "$AUDIT" 2>&1)" authd
before=$(wc -l < "$AUDIT")
check_eq "4: three decisions in the audit log" "$before" 3
out=$(logrotate -f -s "$WORK/logrotate.state" /etc/logrotate.d/authd 2>&1) && rc=0 || rc=$?
check_eq "4: logrotate -f /etc/logrotate.d/authd" "$rc $out" "0 "
check_eq "4: rotated to audit.log.1" "$(wc -l < "$AUDIT.1" 2>&1)" 3
req "${C[@]}" "$U/api/after-rotate"
n=0
for i in $(seq 1 50); do n=$(grep -c after-rotate "$AUDIT" 2>/dev/null || true); [ "$n" = 1 ] && break; sleep 0.1; done
check_eq "4: after SIGUSR1 authd writes to the new audit.log" "$n" 1
check_eq "4: and no longer to the rotated one" "$(grep -c after-rotate "$AUDIT.1" || true)" 0

# ---------------------------------------------------------------- 5 upgrade under load
# The same tree at a higher version (the project's and the changelog's),
# its shipped authd.conf changed so that dpkg must choose between the two.
SRC2="$WORK/b2/authd-$UPGRADE_VERSION"
mkdir -p "$SRC2" && cp -a "$SRC/." "$SRC2/" && rm -rf "$SRC2/obj-"* "$SRC2/debian/authd" "$SRC2/debian/.debhelper"
sed -i "s/^project(authd VERSION $VERSION /project(authd VERSION $UPGRADE_VERSION /" "$SRC2/CMakeLists.txt"
{ printf 'authd (%s) unstable; urgency=medium\n\n  * A rebuild to test upgrades (tests/package.sh).\n\n -- %s  %s\n\n' \
      "$UPGRADE_VERSION" "$(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$SRC/debian/changelog" | head -n 1)" "$(date -R)"
  cat "$SRC/debian/changelog"; } > "$SRC2/debian/changelog"
printf '# (a line the next version added)\n' >> "$SRC2/contrib/authd.conf"
build "$SRC2" && rc=0 || rc=$?
check_eq "5: the higher version builds" "$rc" 0
DEB2="$WORK/b2/authd_${UPGRADE_VERSION}_${ARCH}.deb"

# loop OUT CURL-ARGS...: requests one after the other, a status per line,
# until WORK/stop-loop exists (at most 3000)
loop() {
    local out=$1 i=0; shift
    : > "$out"
    while [ ! -e "$WORK/stop-loop" ] && [ "$i" -lt 3000 ]; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$@" >> "$out" 2>/dev/null || echo 000 >> "$out"
        i=$((i + 1)); sleep 0.01
    done
}
codes() { sort "$1" | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }'; }
loop "$WORK/loop" "${C[@]}" "$U/api/x" &
LOOP=$!
sleep 0.5
out=$(cd "$WORK/b2" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "./$(basename "$DEB2")" 2>&1) && rc=0 || rc=$?
check_eq "5: apt-get install the higher version (dpkg keeps changed conffiles, as apt does unattended)" "$rc" 0
# what the package's postinst does under systemd: try-restart authd.service,
# the socket held throughout (here: the holder restarts authd, 1 s apart)
at_restart=$(wc -l < "$WORK/loop")
kill -USR1 "$HOLDER_PID"
for i in $(seq 1 100); do grep -q '^started 2 ' "$WORK/holder.log" && break; sleep 0.05; done
sleep 1
touch "$WORK/stop-loop"
wait "$LOOP"
after=$(( $(wc -l < "$WORK/loop") - at_restart ))
if [ "$after" -ge 10 ]; then pass "5: the loop ran across the restart ($at_restart requests before, $after from it on)"
else fail "5: the loop did not span the restart ($at_restart before, $after from it on)"; fi
check_eq "5: installed version" "$(dpkg-query -W -f='${Version}' authd)" "$UPGRADE_VERSION"
check_eq "5: an upgrade and a restart behind the socket under a client loop: every request 200" \
    "$(codes "$WORK/loop")" "200 x$(wc -l < "$WORK/loop")"
check_eq "5: the old authd drained and exited 0" "$(grep -c '^stopped 1 rc=0' "$WORK/holder.log")" 1
APID=$(awk '/^started 2 /{ print $3 }' "$WORK/holder.log")
check_eq "5: the new authd is the new binary" "$(readlink "/proc/$APID/exe" 2>&1)" /usr/sbin/authd
check_eq "5: authd version" "$(/usr/sbin/authd version | head -n 1 | awk '{ print $2 }')" "$UPGRADE_VERSION"
check_eq "5: the edited authd.conf is kept" "$(md5sum < /etc/authd/authd.conf)" "$EDITED"
check_contains "5: the new one beside it" "$(cat /etc/authd/authd.conf.dpkg-dist 2>&1)" "(a line the next version added)"
check_eq "5: the state is kept" "$(mode /var/lib/authd/data.mdb)" "authd:authd 600"
req "${C[@]}" "$U/api/x"
check_eq "5: a good client after the upgrade" "$CODE" 200
req --cacert "$PKI/root.pem" --cert "$(chain revoked)" --key "$PKI/revoked.key" "$U/api/x"
check_eq "5: a revoked client after the upgrade" "$CODE $(hdr X-Authd-Reason)" "401 revoked"

# ---------------------------------------------------------------- 6 purge
stop_pid "$NGINX_PID"; NGINX_PID=
stop_pid "$HOLDER_PID"; HOLDER_PID=
check_eq "6: authd stops with exit status 0" "$STOP_RC" 0
out=$(DEBIAN_FRONTEND=noninteractive apt-get purge -y -q authd 2>&1) && rc=0 || rc=$?
check_eq "6: apt-get purge authd" "$rc" 0
check_eq "6: dpkg knows the package no more" "$(dpkg-query -W authd >/dev/null 2>&1 && echo known || echo purged)" purged
left=()
for p in /usr/sbin/authd /etc/authd/authd.conf /etc/authd/authd.conf.dpkg-dist /etc/authd/policies \
         /etc/nginx/snippets/authd /etc/logrotate.d/authd /lib/systemd/system/authd.service \
         /lib/systemd/system/authd.socket /etc/systemd/system/multi-user.target.wants/authd.service \
         /etc/systemd/system/sockets.target.wants/authd.socket /usr/lib/sysusers.d/authd.conf \
         /usr/lib/tmpfiles.d/authd.conf /usr/share/authd /usr/share/doc/authd /var/lib/authd /var/log/authd \
         /usr/share/man/man8/authd.8.gz /usr/share/bash-completion/completions/authd; do
    [ -e "$p" ] || [ -L "$p" ] && left+=("$p")
done
check_eq "6: nothing of the package is left" "${left[*]:-}" ""
check_eq "6: /etc/authd holds only what the administrator added" "$(ls /etc/authd | tr '\n' ' ')" "crl intermediates.pem trust.pem "
check_eq "6: the system user stays (Debian keeps system accounts)" "$(getent passwd authd | cut -d: -f1)" authd

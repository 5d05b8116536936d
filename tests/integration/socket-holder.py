#!/usr/bin/env python3
"""socket-holder.py: holds a listening socket and passes it to authd the way
systemd's socket activation does (tests/integration/socket-activation.sh).

    socket-holder.py tcp PORT|unix PATH LOGDIR GAP AUTHD-COMMAND...

Binds the socket (backlog 1024), then runs AUTHD-COMMAND with the socket as
descriptor 3, LISTEN_FDS=1 and LISTEN_PID its own pid, output to
LOGDIR/authd-N.log. SIGUSR1: a restart as systemd does one: SIGTERM the
running authd, wait for it to exit, wait GAP seconds (no process accepts
meanwhile: the kernel queues connections), start the next one. SIGTERM:
stop authd and exit with its status. Prints "started N PID" per start.
"""
import os
import signal
import socket
import subprocess
import sys
import time

kind, where, logdir, gap = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
cmd = sys.argv[5:]
if kind == "tcp":
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(where)))
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(where):
        os.unlink(where)
    s.bind(where)
    os.chmod(where, 0o666)
s.listen(1024)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)

count = 0
child = None
wanted = []


def start():
    global count, child
    count += 1
    log = open(os.path.join(logdir, "authd-%d.log" % count), "w")
    # LISTEN_PID must be authd's own pid: sh execs it, keeping its pid.
    child = subprocess.Popen(
        ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh"] + cmd,
        stdout=log, stderr=subprocess.STDOUT, pass_fds=(3,))
    print("started %d %d" % (count, child.pid), flush=True)


signal.signal(signal.SIGUSR1, lambda *_: wanted.append("restart"))
signal.signal(signal.SIGTERM, lambda *_: wanted.append("stop"))
start()
while True:
    if not wanted:
        time.sleep(0.02)
        if child.poll() is not None:
            print("authd exited %d" % child.returncode, flush=True)
            sys.exit(1)
        continue
    what = wanted.pop(0)
    child.terminate()
    rc = child.wait()
    print("stopped %d rc=%d" % (count, rc), flush=True)
    if what == "stop":
        sys.exit(rc)
    time.sleep(gap)
    start()

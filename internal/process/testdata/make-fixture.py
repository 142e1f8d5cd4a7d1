#!/usr/bin/env python3
"""Writes testdata/proc, the fixture /proc tree of process_test.go.

Each process has the files internal/process reads: stat, status, cmdline,
environ, comm and the cwd symbolic link, in the kernel's formats (stat and
status lines copied from a Linux 6.x /proc and filled in). Run it from this
directory after changing the table; the output is committed.
"""
import os, shutil

ROOT = "proc"

def proc(pid, ppid, comm, start, cmdline=(), environ=(), cwd="/", uid=(0, 0, 0, 0), gid=(0, 0, 0, 0),
         nspid=None, state="S", omit=()):
    d = os.path.join(ROOT, str(pid))
    os.makedirs(d)
    files = {
        "stat": f"{pid} ({comm}) {state} {ppid} {pid} {pid} 0 -1 4194560 96 0 0 0 0 0 0 0 20 0 1 0 {start} "
                "3133440 380 18446744073709551615 94704588554240 94704588574121 140725075172096 0 0 0 0 0 0 0 0 0 "
                "17 1 0 0 0 0 0 94704588590128 94704588591744 94704914067456 140725075176131 140725075176151 "
                "140725075176151 140725075177451 0\n",
        "status": (f"Name:\t{comm}\nUmask:\t0022\nState:\t{state} (sleeping)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\n"
                   f"PPid:\t{ppid}\nTracerPid:\t0\nUid:\t" + "\t".join(map(str, uid)) + "\nGid:\t" +
                   "\t".join(map(str, gid)) + "\nFDSize:\t64\nGroups:\t \n" +
                   ("" if nspid is None else "NStgid:\t" + "\t".join(map(str, nspid)) + "\nNSpid:\t" +
                    "\t".join(map(str, nspid)) + "\n") +
                   "Threads:\t1\n"),
        "cmdline": "".join(a + "\0" for a in cmdline),
        "environ": "".join(e + "\0" for e in environ),
        "comm": comm + "\n",
    }
    for name, content in files.items():
        if name not in omit:
            with open(os.path.join(d, name), "w") as f:
                f.write(content)
    if "cwd" not in omit:
        os.symlink(cwd, os.path.join(d, "cwd"))

shutil.rmtree(ROOT, ignore_errors=True)
os.makedirs(ROOT)
# The host: PID 1 and a container shim, parent of every container init below.
proc(1, 0, "systemd", 1, ["/sbin/init"])
proc(50, 1, "containerd-shim", 100, ["/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io"])

# sh -c wrapper around java.
proc(100, 50, "sh", 1000, ["/bin/sh", "-c", "java -Xmx512m -jar app.jar; echo exited"], nspid=[100, 1])
proc(101, 100, "java", 1001, ["java", "-Xmx512m", "-jar", "app.jar"], ["JAVA_HOME=/usr/lib/jvm/jre-17", "PATH=/usr/bin"],
     cwd="/deployments", uid=(185, 185, 185, 185), gid=(0, 0, 0, 0), nspid=[101, 7])

# tini -> node.
proc(200, 50, "tini", 2000, ["/tini", "--", "node", "server.js"], nspid=[200, 1])
proc(201, 200, "node", 2001, ["node", "server.js"], ["NODE_ENV=production"], cwd="/app",
     uid=(1000, 1001, 1002, 1003), gid=(2000, 2001, 2002, 2003), nspid=[201, 2])

# dumb-init -> sh -> python3, plus an older sleep: the recognized python3
# wins, otherwise the first leaf (sleep, the older sibling).
proc(300, 50, "dumb-init", 3000, ["/usr/bin/dumb-init", "--", "/start.sh"], nspid=[300, 1])
proc(302, 300, "sh", 3002, ["/bin/sh", "/start.sh"], nspid=[302, 3])
proc(301, 300, "sleep", 3001, ["sleep", "infinity"], nspid=[301, 2])
proc(303, 302, "python3", 3003, ["python3", "-m", "http.server"], ["PYTHONUNBUFFERED=1"], cwd="/srv", nspid=[303, 4])

# A process without children is its own leaf; no NSpid line (old kernel):
# NSPID falls back to the pid.
proc(400, 50, "java", 4000, ["/opt/jdk/bin/java", "-cp", "lib/*", "com.example.Main"], ["A=1", "B="], cwd="/opt/app")

# A child listed in the directory but gone before its stat was read (no
# stat file), next to a live one.
proc(500, 50, "sh", 5000, ["sh"], nspid=[500, 1])
proc(501, 500, "node", 5001, ["node"], omit=("stat", "status", "cmdline", "environ", "cwd"))  # comm kept so the directory exists in git
proc(502, 500, "python3", 5002, ["python3", "app.py"], cwd="/app", nspid=[502, 3])

# A recognized leaf that exits before its details are read (stat still
# there, cmdline gone): the next candidate is taken.
proc(600, 50, "sh", 6000, ["sh"], nspid=[600, 1])
proc(601, 600, "java", 6001, ["java"], omit=("cmdline", "environ", "cwd"))
proc(602, 600, "node", 6002, ["node", "index.js"], cwd="/", nspid=[602, 3])

# A zombie child does not count: the shell is the leaf.
proc(700, 50, "sh", 7000, ["sh", "-c", "sleep 1; exec tail -f /dev/null"], cwd="/work", nspid=[700, 1])
proc(701, 700, "sleep", 7001, state="Z")

# Siblings are ordered by start time, not pid: 802 started first.
proc(800, 50, "sh", 8000, ["sh"], nspid=[800, 1])
proc(801, 800, "worker-b", 8020, ["worker-b"], nspid=[801, 2])
proc(802, 800, "worker-a", 8010, ["worker-a"], nspid=[802, 3])

# A comm with a parenthesis and spaces, as a process may set itself.
proc(900, 50, "we) (ird", 9000, ["./we) (ird"], nspid=[900, 1])

# The container init itself is a zombie: the container is going away.
proc(1000, 50, "app", 10000, state="Z")

# A live process whose environ cannot be read (here: a directory, standing
# for a permission error): an error of the scan, not a vanished process.
proc(1100, 50, "node", 11000, ["node"], omit=("environ",))
os.makedirs(os.path.join(ROOT, "1100", "environ"))
open(os.path.join(ROOT, "1100", "environ", "unreadable"), "w").close()

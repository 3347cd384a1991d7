#!/usr/bin/env python3
"""The source tree's layout rules (docs/style.md), checked.

  check_layout.py tree SRC            folder graph, -t.h and -int.h headers
  check_layout.py graph SRC           prints the folder graph (for the docs)
  check_layout.py exports SRC CORE BUILD
                                      every function the core library
                                      exports is used by another file

tree fails when a top-level folder includes a folder the rules below do not
allow, when the folder graph has a cycle, when a foo-t.h includes anything
but other -t.h files and system headers, or when a foo-int.h is included
from outside its folder (and its tests).

exports reads the symbols with nm: those defined by each object of the core
library (CORE, libswarmspoa_core.a) against those referenced by its other
objects and by every object under BUILD (daemon, tests, benchmarks). A test
or benchmark source that has no object in BUILD (a fuzz target of a gcc
build) is searched as text instead. A stale object can only hide a dead
export, never report a live one.

Exit status: 0 when every rule holds, 1 otherwise (each violation printed).
"""
import os
import re
import subprocess
import sys

# What each top-level folder of C code may include besides itself. common/
# is generic; routing/ is the model every part shares; dockerapi/ is the
# Engine API client; haproxyapi/ is HAProxy's runtime API client, shared by
# the features that talk to HAProxy (certs/, health/); the features know
# those and never each other;
# daemon/ composes them all. tests/ and bench/ may include anything.
ALLOWED = {
    "common": set(),
    "routing": {"common"},
    "dockerapi": {"common", "routing"},
    "discovery": {"common", "routing", "dockerapi"},
    "netmgr": {"common", "routing", "dockerapi"},
    "haproxyapi": {"common", "routing", "dockerapi"},
    "health": {"common", "routing", "dockerapi", "haproxyapi"},
    "certs": {"common", "routing", "dockerapi", "haproxyapi"},
    "spoa": {"common", "routing"},
    "stats": {"common", "routing"},
    "daemon": {"common", "routing", "dockerapi", "discovery", "netmgr", "certs", "haproxyapi",
               "health", "spoa", "stats"},
}
FREE = {"tests", "bench"}

# -t.h headers that still include a non -t.h header, with what they should
# include instead. Empty this list as they are fixed (the check says when
# an entry is no longer needed).
T_H_PENDING = {
    ("routing/model-t.h", "common/netaddr.h"): "common/netaddr-t.h",
}

# Exported functions that no other file uses yet, in folders whose owners
# are making them static or removing them (the check says when an entry is
# no longer needed).
EXPORTS_PENDING = {
    "jscan_fail": "common/jscan.c",
    "events_stop": "discovery/events.c",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources(src):
    out = subprocess.run(["git", "-C", src, "ls-files", "--cached", "--others",
                          "--exclude-standard", "*.c", "*.h"],
                         capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.strip():
        return sorted(p for p in set(out.stdout.split()) if os.path.exists(os.path.join(src, p)))
    files = []
    for root, dirs, names in os.walk(src):
        dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
        for n in names:
            if n.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(root, n), src))
    return sorted(files)


def includes(src, path):
    with open(os.path.join(src, path), encoding="utf-8", errors="replace") as f:
        text = f.read()
    return [(kind == '"', name) for kind, name in INCLUDE.findall(text)]


def folder_graph(src):
    """{folder: {included folder: number of include lines}} for the C folders."""
    graph = {}
    for path in sources(src):
        top = path.split("/", 1)[0]
        if "/" not in path or top in FREE:
            continue
        edges = graph.setdefault(top, {})
        for local, name in includes(src, path):
            if local and "/" in name:
                dst = name.split("/", 1)[0]
                if dst != top:
                    edges[dst] = edges.get(dst, 0) + 1
    return graph


def find_cycle(graph):
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
            if not state.get(nxt):
                cyc = visit(nxt, stack + [nxt])
                if cyc:
                    return cyc
        state[node] = 2
        return None

    for node in sorted(graph):
        if not state.get(node):
            cyc = visit(node, [node])
            if cyc:
                return cyc
    return None


def check_tree(src):
    errors = []
    graph = folder_graph(src)
    for top, edges in sorted(graph.items()):
        if top not in ALLOWED:
            errors.append("%s/: a folder of C code the layout rules do not know: add it to "
                          "ALLOWED in tests/layout/check_layout.py and to docs/style.md" % top)
            continue
        for dst in sorted(edges):
            if dst not in ALLOWED[top] and dst not in FREE:
                errors.append("%s/ includes %s/ (%d lines): not allowed, %s/ may include %s" %
                              (top, dst, edges[dst], top,
                               ", ".join(sorted(ALLOWED[top])) or "only itself"))
            elif dst in FREE:
                errors.append("%s/ includes %s/: the product never includes test or bench code" %
                              (top, dst))
    cycle = find_cycle(graph)
    if cycle:
        errors.append("include cycle between folders: " + " -> ".join(cycle))

    seen_pending = set()
    for path in sources(src):
        base = os.path.basename(path)
        if base.endswith("-t.h"):
            for local, name in includes(src, path):
                if not local or name.endswith("-t.h"):
                    continue
                if (path, name) in T_H_PENDING:
                    seen_pending.add((path, name))
                    continue
                errors.append("%s includes %s: a -t.h header includes only other -t.h "
                              "headers and system headers" % (path, name))
        for local, name in includes(src, path):
            if local and name.endswith("-int.h"):
                owner = name.split("/", 1)[0]
                if not (path.startswith(owner + "/") or path.startswith("tests/%s/" % owner)):
                    errors.append("%s includes %s, private to %s/" % (path, name, owner))
    for (path, name), want in sorted(T_H_PENDING.items()):
        if (path, name) not in seen_pending:
            print("note: %s no longer includes %s: remove it from T_H_PENDING" % (path, name))
        else:
            print("note: %s still includes %s (should be %s)" % (path, name, want))
    return errors


def print_graph(src):
    graph = folder_graph(src)
    for top in sorted(graph, key=lambda t: (len(graph[t]), t)):
        edges = graph[top]
        print("%-10s -> %s" % (top, ", ".join("%s (%d)" % (d, edges[d]) for d in sorted(edges))
                               if edges else "(nothing)"))
    return []


def nm(paths):
    """[(object, kind, symbol)] of the global symbols the files define or
    reference."""
    syms = []
    for i in range(0, len(paths), 256):
        out = subprocess.run([os.environ.get("NM") or "nm", "-A", "-g"] + paths[i:i + 256],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit("nm failed: %s" % out.stderr.strip())
        for line in out.stdout.splitlines():
            # "lib.a:member.o:ADDR T name", "file.o:ADDR T name" or "file.o:  U name"
            head, _, rest = line.rpartition(":")
            parts = rest.split()
            if len(parts) >= 2:
                syms.append((head, parts[-2], parts[-1]))
    return syms


def check_exports(src, core, build):
    core = os.path.abspath(core)
    defs = {}
    uses = {}
    for obj, kind, name in nm([core]):
        if kind == "U":
            uses.setdefault(name, set()).add(obj)
        elif kind in "TDBRC" and not name.startswith("__") and "." not in name:
            # (names with "__" or "." are the compiler's and sanitizers')
            defs[name] = obj
    built = set()
    objects = []
    for root, dirs, names in os.walk(build):
        if "swarmspoa_core.dir" in root.split(os.sep):
            continue
        for n in names:
            if n.endswith(".o"):
                built.add(n[:-2])
                objects.append(os.path.join(root, n))
    for obj, kind, name in nm(sorted(objects)):
        if kind == "U":
            uses.setdefault(name, set()).add(obj)
    dead = {name: obj for name, obj in defs.items()
            if not (uses.get(name, set()) - {obj})}
    # sources whose objects are not in this build: their text counts
    for path in sources(src):
        top = path.split("/", 1)[0]
        if not path.endswith(".c") or (top not in FREE and path != "daemon/main.c"):
            continue
        if os.path.basename(path) in built:
            continue
        with open(os.path.join(src, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for name in list(dead):
            if re.search(r"\b%s\b" % re.escape(name), text):
                del dead[name]
    errors = []
    for name, path in sorted(EXPORTS_PENDING.items()):
        if name in dead:
            print("note: %s (%s) is still exported with no user" % (name, path))
            del dead[name]
        else:
            print("note: %s (%s) is no longer a dead export: remove it from EXPORTS_PENDING"
                  % (name, path))
    for name, obj in sorted(dead.items(), key=lambda kv: (kv[1], kv[0])):
        member = obj.rsplit(":", 1)[-1]
        errors.append("%s (%s) is exported but no other file or test uses it: make it "
                      "static or remove it" % (name, member))
    if not defs:
        errors.append("no symbol defined in %s" % core)
    return errors


def main(argv):
    if len(argv) >= 2 and argv[0] == "tree":
        errors = check_tree(argv[1])
    elif len(argv) >= 2 and argv[0] == "graph":
        errors = print_graph(argv[1])
    elif len(argv) >= 4 and argv[0] == "exports":
        errors = check_exports(argv[1], argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for e in errors:
        print("FAIL: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Checks on what the agents of the pair say, for the multinode tests.

  ... mn_agent_cmd <node> "show tasks <service> json" | mn_check.py tables \
        --ready web.1.abc,web.2.def [--agents 2]

Reads the answers of every agent (each after a line "== agent <task> on
<node>") and checks that each one lists exactly the given tasks as ready
(task names as the echo backend answers them, or bare task IDs), and that
at least --agents agents answered. Prints one line per agent; exits 1 on a
mismatch.

  ... mn_agent_cmd <node> "show tasks <service> json" | mn_check.py excluded \
        --task web.1.abc [--agents 2]

Prints, per agent, whether passive health excludes that task now (with the
reason and the end); exits 1 unless at least --agents agents answered and
every one of them excludes it.

  ... mn_agent_cmd <node> "show info json" | mn_check.py info --key docker_state
  ... mn_agent_cmd <node> "show stats json" | mn_check.py info --key total.healthchecks

Prints "<agent node> <value>" for each agent (a dotted key walks into
objects).
"""
import argparse
import json
import sys


def sections(text):
    """Yields (header, body) for each agent's answer."""
    header, body = None, []
    for line in text.splitlines():
        if line.startswith("== agent "):
            if header is not None:
                yield header, "\n".join(body)
            header, body = line[len("== agent "):], []
        else:
            body.append(line)
    if header is not None:
        yield header, "\n".join(body)


def tables(args, text):
    want = {t.rsplit(".", 1)[-1] for t in args.ready.split(",") if t}
    ok, answered = True, 0
    for header, body in sections(text):
        try:
            doc = json.loads(body.strip())
        except ValueError:
            print("%s: no answer (%s)" % (header, body.strip()[:80]))
            ok = False
            continue
        if "error" in doc:
            print("%s: %s" % (header, doc["error"]))
            ok = False
            continue
        answered += 1
        ready = {t["id"] for t in doc["tasks"] if t["ready"]}
        nodes = sorted({t["node"] for t in doc["tasks"] if t["ready"]})
        line = "%s: %d ready on %s" % (header, len(ready), ",".join(nodes))
        if ready != want:
            line += "; missing %s; unexpected %s" % (sorted(want - ready), sorted(ready - want))
            ok = False
        print(line)
    if answered < args.agents:
        print("%d agents answered, expected %d" % (answered, args.agents))
        ok = False
    return 0 if ok else 1


def excluded(args, text):
    want = args.task.rsplit(".", 1)[-1]
    ok, answered = True, 0
    for header, body in sections(text):
        try:
            doc = json.loads(body.strip())
            tasks = {t["id"]: t for t in doc["tasks"]}
        except (ValueError, KeyError, TypeError):
            print("%s: no answer (%s)" % (header, body.strip()[:80]))
            ok = False
            continue
        answered += 1
        t = tasks.get(want)
        if t is None:
            print("%s: task %s not listed" % (header, want))
            ok = False
        elif not t["excluded"]:
            print("%s: %s not excluded" % (header, want))
            ok = False
        else:
            print("%s: excluded until %s: %s" % (header, t["excluded"]["until"], t["excluded"]["reason"]))
    if answered < args.agents:
        print("%d agents answered, expected %d" % (answered, args.agents))
        ok = False
    return 0 if ok else 1


def info(args, text):
    for header, body in sections(text):
        try:
            value = json.loads(body.strip())
            for k in args.key.split("."):
                value = value.get(k) if isinstance(value, dict) else None
        except ValueError:
            value = "(no answer)"
        print("%s %s" % (header.rsplit(" on ", 1)[-1], value))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tables")
    t.add_argument("--ready", required=True)
    t.add_argument("--agents", type=int, default=2)
    e = sub.add_parser("excluded")
    e.add_argument("--task", required=True)
    e.add_argument("--agents", type=int, default=2)
    i = sub.add_parser("info")
    i.add_argument("--key", required=True)
    a = p.parse_args()
    text = sys.stdin.read()
    sys.exit({"tables": tables, "excluded": excluded, "info": info}[a.cmd](a, text))


if __name__ == "__main__":
    main()

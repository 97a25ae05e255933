#!/usr/bin/env python3
"""prom_check.py FILE - check a Prometheus text-format file the way a
scraper reads it (text exposition format 0.0.4): every sample belongs to a
family announced by exactly one "# HELP" and one "# TYPE" line before its
samples, a family's samples are together, no series appears twice, names
and labels are well formed, values are numbers, counters end in _total.
Exit 0 when the file is valid, 1 with the problems on stdout."""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(r"^(%s)(\{(%s(?:,%s)*)?\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$" % (NAME, LABEL, LABEL))


def check(lines):
    problems, helped, typed, types, seen, closed = [], set(), set(), {}, set(), set()
    current = None
    for no, line in enumerate(lines, 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
                problems.append("line %d: malformed %s" % (no, line))
                continue
            kind, name = parts[1], parts[2]
            done = helped if kind == "HELP" else typed
            if name in done:
                problems.append("line %d: second %s for %s" % (no, kind, name))
            done.add(name)
            if kind == "TYPE":
                if parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    problems.append("line %d: unknown type %s" % (no, parts[3]))
                types[name] = parts[3]
            if current is not None and current != name:
                closed.add(current)
            current = name
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append("line %d: not a sample: %s" % (no, line))
            continue
        name = m.group(1)
        if name not in helped or name not in typed:
            problems.append("line %d: %s has no HELP and TYPE before it" % (no, name))
        if name in closed:
            problems.append("line %d: %s samples are not together" % (no, name))
        if name != current:
            problems.append("line %d: %s sample inside the family %s" % (no, name, current))
        if types.get(name) == "counter" and not name.endswith("_total"):
            problems.append("line %d: counter %s does not end in _total" % (no, name))
        series = (name, m.group(2) or "")
        if series in seen:
            problems.append("line %d: series twice: %s%s" % (no, name, m.group(2) or ""))
        seen.add(series)
    if not seen:
        problems.append("no samples")
    return problems


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    problems = check(text.split("\n")[:-1] if text.endswith("\n") else ["(no final newline)"])
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

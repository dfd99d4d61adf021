"""mancheck: the man pages against the programs and the example configuration, for
tests/man.sh.

    mancheck.py PAGES EXAMPLE PROGRAM...

PAGES is a directory of every page (NAME.SECTION, mdoc), vpcfwd.conf.5 among them;
EXAMPLE is etc/example.conf; each PROGRAM is the path of an installed program. Checks:

- mandoc -Tlint -W style says nothing of any page, but "referenced manual not found"
  (whether a page another names is installed on this machine is no fault of the page:
  the references to vpcfwd's own pages are checked here instead, below);
- each page's .Dt names its file, and each page is a program's of the installed
  layout (LAYOUT) in its section, or vpcfwd.conf(5); every PROGRAM has its page;
- every .Xr to a vpcfwd page names one of the layout;
- every option of a program's usage (its --help and -h output: usage and option lines)
  is a .Fl of an item (.It) of its page,
  and every command word of the usage (the lowercase words after the program's name)
  a .Cm or .Ar of it;
- every setting of EXAMPLE (commented-out ones too), by group, is an item of its
  group's subsection of vpcfwd.conf(5).

One line a problem on stdout; exit 1 when there is any.
"""
import os
import re
import subprocess
import sys

# The installed layout (docs: issue 15): daemons in section 8, tools in section 1.
LAYOUT = {
    "vpcfwd-controller": 8, "vpcfwd-rule-store": 8, "vpcfwd-syncd": 8,
    "vpcfwd-learner": 8, "vpcfwd-forwarder": 8, "vpcfwd-supervise": 8,
    "vpcfwd-exporter": 8,
    "vpcfwdctl": 1, "vpcfwd-stat": 1, "vpcfwd-table": 1, "vpcfwd-keygen": 1,
    "vpcfwd-pki": 1,
}
CONF_PAGE = "vpcfwd.conf.5"
# Usages printed other than by -h and --help.
MORE_USAGE = {"vpcfwd-controller": [["--restore"]]}

problems = []


def problem(msg):
    problems.append(msg)
    print("mancheck: " + msg)


def lint(path):
    r = subprocess.run(["mandoc", "-Tlint", "-W", "style", path], capture_output=True,
                       text=True)
    for line in (r.stdout + r.stderr).splitlines():
        # The page's own messages start with its path; mandoc's notes on its database
        # (an outdated mandoc.db) do not.
        if not line.startswith("mandoc: %s:" % path):
            continue
        if "STYLE: referenced manual not found" in line:
            continue
        problem("lint: " + line)
    if r.returncode not in (0, 1, 2) or (r.returncode != 0 and not any(
            l.startswith("mandoc: %s:" % path) for l in (r.stdout + r.stderr).splitlines())):
        problem("lint: mandoc failed on %s (status %d): %s" % (path, r.returncode,
                                                                  r.stderr.strip()))


def check_page_names(pages, src):
    for name, text in sorted(src.items()):
        base, _, sect = name.rpartition(".")
        m = re.search(r"^\.Dt (\S+) (\d)", text, re.M)
        if not m or m.group(1) != base.upper() or m.group(2) != sect:
            problem("%s: .Dt must be %s %s" % (name, base.upper(), sect))
        if name != CONF_PAGE and LAYOUT.get(base) != int(sect or 0):
            problem("%s: no program of the installed layout in section %s" % (name, sect))
        for xr, xs in re.findall(r"^\.Xr (vpcfwd\S*) (\d)", text, re.M):
            if "%s.%s" % (xr, xs) != CONF_PAGE and LAYOUT.get(xr) != int(xs):
                problem("%s: .Xr %s %s names no page of vpcfwd" % (name, xr, xs))


def usage_of(prog):
    out = ""
    for args in [["--help"], ["-h"]] + MORE_USAGE.get(os.path.basename(prog), []):
        try:
            r = subprocess.run([prog] + args, capture_output=True, text=True, timeout=20,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            problem("%s %s did not end within 20 s" % (prog, " ".join(args)))
            continue
        out += r.stdout + r.stderr
    return out


def commands(name, usage):
    """Word sequences of usage after the program's name: its commands and operands."""
    found = set()
    for line in usage.splitlines():
        prev = None
        while prev != line:
            prev, line = line, re.sub(r"\[[^][]*\]", " ", line)
        toks = line.split()
        for i, t in enumerate(toks):
            if t != name:
                continue
            j, words = i + 1, []
            while j < len(toks) and re.fullmatch(r"[A-Z]+", toks[j]) and not words:
                j += 1	# an operand before the command (vpcfwd-pki DIR ca)
            while j < len(toks) and re.fullmatch(r"[a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)*",
                                                 toks[j]):
                words.append(toks[j])
                j += 1
            if len(words) == 1 and "|" in words[0]:
                found.update(words[0].split("|"))
            elif words:
                found.add(" ".join(words))
    return found


def check_program(prog, src):
    name = os.path.basename(prog)
    sect = LAYOUT.get(name)
    if sect is None:
        problem("%s: not in the installed layout (add it to LAYOUT with its section)" % name)
        return
    page = "%s.%d" % (name, sect)
    if page not in src:
        problem("%s: no page %s" % (name, page))
        return
    text = src[page]
    usage = usage_of(prog)
    if "usage" not in usage.lower():
        problem("%s: no usage from --help or -h: %r" % (name, usage[:200]))
    # Options are those of its usage lines and option lines (the others are prose,
    # which may name another program's); each is an item of the page (.It ... Fl X),
    # in its options or its commands: in the synopsis alone it is not explained.
    lines = [l for l in usage.splitlines()
             if re.match(r"\s*(usage:\s*)?%s(\s|$)" % re.escape(name), l) or
             re.match(r"\s*-", l)]
    items = [l for l in text.splitlines() if l.startswith(".It ")]
    for opt in sorted(set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", "\n".join(lines)))):
        fl = re.compile(r"\bFl %s(?=[\s,]|$)" % re.escape(opt[1:]))
        if not any(fl.search(l) for l in items):
            problem("%s: option %s of its usage is not an item of %s" % (name, opt, page))
    for words in sorted(commands(name, usage)):
        if not re.search(r"\b(Cm|Ar) %s(?=[\s,]|$)" % re.escape(words), text, re.M):
            problem("%s: %r of its usage is not in %s" % (name, words, page))


SETTING = re.compile(r"^([a-z_][a-z0-9_]*) = (.*)$")


def example_settings(path):
    """(group path, setting) of every setting of the example, commented out or not."""
    groups, out = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            while s.startswith("#"):
                s = s[1:].strip()
            if s in ("};", "}"):
                groups.pop()
                continue
            m = SETTING.match(s)
            if not m or not re.match(r'(\{|"|\[|-?[0-9]|true\b|false\b)', m.group(2)) or \
                    not re.search(r"[;{,]$", s):
                continue
            if m.group(2) == "{":
                groups.append(m.group(1))
            else:
                out.append((".".join(groups), m.group(1)))
    if groups:
        problem("%s: groups never closed: %s" % (path, groups))
    return out


def page_settings(text):
    """(subsection, item) of the SETTINGS section of vpcfwd.conf(5)."""
    out, sect, sub = set(), None, ""
    for line in text.splitlines():
        if line.startswith(".Sh "):
            sect, sub = line[4:].strip(), ""
        elif line.startswith(".Ss "):
            sub = line[4:].strip()
        elif sect == "SETTINGS":
            m = re.match(r"\.It Cm ([a-z_][a-z0-9_]*) No = ", line)
            if m:
                out.add((sub, m.group(1)))
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    pages, example, progs = argv[1], argv[2], argv[3:]
    src = {}
    for n in sorted(os.listdir(pages)):
        if re.fullmatch(r".+\.[158]", n):
            with open(os.path.join(pages, n), encoding="utf-8") as f:
                src[n] = f.read()
            lint(os.path.join(pages, n))
    if CONF_PAGE not in src:
        problem("no %s in %s" % (CONF_PAGE, pages))
    check_page_names(pages, src)
    for p in progs:
        check_program(p, src)
    want = example_settings(example)
    if len(want) < 50:
        problem("%s: only %d settings found: the parser is broken" % (example, len(want)))
    have = page_settings(src.get(CONF_PAGE, ""))
    for g, s in want:
        if (g, s) not in have:
            problem("%s: setting %s%s of %s is not in its subsection" %
                    (CONF_PAGE, g + "." if g else "", s, example))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

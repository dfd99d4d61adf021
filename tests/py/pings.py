"""pings: what a `ping -D` run saw, for the end-to-end tests.

    pings.py FILE INTERVAL [--since T] [--until T] [--last SECS] [--holes] [--interrupted]

FILE: the output of ping -n -D -i INTERVAL (a reply a line, "[<epoch>] 64 bytes from ...
icmp_seq=N ...", then the summary). Prints one line:

    sent S received R lost L gap G missing M

S and R from the summary and the replies (each sequence number once), L = S - R; G: the
longest time in ms without a reply, less one interval (0 for a run without loss): the
gaps between replies, and from the last reply to the end of the run when the last
requests were lost (the end: the last reply plus one interval for each request after
it); M: the requests lost, that is the sequence numbers missing between the replies
considered and after the last one. --since/--until (epoch seconds) consider only the
replies in that window, --last SECS those of the run's last SECS (from its last reply).
--holes prints, before the line, each run of lost requests: "hole SEQ1..SEQ2 (N lost)
from T1 to T2, G ms" (T1, T2: the replies around it). --interrupted: the run was ended
(SIGINT, or ping -w's deadline), so its last request may have had no time for an answer:
not counted as lost.
"""
import re
import sys


def main():
    args = sys.argv[1:]
    holes = "--holes" in args
    interrupted = "--interrupted" in args
    args = [a for a in args if a not in ("--holes", "--interrupted")]
    opts = {}
    for opt in ("--since", "--until", "--last"):
        if opt in args:
            i = args.index(opt)
            opts[opt] = float(args[i + 1])
            del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    text = open(args[0]).read()
    interval = float(args[1])
    replies = {}
    for t, seq in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)", text, re.M):
        replies.setdefault(int(seq), float(t))
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    if not m:
        sys.exit("pings: no summary in %s (did ping end?)" % args[0])
    sent = int(m.group(1))
    if interrupted and sent not in replies:
        sent -= 1
    got = sorted(replies.items())
    if "--last" in opts and got:
        opts["--since"] = got[-1][1] - opts["--last"]
    if "--since" in opts:
        got = [(s, t) for s, t in got if t >= opts["--since"]]
    if "--until" in opts:
        got = [(s, t) for s, t in got if t <= opts["--until"]]
    gap = 0.0
    missing = 0
    for (s1, t1), (s2, t2) in zip(got, got[1:]):
        if s2 - s1 > 1:
            missing += s2 - s1 - 1
            if holes:
                print("hole %d..%d (%d lost) from %.3f to %.3f, %.0f ms"
                      % (s1 + 1, s2 - 1, s2 - s1 - 1, t1, t2, (t2 - t1 - interval) * 1000))
            gap = max(gap, t2 - t1 - interval)
    if got and "--until" not in opts:
        last_seq, last_t = got[-1]
        # ping numbers from 1: requests after the last reply were lost
        tail = sent - last_seq
        if tail > 0:
            missing += tail
            gap = max(gap, tail * interval)
            if holes:
                print("hole %d..%d (%d lost) at the end, after %.3f"
                      % (last_seq + 1, sent, tail, last_t))
    if not got:
        gap = sent * interval
        missing = sent
    print("sent %d received %d lost %d gap %.0f missing %d" % (
        sent, len(replies), sent - len(replies), gap * 1000, missing))


main()

"""unitexec: run a program under what some systemd unit settings enforce, where systemd
itself cannot run (no systemd as PID 1), for tests/e2e/systemd_caps.sh.

    unitexec.py FAMILIES PROGRAM [ARG...]

FAMILIES is RestrictAddressFamilies='s allow-list, "AF_UNIX AF_INET ...". Then, in this
process, kept across the execve of PROGRAM:
    NoNewPrivileges=yes        prctl(PR_SET_NO_NEW_PRIVS)
    MemoryDenyWriteExecute=yes prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): the kernel
                               refuses memory both writable and executable, and making
                               memory executable, as systemd's seccomp filter does
    RestrictAddressFamilies=   a seccomp filter: socket() of another family fails with
                               EAFNOSUPPORT, as under systemd
    SystemCallArchitectures=native
                               the same filter kills a system call of another ABI
The capabilities are setpriv's (the caller runs PROGRAM = setpriv ...).
"""
import ctypes
import os
import socket
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
AUDIT_ARCH_X86_64 = 0xC000003E
NR_SOCKET = 41
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
EAFNOSUPPORT = 97
# classic BPF
LD_W_ABS = 0x20
JEQ_K = 0x15
RET_K = 0x06
# struct seccomp_data: nr, arch, instruction_pointer, args[6]
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16

FAMILIES = {"AF_UNIX": socket.AF_UNIX, "AF_INET": socket.AF_INET,
            "AF_INET6": socket.AF_INET6, "AF_NETLINK": 16, "AF_PACKET": 17,
            "AF_XDP": 44}


def die(msg):
    sys.exit("unitexec: " + msg)


def ins(code, k, jt=0, jf=0):
    return struct.pack("HBBI", code, jt, jf, k)


def seccomp_filter(families):
    n = len(families)
    prog = [
        ins(LD_W_ABS, OFF_ARCH),
        ins(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        ins(RET_K, SECCOMP_RET_KILL_PROCESS),
        ins(LD_W_ABS, OFF_NR),
        # x32 system calls are NR | 0x40000000 on the same arch: other than 41
        ins(JEQ_K, NR_SOCKET, 0, n + 2),
        ins(LD_W_ABS, OFF_ARG0),  # the family: the low half of args[0]
    ]
    for i, f in enumerate(families):
        # to the ALLOW at the end: past the other families and the ERRNO
        prog.append(ins(JEQ_K, f, n - i, 0))
    prog.append(ins(RET_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT))
    prog.append(ins(RET_K, SECCOMP_RET_ALLOW))
    return prog


def main():
    if os.uname().machine != "x86_64":
        die("x86_64 only")
    if len(sys.argv) < 3:
        die("usage: unitexec.py FAMILIES PROGRAM [ARG...]")
    fams = []
    for name in sys.argv[1].split():
        if name not in FAMILIES:
            die("unknown address family %s" % name)
        fams.append(FAMILIES[name])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]
    for what, args in (("PR_SET_NO_NEW_PRIVS", (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)),
                       ("PR_SET_MDWE", (PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0))):
        if libc.prctl(*args) != 0:
            die("%s: %s" % (what, os.strerror(ctypes.get_errno())))
    code = b"".join(seccomp_filter(fams))
    buf = ctypes.create_string_buffer(code, len(code))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Fprog(len(code) // 8, ctypes.addressof(buf))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        die("PR_SET_SECCOMP: " + os.strerror(ctypes.get_errno()))
    os.execvp(sys.argv[2], sys.argv[2:])


main()

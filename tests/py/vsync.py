"""vsync: the sync and learn protocol's version 4 header and MAC for the Python test tools
(tests/py/junk.py, tests/py/attack.py), from docs/protocol.md: the C codec is common/sync.c,
the keys and MAC common/auth.c. Only what the tests build: SYNC_REQ, LEARN, and reading
a SYNC_RESP's first section status.

    key = vsync.host_key(vsync.read_keys(PATH)[-1])           a host's key file
    key = vsync.derive(vsync.read_keys(SECRET)[-1], "host1")   a gateway's secret
    d = vsync.req([100], name="host1", key=key)                 a MACed SYNC_REQ
"""
import ctypes
import ctypes.util
import hashlib
import hmac
import os
import struct
import time

MAGIC = 0x5653
VERSION = 4
REQ, RESP, LEARN = 1, 2, 3
H_MAC = 0x01
NONCE_SIZE = 12
TAG_SIZE = 16
MAC_SIZE = NONCE_SIZE + TAG_SIZE  # the MAC field: nonce, then tag
HDR = struct.Struct("!HBBIBBBBQ")  # magic version type id key_id flags name_len pad ts
LABEL = b"vpcfwd host key"


def read_keys(path):
    """[(id, key bytes)] of a key file ("ID HEX" lines), oldest first."""
    keys = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                kid, hexkey = line.split()
                keys.append((int(kid), bytes.fromhex(hexkey)))
    return keys


def derive(secret, host):
    """A host's key from the cluster secret (HKDF-SHA256, no salt, one block)."""
    kid, ikm = secret
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    info = LABEL + host.encode()
    return kid, hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


_sodium = None


def _aes256gcm():
    """libsodium (vpcfwd links it, so it is here) through ctypes: no Python package."""
    global _sodium
    if _sodium is None:
        lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
        if lib.sodium_init() < 0 or not lib.crypto_aead_aes256gcm_is_available():
            raise RuntimeError("vsync: libsodium's AES-256-GCM is not available here")
        _sodium = lib
    return _sodium


def mac(key, data, nonce=None):
    """The MAC field of data: a nonce (random unless given) and AES-256-GCM's tag with
    data as additional data and nothing encrypted (AES-256-GMAC)."""
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    tag = ctypes.create_string_buffer(TAG_SIZE)
    none = ctypes.create_string_buffer(1)
    taglen = ctypes.c_ulonglong(0)
    if _aes256gcm().crypto_aead_aes256gcm_encrypt_detached(
            none, tag, ctypes.byref(taglen), none, ctypes.c_ulonglong(0), data,
            ctypes.c_ulonglong(len(data)), None, nonce, key) != 0:
        raise RuntimeError("vsync: crypto_aead_aes256gcm_encrypt_detached failed")
    return nonce + tag.raw


def header(typ, rid, name, key=None, ts=None, key_id=None):
    n = name.encode()
    kid = key_id if key_id is not None else (key[0] if key else 0)
    return HDR.pack(MAGIC, VERSION, typ, rid, kid, H_MAC if key else 0, len(n), 0,
                    time.time_ns() if ts is None else ts) + n


def seal(data, key):
    """data with its MAC appended (key: (id, bytes) or None: no MAC)."""
    return data + mac(key[1], data) if key else data


def req_body(vnis, wait=0, version=0):
    items = b"".join(struct.pack("!IIQQI", v, 0, version, 0, 0) for v in vnis)
    return struct.pack("!HBB", wait, len(vnis), 0) + items


def req(vnis, rid, name="", key=None, wait=0, version=0):
    return seal(header(REQ, rid, name, key) + req_body(vnis, wait, version), key)


def learn(vni, gen, upto, ip, vtep, version, name, key=None, ts=None, typ=LEARN, rid=0):
    """A LEARN of one rule (IPs as integers), its MAC the default 02:00:<ip>; with typ
    RESP, a SYNC_RESP of one such section answering request rid."""
    # one section: vni gen status flags nvtep pad nentries entries_len since upto
    vtepidx = b"\x00"
    entry = bytes([0x02 | 0x04]) + zigzag_varint(ip) + varint(version) + vtepidx
    sec = struct.pack("!IIBBBBHHQQ", vni, gen, 1, 0, 1, 0, 1, len(entry), 0, upto)
    body = struct.pack("!BBBB", 1, 0, 0, 0) + sec + entry + struct.pack("!I", vtep)
    return seal(header(typ, rid, name, key, ts) + body, key)


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zigzag_varint(d):
    return varint((d << 1) if d >= 0 else ((-d) << 1) - 1)


def parse(data):
    """(type, id, flags, name, ts, body) of a datagram's header, or None."""
    if len(data) < HDR.size:
        return None
    magic, ver, typ, rid, _, flags, nlen, _, ts = HDR.unpack_from(data)
    if magic != MAGIC or ver != VERSION:
        return None
    name = data[HDR.size:HDR.size + nlen].decode(errors="replace")
    end = len(data) - (MAC_SIZE if flags & H_MAC else 0)
    return typ, rid, flags, name, ts, data[HDR.size + nlen:end]


def learn_section(data):
    """(vni, gen, upto) of a LEARN's or SYNC_RESP's first section."""
    body = parse(data)[5]
    vni, gen = struct.unpack_from("!II", body, 4)
    return vni, gen, struct.unpack_from("!Q", body, 4 + 24)[0]


def first_status(data):
    """The status of a SYNC_RESP's first section."""
    return parse(data)[5][4 + 8]

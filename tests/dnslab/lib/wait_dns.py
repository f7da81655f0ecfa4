#!/usr/bin/python3
"""Waits until a DNS server answers NOERROR for NAME/SOA (and, if given, with that SOA serial).

usage: wait_dns.py [--pid PID] SECONDS ADDR PORT NAME [SERIAL]; exit 0 when it does, 1 on timeout
or as soon as process PID (the server that should answer) has died.
drill is no good for this: against a port nobody listens on yet it waits 15 s.
"""
import os
import socket
import struct
import sys
import time

SOA = 6


def query(name):
    qid = struct.unpack("!H", os.urandom(2))[0]
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.strip(".").split(".") if l)
    return qid, struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", SOA, 1)


def skip_name(msg, offset):
    while True:
        length = msg[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length
        if length == 0:
            return offset


def soa_serials(msg):
    qdcount, ancount = struct.unpack("!HH", msg[4:8])
    offset = 12
    for _ in range(qdcount):
        offset = skip_name(msg, offset) + 4
    for _ in range(ancount):
        offset = skip_name(msg, offset)
        rtype, _, _, rdlength = struct.unpack("!HHIH", msg[offset:offset + 10])
        offset += 10
        if rtype == SOA:
            rdata = skip_name(msg, skip_name(msg, offset))
            yield struct.unpack("!I", msg[rdata:rdata + 4])[0]
        offset += rdlength


def answers(addr, port, name, serial):
    qid, packet = query(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(packet, (addr, port))
            reply = sock.recv(4096)
        except OSError:  # refused (not bound yet) or timed out
            return False
    id_, flags = struct.unpack("!HH", reply[:4])
    if id_ != qid or flags & 0x000F != 0:
        return False
    return serial is None or serial in soa_serials(reply)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    pid = None
    if sys.argv[1] == "--pid":
        pid = int(sys.argv[2])
        del sys.argv[1:3]
    seconds, addr, port, name = float(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    serial = int(sys.argv[5]) if len(sys.argv) > 5 else None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(addr, port, name, serial):
            return 0
        if pid is not None and not alive(pid):
            return 1
        time.sleep(0.02)
    return 1


sys.exit(main())

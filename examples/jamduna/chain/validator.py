#!/usr/bin/env python3
"""Stand-in for the JAM DUNA validator binary, small enough to ship with the example.

It answers the two command lines the seed's start script uses:

    jamduna-bin list-keys -d DATA_DIR
    jamduna-bin --chain=spec.json -c local -d DATA_DIR run --pvm-backend B --dev-validator N

`run` reads the chain spec (every validator's index, address and port) and its own seed
(DATA_DIR/keys/seed_N), listens on its port, connects to every other validator, and exchanges
three line messages with each:

    HELLO <index> <public key> <genesis>   who I am, on which chain
    BLOCK <index> <hash>                   the first block, from the genesis and every key
    DONE <index>                           I have every peer's block and it matches mine

It exits 0 once all validators see each other and agree on the first block (the chain came
up), 2 on a disagreement, and 1 when that does not happen within JAM_STARTUP_TIMEOUT seconds
(default 300).
"""

import hashlib
import json
import os
import socket
import sys
import threading
import time


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def parse_args(argv):
    """Options (`--x=v`, `--x v`, `-x v`) and the command word (`run`, `list-keys`)."""
    opts, command, i = {}, None, 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            if "=" in arg:
                key, value = arg.split("=", 1)
            else:
                key, value = arg, argv[i + 1] if i + 1 < len(argv) else ""
                i += 1
            opts[key.lstrip("-")] = value
        elif command is None:
            command = arg
        i += 1
    return command, opts


def public_key(seed):
    return sha256(b"jam-validator-key:" + seed)[:32]


def list_keys(data_dir):
    keys = os.path.join(data_dir, "keys")
    for name in sorted(os.listdir(keys)):
        with open(os.path.join(keys, name), "rb") as f:
            print("%s: public key %s" % (name, public_key(f.read().strip())))
    return 0


class Peers:
    """What this validator heard from the others, guarded by one condition variable."""

    def __init__(self, expected):
        self.expected = expected
        self.cond = threading.Condition()
        self.hello, self.block, self.done = {}, {}, set()

    def record(self, line):
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            return
        kind, index = parts[0], int(parts[1])
        with self.cond:
            if kind == "HELLO" and len(parts) == 4:
                self.hello[index] = (parts[2], parts[3])
            elif kind == "BLOCK" and len(parts) == 3:
                self.block[index] = parts[2]
            elif kind == "DONE":
                self.done.add(index)
            self.cond.notify_all()

    def wait(self, what, ready, deadline):
        with self.cond:
            while not ready():
                left = deadline - time.time()
                if left <= 0:
                    print("timed out waiting for %s" % what, file=sys.stderr, flush=True)
                    sys.exit(1)
                self.cond.wait(min(left, 1.0))


def serve(listener, peers):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=read_lines, args=(conn, peers), daemon=True).start()


def read_lines(conn, peers):
    with conn, conn.makefile("r") as lines:
        for line in lines:
            peers.record(line)


def connect(address, port, deadline):
    while True:
        try:
            return socket.create_connection((address, port), timeout=5)
        except OSError:
            if time.time() > deadline:
                print("cannot reach %s:%d" % (address, port), file=sys.stderr, flush=True)
                sys.exit(1)
            time.sleep(0.2)


def run(opts):
    index = int(opts["dev-validator"])
    with open(opts["chain"], "rb") as f:
        raw = f.read()
    spec = json.loads(raw)
    genesis = sha256(raw)[:32]
    with open(os.path.join(opts["d"], "keys", "seed_%d" % index), "rb") as f:
        key = public_key(f.read().strip())
    me = [v for v in spec["validators"] if v["index"] == index]
    if not me:
        print("validator %d is not in the chain spec" % index, file=sys.stderr)
        return 1
    others = [v for v in spec["validators"] if v["index"] != index]
    deadline = time.time() + float(os.environ.get("JAM_STARTUP_TIMEOUT", "300"))

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((me[0]["address"], me[0]["port"]))
    listener.listen(len(others) + 1)
    peers = Peers(len(others))
    threading.Thread(target=serve, args=(listener, peers), daemon=True).start()
    print("validator %d (key %s) listening on %d, chain %s" % (index, key, me[0]["port"], spec["chain"]), flush=True)

    outs = [connect(v["address"], v["port"], deadline) for v in others]

    def send(line):
        for s in outs:
            s.sendall((line + "\n").encode())

    send("HELLO %d %s %s" % (index, key, genesis))
    peers.wait("every peer's hello", lambda: len(peers.hello) == len(others), deadline)
    foreign = sorted(i for i, (_, g) in peers.hello.items() if g != genesis)
    if foreign:
        print("validators %s run another chain" % foreign, file=sys.stderr)
        return 2
    keys = dict((i, k) for i, (k, _) in peers.hello.items())
    keys[index] = key
    block = sha256(("%s:%s" % (genesis, ",".join(keys[i] for i in sorted(keys)))).encode())[:32]
    print("validator %d sees %d peers; first block %s" % (index, len(others), block), flush=True)

    send("BLOCK %d %s" % (index, block))
    peers.wait("every peer's first block", lambda: len(peers.block) == len(others), deadline)
    differing = sorted(i for i, b in peers.block.items() if b != block)
    if differing:
        print("validators %s disagree on the first block" % differing, file=sys.stderr)
        return 2
    send("DONE %d" % index)
    peers.wait("every peer's agreement", lambda: len(peers.done) == len(others), deadline)
    for s in outs:
        s.close()
    print("validator %d: all %d validators agree on block %s" % (index, len(others) + 1, block), flush=True)
    return 0


def main():
    command, opts = parse_args(sys.argv[1:])
    if command == "list-keys":
        return list_keys(opts["d"])
    if command == "run":
        return run(opts)
    print("usage: jamduna-bin list-keys -d DIR | --chain=F -d DIR run --dev-validator N", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())

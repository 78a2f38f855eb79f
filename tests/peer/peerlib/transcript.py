"""peerlib.transcript - DIR/transcript.jsonl, one JSON record a line: written
by every connection thread under one lock (Transcript), read back by the
report (load)."""

import json
import os
import threading
import time


class Transcript:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.fp = open(path, "a", encoding="utf-8")
        self.seq = 0

    def write(self, conn, kind, **fields):
        with self.lock:
            self.seq += 1
            rec = {"seq": self.seq, "t": round(time.time(), 3), "conn": conn, "kind": kind}
            rec.update(fields)
            self.fp.write(json.dumps(rec, sort_keys=False) + "\n")
            self.fp.flush()

    def close(self):
        with self.lock:
            self.fp.close()


def load(outdir):
    recs = []
    with open(os.path.join(outdir, "transcript.jsonl"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs

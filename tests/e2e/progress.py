#!/usr/bin/env python3
"""Training progress: on a terminal (a pseudo-terminal here) one bar redrawn in place, with a
rate and an ETA; into a pipe plain lines, one per evaluation with --progress-interval 0, the
first and last always; nothing with --quiet.
usage: progress.py GROKKIT_BINARY PIPELINE"""
import os
import pty
import re
import subprocess
import sys
import tempfile


def on_terminal(cmd):
    """Runs cmd with stdout and stderr on a pseudo-terminal; returns everything it wrote."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait() == 0, out[-500:]
    return out.decode()


def main(grokkit, pipeline):
    with tempfile.TemporaryDirectory() as tmp:
        base = [grokkit, "run", pipeline, "--out", os.path.join(tmp, "r.h5"), "--force"]
        # Long by its step count, so the 10-per-second bar redraws several times.
        out = on_terminal(base + ["--set", "train.steps=20000"])
        redraws = out.count("\r\x1b[2K")
        assert redraws >= 3, f"{redraws} redraws: {out[:300]!r}"
        frames = [f for f in out.split("\r\x1b[2K") if f.startswith("[")]
        assert all(re.match(r"\[[#.]{24}\] +\d+% step +\d+/20000", f) for f in frames), frames[:3]
        assert any("ETA " in f and "steps/s" in f for f in frames), frames[-3:]
        assert frames[-1].startswith("[########################] 100% step   20000/20000")
        assert "\nrun file: " in out.replace("\r\n", "\n"), out[-300:]
        print(f"terminal: {redraws} redraws in place, last: {frames[-1][:90]}")

        piped = subprocess.run(base + ["--progress-interval", "0"], capture_output=True,
                               text=True, check=True).stdout
        assert "\r" not in piped and "\x1b" not in piped
        lines = [l for l in piped.splitlines() if l.startswith("step ")]
        assert len(lines) == 61, len(lines)  # steps 0, 10, ..., 600
        assert lines[0].startswith("step       0/600") and lines[-1].startswith("step     600/600")
        assert all("steps/s" in l and "ETA" in l for l in lines[1:]), lines[1]
        throttled = subprocess.run(base, capture_output=True, text=True, check=True).stdout
        n = len([l for l in throttled.splitlines() if l.startswith("step ")])
        assert 2 <= n <= 61, n  # the first and the last, and one a second between them
        quiet = subprocess.run(base + ["--quiet"], capture_output=True, text=True, check=True)
        assert not any(l.startswith("step ") for l in quiet.stdout.splitlines())
        print(f"pipe: {len(lines)} plain lines at every evaluation, {n} at the default interval; "
              "none with --quiet")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

#!/usr/bin/env python3
"""SIGKILLs a run again and again, resumes it each time, and requires the final file to have the
same contents as an uninterrupted run (compare_runs.py).

Each kill is triggered by an event, not by the clock: the run's progress line for a chosen step
(every 10 steps, printed after that step's metrics are appended). The kill then lands wherever
the run has got to while the line travelled: inside an update, a metrics or a checkpoint
write. The first kill comes on the step-0 line, around the first checkpoint's commit.
usage: kill_resume.py GROKKIT_BINARY PIPELINE"""
import os
import re
import signal
import subprocess
import sys
import tempfile

STEPS = 4000
KILL_AT = [0, 130, 420, 760, 1210, 1650, 2080, 2540, 3010, 3470]  # progress-line steps
PROGRESS = re.compile(rb"^step +(\d+)/")


def run_until(grokkit, pipeline, out, resume, kill_at):
    """Runs grokkit; SIGKILLs it at the first progress line with step >= kill_at. Returns
    whether it was killed, and the last step it printed."""
    cmd = [grokkit, "run", pipeline, "--set", f"train.steps={STEPS}", "--out", out,
           "--progress-interval", "0"]  # a line at every evaluation: the events to kill on
    if resume:
        cmd.append("--resume")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    last = None
    for line in proc.stdout:
        m = PROGRESS.match(line)
        if m:
            last = int(m.group(1))
            if last >= kill_at:
                proc.send_signal(signal.SIGKILL)
                break
    proc.stdout.close()
    err = proc.stderr.read().decode()
    rc = proc.wait()
    if rc == -signal.SIGKILL:
        return True, last
    if rc != 0:
        sys.exit(f"FAIL: grokkit exited with {rc} (resume={resume}): {err}")
    return False, last


def main(grokkit, pipeline):
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        reference = os.path.join(tmp, "reference.h5")
        killed = os.path.join(tmp, "killed.h5")
        subprocess.run([grokkit, "run", pipeline, "--set", f"train.steps={STEPS}", "--out",
                        reference, "--quiet"], check=True, stdout=subprocess.DEVNULL)
        kills = []
        for target in KILL_AT:
            was_killed, last = run_until(grokkit, pipeline, killed, os.path.exists(killed),
                                         target)
            if not was_killed:
                sys.exit(f"FAIL: the run finished (last step {last}) before step {target}")
            kills.append(last)
        was_killed, _ = run_until(grokkit, pipeline, killed, True, STEPS + 1)
        assert not was_killed
        print(f"killed the run {len(kills)} times, on the progress lines of steps {kills}")
        rc = subprocess.call([sys.executable, os.path.join(here, "compare_runs.py"), reference,
                              killed])
        if rc != 0:
            return rc
        import h5py
        with h5py.File(killed, "r") as f:
            print("resume_count", f.attrs["resume_count"])
            # A kill on the step-0 line may land before the first checkpoint is committed; the
            # next run then starts afresh, so not every kill leaves a resume.
            assert f.attrs["resume_count"] >= len(KILL_AT) - 1, f.attrs["resume_count"]
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

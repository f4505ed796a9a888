#!/usr/bin/env python3
"""End-to-end tests of `grokkit sweep`: real child processes, real run files, the index read in
h5py and checked against the run files themselves.

usage: sweep.py GROKKIT PIPELINE MODE
  basics   a 2x2 sweep: the index against the run files, a re-run that runs nothing, --status,
           bad input, a failed point retried only with --retry-failed
  kill     SIGKILLs a sweep (the whole process group with points held by the test hook inside
           a checkpoint or at a metrics row, then only the sweep process), SIGTERMs it with
           points mid-run, re-runs it, and compares every point with an uninterrupted sweep
  mpi      the same sweep under `mpirun -np 2 --oversubscribe` equals the local one
  mpi_kill SIGKILLs MPI rank 1 with both ranks held mid-point, re-runs the sweep under mpirun,
           and compares every point with the local sweep
  slurm    the emitted sbatch script: each array task's command run locally with
           SLURM_ARRAY_TASK_ID set, then --collect; then for real on a single-node Slurm
           started here (SKIPPED with the reason when its daemons cannot start)

Every wait is on an event (a line, a lock, a process's exit), never on the clock."""
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GRID = ["--grid", "model.hidden=[32],[48]"]
SEEDS = ["--seeds", "0..1"]
SETS = ["--set", "train.steps=300"]
DONE_LINE = re.compile(r"^\[\d+/\d+.*\] ([0-9a-f]{16}) .*: done")
VOLATILE = {"wall_seconds", "resume_count"}  # index columns that record how a point ran


def run(cmd, expect=0, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                 f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def read_index(path):
    with h5py.File(path, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        cols = {}
        def take(name, obj):
            if isinstance(obj, h5py.Dataset):
                cols[name] = obj.asstr()[:] if obj.dtype.kind == "O" else obj[()]
        f["points"].visititems(take)
    return attrs, cols


def first_reaching(steps, values, threshold):
    hit = np.nonzero(values >= threshold)[0]
    return int(steps[hit[0]]) if len(hit) else -1


def check_index_against_runs(sweep_dir, n_points, statuses=("done",)):
    """Each row of the index says what its run file says, recomputed here from the metrics."""
    attrs, cols = read_index(os.path.join(sweep_dir, "index.h5"))
    assert len(cols["hash"]) == n_points, (len(cols["hash"]), n_points)
    assert len(set(cols["hash"])) == n_points, "two points share a hash"
    threshold, ratio = attrs["accuracy_threshold"], attrs["grokking_ratio"]
    for i, h in enumerate(cols["hash"]):
        assert cols["status"][i] in statuses, (h, cols["status"][i])
        assert cols["run_file"][i] == f"points/{h}/run.h5", cols["run_file"][i]
        if cols["status"][i] != "done":
            continue
        with h5py.File(os.path.join(sweep_dir, cols["run_file"][i]), "r") as f:
            m = {k: f["metrics"][k][()] for k in f["metrics"]}
            resolved = f["pipeline_resolved"].asstr()[()]
        assert f"seed = {cols['seed'][i]}" in resolved, resolved
        assert "threads = 1" in resolved, "the sweep fixes each point's thread count"
        mem = first_reaching(m["step"], m["train_accuracy"], threshold)
        gen = first_reaching(m["step"], m["test_accuracy"], threshold)
        assert cols["memorisation_step"][i] == mem, (h, cols["memorisation_step"][i], mem)
        assert cols["generalisation_step"][i] == gen, (h, cols["generalisation_step"][i], gen)
        assert cols["grokking_delay"][i] == (gen - mem if mem >= 0 and gen >= 0 else -1)
        for key in ("train_accuracy", "test_accuracy", "train_loss", "test_loss"):
            assert cols["final_" + key][i] == m[key][-1], (h, key)
        phase = ("confusion" if mem < 0 else "memorisation" if gen < 0 else
                 "comprehension" if gen <= ratio * mem else "grokking")
        assert cols["phase"][i] == phase, (h, cols["phase"][i], phase)
        assert cols["last_step"][i] == m["step"][-1] == cols["steps"][i]
    return cols


def digests(sweep_dir):
    """sha256 of every point's run file, by hash."""
    out = {}
    for h in sorted(os.listdir(os.path.join(sweep_dir, "points"))):
        path = os.path.join(sweep_dir, "points", h, "run.h5")
        if os.path.exists(path):
            with open(path, "rb") as f:
                out[h] = hashlib.sha256(f.read()).hexdigest()
    return out


def complete_points(sweep_dir):
    done = set()
    for h in os.listdir(os.path.join(sweep_dir, "points")):
        path = os.path.join(sweep_dir, "points", h, "run.h5")
        try:
            with h5py.File(path, "r") as f:
                if f["run/status"].asstr()[()] == "complete":
                    done.add(h)
        except (OSError, KeyError):
            pass  # not there yet, or killed before its first commit
    return done


def same_points(left, right):
    """Every point of `left` has a run file identical to the one in `right` (compare_runs)."""
    hashes = sorted(os.listdir(os.path.join(left, "points")))
    assert hashes == sorted(os.listdir(os.path.join(right, "points"))), "different points"
    for h in hashes:
        p = subprocess.run([sys.executable, os.path.join(HERE, "compare_runs.py"),
                            os.path.join(left, "points", h, "run.h5"),
                            os.path.join(right, "points", h, "run.h5")],
                           capture_output=True, text=True)
        assert p.returncode == 0, f"point {h} differs between {left} and {right}:\n{p.stdout}"
    la, lc = read_index(os.path.join(left, "index.h5"))
    ra, rc_ = read_index(os.path.join(right, "index.h5"))
    for k in lc:
        if k.split("/")[-1] not in VOLATILE:
            assert np.array_equal(lc[k], rc_[k]), f"index column {k} differs"
    return len(hashes)


def sweep_cmd(grokkit, pipeline, out, *extra):
    return [grokkit, "sweep", pipeline, *GRID, *SEEDS, *SETS, "--out", out, *extra]


def basics(grokkit, pipeline, tmp):
    out = os.path.join(tmp, "s")
    p = run(sweep_cmd(grokkit, pipeline, out, "--jobs", "2"))
    assert len([l for l in p.stdout.splitlines() if DONE_LINE.match(l)]) == 4, p.stdout
    cols = check_index_against_runs(out, 4)
    assert sorted(cols["grid/model.hidden"]) == ["[32]", "[32]", "[48]", "[48]"]
    print("index: 4 points, each row matches its run file")

    # The throughput mode's promise: a point's file is the one the same run alone would write.
    i = list(cols["seed"]).index(1)
    alone = os.path.join(tmp, "alone.h5")
    sets = [a for kv in SETS[1::2] + re.split(r" (?=[\w.]+=)", cols["overrides"][i])
            for a in ("--set", kv)]
    run([grokkit, "run", pipeline, *sets, "--out", alone, "--quiet"])
    point_file = os.path.join(out, "points", cols["hash"][i], "run.h5")
    assert subprocess.call([sys.executable, os.path.join(HERE, "compare_runs.py"), point_file,
                            alone]) == 0, "a sweep point differs from the same run alone"
    print(f"point {cols['overrides'][i]}: identical to `grokkit run` alone with its overrides")

    before = digests(out)
    p = run(sweep_cmd(grokkit, pipeline, out))
    assert not any(DONE_LINE.match(l) for l in p.stdout.splitlines()), p.stdout
    assert "4 done of 4" in p.stdout, p.stdout
    assert digests(out) == before, "a re-run touched a finished point's file"
    run([grokkit, "sweep", out])  # the directory alone defines the sweep
    assert digests(out) == before
    print("re-running the sweep (by its pipeline and by its directory) ran nothing")

    status = run([grokkit, "sweep", "--status", out]).stdout
    assert "4 done of 4" in status and "grid: model.hidden" in status, status

    # Bad input: exit 2, a message naming what is wrong, nothing written.
    bad = os.path.join(tmp, "bad")
    for args, words in [(["--grid", "model.hiden=[1],[2]"], "model.hiden"),
                        (["--grid", "model.hidden"], "model.hidden"),
                        (["--grid", "train.steps=ten"], "train.steps"),
                        (GRID + ["--seeds", "3..1"], "3..1"),
                        (GRID + ["--threads", "0"], "threads")]:
        cmd = [grokkit, "sweep", pipeline, *args, "--out", bad]
        p = run(cmd, expect=2)
        assert words in p.stderr, (cmd, p.stderr)
        assert not os.path.exists(bad), f"{cmd} wrote {bad}"
    p = run(sweep_cmd(grokkit, pipeline, out, "--set", "train.steps=400"), expect=2)
    assert "sweep" in p.stderr, p.stderr
    assert digests(out) == before, "a refused different sweep touched the directory"
    print("bad grids, seeds and thread counts, and another sweep in the same directory: exit 2")

    # A point whose file is junk fails with its error, and waits for --retry-failed.
    victim = sorted(before)[0]
    junk = os.path.join(out, "points", victim, "run.h5")
    first = os.path.join(tmp, "first.h5")
    shutil.copy(junk, first)
    with open(junk, "wb") as f:
        f.write(b"not an HDF5 file" * 64)
    p = run([grokkit, "sweep", out], expect=1)
    assert "--retry-failed" in p.stdout, p.stdout
    failed_txt = os.path.join(out, "points", victim, "failed.txt")
    with open(failed_txt) as f:
        reason = f.read()
    assert "error" in reason, reason
    cols = check_index_against_runs(out, 4, statuses=("done", "failed"))
    i = list(cols["hash"]).index(victim)
    assert cols["status"][i] == "failed" and cols["error"][i].strip(), cols["error"][i]
    assert victim in run([grokkit, "sweep", "--status", out]).stdout
    mtime = os.stat(failed_txt).st_mtime_ns
    run([grokkit, "sweep", out], expect=1)
    assert os.stat(failed_txt).st_mtime_ns == mtime, "a failed point ran without --retry-failed"
    os.remove(junk)
    run([grokkit, "sweep", out, "--retry-failed"])
    assert not os.path.exists(failed_txt)
    check_index_against_runs(out, 4)
    assert subprocess.call([sys.executable, os.path.join(HERE, "compare_runs.py"), first, junk],
                           stdout=subprocess.DEVNULL) == 0, "the retried point differs"
    print("a failed point: recorded with its error, skipped, then retried with --retry-failed")


def run_until_done_lines(cmd, n_lines, kill_group):
    """Starts a sweep and SIGKILLs it (its whole process group, or the sweep process alone)
    once it has printed n_lines 'done' lines. Returns the hashes it printed as done, and
    whether it was killed (False: it ended first)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    done = []
    for line in proc.stdout:
        m = DONE_LINE.match(line)
        if m:
            done.append(m.group(1))
            if len(done) >= n_lines:
                if kill_group:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.send_signal(signal.SIGKILL)
                break
    proc.stdout.close()
    rc = proc.wait()
    err = proc.stderr.read()
    proc.stderr.close()
    if rc not in (0, -signal.SIGKILL):
        sys.exit(f"FAIL: sweep exited {rc}: {err}")
    return done, rc == -signal.SIGKILL


def start_held(cmd, out, event, n_held, release=None):
    """Starts a sweep whose points are held by the test hook (GROKKIT_TEST_HOLD=event, which
    every point's process inherits; released when the file `release` appears, if given) and
    returns it once n_held points have printed the hook's line into their logs."""
    env = dict(os.environ, GROKKIT_TEST_HOLD=event)
    env.pop("GROKKIT_TEST_RELEASE", None)
    if release:
        env["GROKKIT_TEST_RELEASE"] = release
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env)
    line = "grokkit: test hook holding at " + event.replace(":", " ")
    points = os.path.join(out, "points")
    while True:
        held = 0
        for h in os.listdir(points) if os.path.isdir(points) else []:
            log = os.path.join(points, h, "log.txt")
            if os.path.exists(log) and line in open(log, errors="replace").read():
                held += 1
        if held >= n_held:
            return proc
        if proc.poll() is not None:
            sys.exit(f"FAIL: the sweep ended ({proc.returncode}) before {n_held} points held "
                     f"at {event}: {proc.stderr.read()}")
        time.sleep(0.01)  # polling the logs for the line: an event, not a timed wait


def run_until_held(cmd, out, event, n_held):
    """SIGKILLs the whole process group of a sweep once n_held points are held at `event`:
    each such point is killed mid-run exactly there."""
    proc = start_held(cmd, out, event, n_held)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()


def wait_for_locks(sweep_dir):
    """Blocks until no process holds a point's lock (the children of a killed sweep have
    checkpointed and ended)."""
    for h in os.listdir(os.path.join(sweep_dir, "points")):
        lock = os.path.join(sweep_dir, "points", h, "lock")
        if os.path.exists(lock):
            with open(lock) as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                fcntl.flock(f, fcntl.LOCK_UN)


def term_while_running(cmd, out, tmp):
    """SIGTERM, as Slurm sends before preempting, just as two points held at a metrics row are
    released (so both are mid-run): the sweep stops its points (they checkpoint), writes the
    index and exits 130; nothing is marked failed. Returns the hashes reported done."""
    release = os.path.join(tmp, "release")
    proc = start_held(cmd, out, "metric_row:15", 2, release)
    open(release, "w").close()
    proc.send_signal(signal.SIGTERM)
    stdout, err = proc.communicate()
    os.remove(release)
    reported = [m.group(1) for m in map(DONE_LINE.match, stdout.splitlines()) if m]
    assert proc.returncode == 130, f"SIGTERM: exit {proc.returncode}: {err}"
    _, cols = read_index(os.path.join(out, "index.h5"))
    assert "failed" not in list(cols["status"]), list(cols["status"])
    assert "interrupted" in list(cols["status"]), list(cols["status"])
    print(f"SIGTERM: exit 130, statuses {sorted(set(cols['status']))}")
    return reported


def kill(grokkit, pipeline, tmp):
    # Longer points than the basics', so that kills land mid-run; 6 points, 2 at a time.
    extra = ["--set", "train.steps=1500", "--grid", "train.lr=3e-3,2e-3,1e-3", "--jobs", "2"]
    ref = os.path.join(tmp, "reference")
    run([grokkit, "sweep", pipeline, *GRID, "--seeds", "0", *extra, "--out", ref, "-q"])
    out = os.path.join(tmp, "killed")
    cmd = [grokkit, "sweep", pipeline, *GRID, "--seeds", "0", *extra, "--out", out]
    finished = {}  # hash -> sha256 of its run file when it was first seen complete
    reported = []

    def check_finished_unchanged():
        wait_for_locks(out)
        now = digests(out)
        for h in complete_points(out):
            if h in finished:
                assert now[h] == finished[h], f"finished point {h} was written again"
            finished.setdefault(h, now[h])

    # Kill the process group while both running points are held inside their second
    # checkpoint; SIGTERM the next run as two held points are released; kill the sweep alone on
    # the next one's first; then the group while two points are held at a metrics row. Each
    # re-run continues the sweep. The held kills land mid-point whatever the machine's speed.
    run_until_held(cmd, out, "checkpoint_data:2", 2)
    check_finished_unchanged()
    print(f"killed the process group with 2 points held inside a checkpoint")
    reported += term_while_running(cmd, out, tmp)
    done, killed = run_until_done_lines(cmd, 1, False)
    reported += done
    if killed:
        check_finished_unchanged()
        print(f"killed the sweep process after {len(done)} point(s) done; "
              f"{len(finished)} of 6 complete")
    if len(complete_points(out)) <= 4:
        run_until_held(cmd, out, "metric_row:20", 2)
        check_finished_unchanged()
        print(f"killed the process group with 2 points held at a metrics row; "
              f"{len(finished)} of 6 complete")
    done, killed = run_until_done_lines(cmd, 10**6, True)
    reported += done
    assert not killed
    assert len(reported) == len(set(reported)), f"a point was reported done twice: {reported}"
    now = digests(out)
    for h, d in finished.items():
        assert now[h] == d, f"finished point {h} was written again"
    n = same_points(ref, out)
    check_index_against_runs(out, 6)
    _, cols = read_index(os.path.join(out, "index.h5"))
    print(f"{n} points bit-identical to the uninterrupted sweep; resumes per point: "
          f"{list(cols['resume_count'])}")
    assert max(cols["resume_count"]) >= 1, "no point was ever resumed: the kills missed"


def mpi_setup(grokkit, pipeline, tmp):
    """The local reference sweep of the MPI tests (3 seeds of GRID), OpenMPI allowed to run as
    root and oversubscribe; returns it, the ranked sweep's directory and its mpirun command."""
    mpirun = shutil.which("mpirun")
    if not mpirun:
        sys.exit("FAIL: mpirun not found (scripts/install-deps installs openmpi-bin)")
    extra = ["--seeds", "0..2"]
    local = os.path.join(tmp, "local")
    run([grokkit, "sweep", pipeline, *GRID, *extra, *SETS, "--out", local, "-q"])
    os.environ.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                      OMPI_MCA_rmaps_base_oversubscribe="1")
    ranked = os.path.join(tmp, "mpi")
    cmd = [mpirun, "-np", "2", "--oversubscribe", grokkit, "sweep", pipeline, *GRID, *extra,
           *SETS, "--out", ranked]
    return local, ranked, cmd


def mpi(grokkit, pipeline, tmp):
    local, ranked, cmd = mpi_setup(grokkit, pipeline, tmp)
    p = run(cmd)
    assert "2 MPI ranks" in p.stdout, p.stdout
    assert p.stdout.count("6 done of 6") == 1, "only rank 0 speaks: " + p.stdout
    check_index_against_runs(ranked, 6)
    n = same_points(local, ranked)
    ranks = {}
    for h in os.listdir(os.path.join(ranked, "points")):
        with open(os.path.join(ranked, "points", h, "log.txt")) as f:
            m = re.search(r"attempt by MPI rank (\d) of 2", f.read())
        assert m, f"point {h}'s log does not say which rank ran it"
        ranks[m.group(1)] = ranks.get(m.group(1), 0) + 1
    print(f"mpirun -np 2: {n} points identical to the local sweep; points per rank: {ranks}")
    assert set(ranks) == {"0", "1"}, f"both ranks run points: {ranks}"


def mpi_rank_processes(mpirun_pid, rank):
    """The `grokkit sweep` processes of MPI rank `rank` under the mpirun `mpirun_pid` (its point
    children are `grokkit run` and are left alone)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and argv[1] == b"sweep" and os.path.basename(argv[0]) == b"grokkit" \
                and f"OMPI_COMM_WORLD_RANK={rank}".encode() in environ:
            found.append(int(pid))
    return found


def mpi_kill(grokkit, pipeline, tmp):
    """SIGKILL of MPI rank 1 while each rank is held mid-point (the test hook, at a metrics
    row): mpirun ends the job, the points checkpoint, and running the sweep again (under mpirun)
    completes every point bit-identical to an uninterrupted local sweep."""
    local, ranked, cmd = mpi_setup(grokkit, pipeline, tmp)
    release = os.path.join(tmp, "release")
    proc = start_held(cmd, ranked, "metric_row:15", 2, release)
    victims = mpi_rank_processes(proc.pid, 1)
    assert len(victims) == 1, f"rank 1's sweep process: {victims}"
    os.kill(victims[0], signal.SIGKILL)
    open(release, "w").close()  # the held points go on, see the stop, and checkpoint
    _, err = proc.communicate()
    assert proc.returncode != 0, "mpirun ended 0 with a rank killed"
    wait_for_locks(ranked)
    # Rank 0 may finish its point (and more) before mpirun ends it: those must stay as they are.
    finished = {h: d for h, d in digests(ranked).items() if h in complete_points(ranked)}
    print(f"killed rank 1 (pid {victims[0]}) with both ranks mid-point: mpirun exited "
          f"{proc.returncode}; {len(finished)} point(s) complete")
    os.remove(release)
    p = run(cmd)  # the same sweep again, as a requeued job would
    assert "6 done of 6" in p.stdout, p.stdout
    check_index_against_runs(ranked, 6)
    now = digests(ranked)
    for h, d in finished.items():
        assert now[h] == d, f"point {h}, complete before the re-run, was written again"
    n = same_points(local, ranked)
    _, cols = read_index(os.path.join(ranked, "index.h5"))
    resumed = sum(1 for c in cols["resume_count"] if c >= 1)
    assert resumed >= 1, f"no point was resumed: {list(cols['resume_count'])}"
    print(f"re-run: {n} points identical to the local sweep, {resumed} of them resumed")


def slurm(grokkit, pipeline, tmp):
    # 1. The emitted script's command, run by hand for each array task, then --collect.
    out = os.path.join(tmp, "tasks")
    script = os.path.join(tmp, "sweep.sbatch")
    run(sweep_cmd(grokkit, pipeline, out, "--emit-slurm", script, "--shards", "3",
                  "--slurm-option", "--time=00:10:00"))
    with open(script) as f:
        text = f.read()
    assert "#SBATCH --array=0-2" in text and "#SBATCH --time=00:10:00" in text, text
    assert "#SBATCH --requeue" in text and "#SBATCH --cpus-per-task=1" in text, text
    assert not os.path.exists(os.path.join(out, "points")), "--emit-slurm ran points"
    for task in range(3):
        env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task), SLURM_ARRAY_JOB_ID="local")
        p = run(["bash", script], env=env)
        assert f"shard {task}/3" in p.stdout, p.stdout
    assert not os.path.exists(os.path.join(out, "index.h5")), "a task wrote the index"
    run([grokkit, "sweep", "--collect", out])
    check_index_against_runs(out, 4)
    reference = os.path.join(tmp, "reference")
    run(sweep_cmd(grokkit, pipeline, reference, "-q"))
    same_points(reference, out)
    print("3 array tasks run by hand, then --collect: the same 4 points as a local sweep")

    # 2. The same script submitted to a real single-node Slurm.
    state = os.path.join(tmp, "cluster")
    helper = os.path.join(HERE, "slurm-local.sh")
    start = subprocess.run(["bash", helper, "start", state], capture_output=True, text=True)
    if start.returncode != 0:
        reason = (start.stdout.strip() or start.stderr.strip() or "slurm-local.sh failed")
        print(reason if reason.startswith("SKIPPED") else f"SKIPPED: {reason}")
        return
    try:
        conf = start.stdout.strip().split("=", 1)[1]
        env = dict(os.environ, SLURM_CONF=conf)
        out = os.path.join(tmp, "cluster-sweep")
        script = os.path.join(tmp, "cluster.sbatch")
        run(sweep_cmd(grokkit, pipeline, out, "--emit-slurm", script, "--shards", "2"))
        # --wait: sbatch returns when every array task has ended. Then check the outputs,
        # not the job state (a job that never ran can be reported COMPLETED).
        p = run(["sbatch", "--wait", "--parsable", script], env=env)
        job = p.stdout.strip().split(";")[0]
        run([grokkit, "sweep", "--collect", out])
        logs = ""
        slurm_dir = os.path.join(out, "slurm")
        for name in sorted(os.listdir(slurm_dir)):
            with open(os.path.join(slurm_dir, name)) as f:
                logs += f"--- {name}\n" + f.read()
        cols = check_index_against_runs(out, 4, statuses=("done", "pending", "failed"))
        assert list(cols["status"]) == ["done"] * 4, f"{list(cols['status'])}\n{logs}"
        assert "shard 0/2" in logs and "shard 1/2" in logs, logs
        same_points(reference, out)
        print(f"sbatch on a single-node Slurm (job {job}): 2 array tasks ran the 4 points, "
              "identical to the local sweep")
    finally:
        subprocess.run(["bash", helper, "stop", state])


def main(grokkit, pipeline, mode):
    keep = os.environ.get("GROKKIT_TEST_KEEP")  # a directory to keep the sweeps in
    if keep:
        shutil.rmtree(keep, ignore_errors=True)
        os.makedirs(keep)
    with tempfile.TemporaryDirectory() as scratch:
        tmp = keep or scratch
        modes = {"basics": basics, "kill": kill, "mpi": mpi, "mpi_kill": mpi_kill,
                 "slurm": slurm}
        modes[mode](grokkit, pipeline, tmp)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

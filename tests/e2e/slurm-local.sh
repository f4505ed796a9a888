#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A throw-away single-node Slurm cluster (munged + slurmctld + slurmd) for the tests, started
# by hand with every file it writes inside STATE_DIR, so it touches no system configuration.
#
# usage:
#   eval "$(slurm-local.sh start STATE_DIR)"   # prints `export SLURM_CONF=...`; exit 0
#   slurm-local.sh stop STATE_DIR              # stops what start started; idempotent; exit 0
#
# start prints one line `SKIPPED: <reason>` on stdout and exits 77 (the ctest SKIP code) when
# the cluster cannot come up here (not root, Slurm/munge missing, a daemon failing, ...); it
# then leaves no daemon behind. Everything else start/stop say goes to stderr.
# start first stops daemons a previous start left in the same STATE_DIR, and starts from an
# empty controller state: each start is a fresh cluster, not a restart of the last one.
# The caller should `trap 'slurm-local.sh stop STATE_DIR' EXIT` right after start.
#
# Environment (optional):
#   SLURM_LOCAL_TIMEOUT  seconds start may wait for the daemons, a bound on hangs (default 60)
#   SLURM_LOCAL_PORT     SlurmctldPort; SlurmdPort is the next one (default: a free pair in
#                        20000-29999, below Linux's ephemeral range so an outgoing connection
#                        cannot be holding it)
# -E: the ERR trap below (failure => SKIPPED) must also fire inside functions.
set -Eeuo pipefail

usage() {
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
}
[[ $# -eq 2 ]] || usage
action="$1"
[[ $action == start || $action == stop ]] || usage

# The node is called localhost whatever the machine's hostname: slurmd is told so with -N.
node=localhost

if [[ $action == stop && ! -d $2 ]]; then
    exit 0 # nothing was ever started there
fi
mkdir -p "$2"
# Absolute, because the paths go into slurm.conf and the daemons' command lines (which is
# also how stop recognises its own daemons).
state="$(cd "$2" && pwd -P)"
run="$state/run"                    # our pid files, one per daemon
mdir="$state/munge"                 # munge key, seed, log: private (munged wants 700)
msock_dir="$state/munge-socket"     # munged wants its socket dir world-searchable
msock="$msock_dir/munge.socket.2"
sdir="$state/slurm"
conf="$sdir/slurm.conf"

# alive PID: the process exists and is not a zombie. Our daemons are reparented to pid 1,
# which here reaps late, so `kill -0` alone would see dead daemons as running.
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat="${stat##*) }"
    [[ ${stat%% *} != Z ]]
}

# ours PIDFILE: prints the pid if it is a live process whose command line names STATE_DIR/,
# so a stale pid file whose pid was reused by another process is never acted on.
ours() {
    local pid
    [[ -s $1 ]] || return 1
    read -r pid <"$1" || return 1
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    local cmd
    cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || return 1
    if [[ -z $cmd ]]; then # empty while the process is in the middle of an exec: look again
        sleep 0.1
        cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || return 1
    fi
    [[ $cmd == *"$state/"* ]] || return 1 # the slash: /tmp/x is not /tmp/x2
    echo "$pid"
}

# stop_daemon NAME: SIGTERM, a bounded wait for it to go, then SIGKILL.
stop_daemon() {
    local name="$1" pid deadline
    if pid="$(ours "$run/$name.pid")"; then
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 15))
        while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        if alive "$pid"; then
            echo "slurm-local: $name ($pid) ignored SIGTERM; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 5))
            while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        fi
    fi
    rm -f "$run/$name.pid"
}

stop_all() {
    # Cancel jobs first while slurmctld and slurmd still run, so their slurmstepd processes and
    # job processes (which outlive slurmd by design) end too. Bounded: a broken controller
    # must not make stop hang.
    if ours "$run/slurmctld.pid" >/dev/null && ours "$run/slurmd.pid" >/dev/null; then
        local deadline=$((SECONDS + 20))
        SLURM_CONF="$conf" timeout 10 scancel --full --quiet --user=root 2>/dev/null || true
        while ((SECONDS < deadline)) &&
            [[ -n "$(SLURM_CONF="$conf" timeout 5 squeue -h -o %i 2>/dev/null || echo x)" ]]; do
            sleep 0.1
        done
    fi
    stop_daemon slurmd
    stop_daemon slurmctld
    stop_daemon munged
    # Belt and braces, for when the jobs could not be cancelled: a slurmstepd left by our
    # slurmd (it inherits slurmd's working directory, $sdir) goes, with its job's processes.
    local p pid
    for p in /proc/[0-9]*; do
        pid="${p#/proc/}"
        [[ "$(readlink "$p/cwd" 2>/dev/null)" == "$sdir" ]] || continue
        [[ "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" == slurmstepd* ]] || continue
        echo "slurm-local: killing a leftover slurmstepd ($pid) and its job" >&2
        # shellcheck disable=SC2046 # a list of pids
        kill -KILL "$pid" $(descendants "$pid") 2>/dev/null || true
    done
}

# descendants PID: the pids of PID's children, grandchildren, ...
descendants() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END { for (p in parent) { q = p; while (q in parent && q != root && q > 1) q = parent[q]
                                  if (q == root && p != root) print p } }'
}

if [[ $action == stop ]]; then
    stop_all
    exit 0
fi

# ---- start ----------------------------------------------------------------------------------

# last_lines FILE: the end of a log, on one line, for the SKIPPED reason.
last_lines() {
    [[ -s $1 ]] || { echo "(no log at $1)"; return; }
    local text
    text="$(tail -n 4 "$1" | tr -s '\n\t' '  ' | cut -c1-600)"
    echo "${text% }"
}

skip() {
    trap - ERR
    stop_all >/dev/null 2>&1 || true
    echo "SKIPPED: $1"
    exit 77
}
# Any unforeseen failure is a skip too (the cluster is unusable), not a bare exit 1.
trap 'skip "slurm-local.sh failed at line $LINENO (command: $BASH_COMMAND)"' ERR

((EUID == 0)) || skip "must run as root (SlurmUser=root; slurmd runs jobs as root)"
for tool in munged munge unmunge slurmctld slurmd sinfo squeue scontrol scancel setsid timeout; do
    command -v "$tool" >/dev/null || skip "$tool not found (scripts/install-deps installs it)"
done
# slurm.conf cannot quote a path: blanks and # would cut it, % would be expanded (%n, %h).
[[ $state != *[[:space:]#%]* ]] || skip "STATE_DIR has a blank, # or % in it: $state"
# Unix socket paths must fit in sockaddr_un (108 bytes); slurmd makes its step sockets in the
# spool directory as NODE_JOBID.STEPID (about 30 more bytes).
((${#sdir} + 40 < 108)) || skip "STATE_DIR path too long for Unix sockets: $state"

stop_all # whatever a previous start left here

limit="${SLURM_LOCAL_TIMEOUT:-60}"
deadline=$((SECONDS + limit))

# wait_until DAEMON PIDFILE LOG COMMAND...: polls COMMAND until it succeeds; skips when the
# daemon dies first (with its log's last lines) or after the deadline.
wait_until() {
    local name="$1" pidfile="$2" log="$3"
    shift 3
    while true; do
        # Liveness first: a probe of a dead daemon's port can hang (on whatever else holds it);
        # the probes have a timeout of their own too.
        alive "$(<"$pidfile")" || skip "$name exited during start: $(last_lines "$log")"
        "$@" >/dev/null 2>&1 && return 0
        ((SECONDS < deadline)) || skip "$name not ready after $limit s: $(last_lines "$log")"
        sleep 0.1
    done
}

# launch NAME OUTFILE COMMAND...: runs a daemon in the foreground mode of its own, in the
# background and in a session of its own (so the caller's terminal signals do not reach it),
# with no fd of the caller kept open (so `$(slurm-local.sh start ...)` returns).
# Its own pid is what we record: the background subshell execs setsid, which, not being a
# process group leader (no job control in this shell), execs the daemon without forking.
launch() {
    local name="$1" out="$2"
    shift 2
    # In $sdir, so as not to hold the caller's working directory (and see stop_all).
    (cd "$sdir" && exec setsid "$@" </dev/null >>"$out" 2>&1) &
    echo $! >"$run/$name.pid"
}

mkdir -p "$run" "$mdir" "$msock_dir" "$sdir"
chmod 700 "$mdir"
chmod 755 "$msock_dir"
# A fresh controller state and spool each start (see the header).
rm -rf "$sdir/ctld" "$sdir/spool"
mkdir -p "$sdir/ctld" "$sdir/spool"
rm -f "$sdir"/*.log "$sdir"/*.out "$mdir/munged.out"

# ---- munged: its own key and socket; the system's /etc/munge and /run/munge are not used.
if [[ ! -s $mdir/munge.key ]]; then
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile="$mdir/munge.key" --bits=1024 >/dev/null 2>&1 ||
            skip "mungekey could not create $mdir/munge.key"
    else
        dd if=/dev/urandom of="$mdir/munge.key" bs=1024 count=1 status=none
    fi
fi
chmod 400 "$mdir/munge.key"
# --force: munged refuses a socket whose ancestors are not world-searchable (mktemp -d makes
# 700 directories); the clients and daemons all run as root here, so that does not matter.
# In the foreground munged logs to stderr (munged.out), not to a --log-file.
launch munged "$mdir/munged.out" munged --foreground --force \
    --socket="$msock" --key-file="$mdir/munge.key" --pid-file="$mdir/munged.pid" \
    --seed-file="$mdir/munged.seed"
# Ready once a credential round-trips through the socket.
munge_ok() { timeout 5 munge --socket="$msock" --no-input | timeout 5 unmunge --socket="$msock"; }
wait_until munged "$run/munged.pid" "$mdir/munged.out" munge_ok

# ---- ports: a free pair (slurmctld, slurmd) unless the caller chose.
port_free() { [[ -z "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]]; }
if [[ -n ${SLURM_LOCAL_PORT:-} ]]; then
    ctld_port="$SLURM_LOCAL_PORT"
else
    command -v ss >/dev/null || port_free() { true; }
    for _ in $(seq 50); do
        ctld_port=$((20000 + RANDOM % 5000 * 2))
        port_free "$ctld_port" && port_free $((ctld_port + 1)) && break
    done
fi
slurmd_port=$((ctld_port + 1))

# ---- slurm.conf: everything in STATE_DIR; no cgroup plugin anywhere (they fail in this kind
# of container and Slurm then reports jobs COMPLETED without running them), no accounting.
cat >"$conf" <<EOF
# Written by tests/e2e/slurm-local.sh; rewritten by every start.
ClusterName=grokkit-test
SlurmctldHost=$node
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$msock
StateSaveLocation=$sdir/ctld
SlurmdSpoolDir=$sdir/spool
SlurmctldPidFile=$sdir/slurmctld.pid
SlurmdPidFile=$sdir/slurmd.pid
SlurmctldLogFile=$sdir/slurmctld.log
SlurmdLogFile=$sdir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# The host's spank plugins (/etc/slurm/plugstack.conf) are none of this cluster's business.
PlugStackConfig=$sdir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
# CPUs are the consumable: memory is not tracked, so jobs are not serialised on it.
SelectTypeParameters=CR_CPU
# Start a submitted batch job at the next scheduler pass rather than up to 3 s later.
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
# Trust the node line below rather than the hardware slurmd finds, so a smaller machine does
# not get the node drained.
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
: >"$sdir/plugstack.conf"
export SLURM_CONF="$conf"

# ---- slurmctld: ready when it answers a ping.
launch slurmctld "$sdir/slurmctld.out" slurmctld -D -f "$conf"
ctld_up() { timeout 5 scontrol ping | grep -q 'is UP'; }
wait_until slurmctld "$run/slurmctld.pid" "$sdir/slurmctld.out" ctld_up

# ---- slurmd: ready when the controller shows the node idle (it has registered).
launch slurmd "$sdir/slurmd.out" slurmd -D -f "$conf" -N "$node"
node_idle() { [[ "$(timeout 5 sinfo -h -N -n "$node" -o %T)" == idle ]]; }
wait_until slurmd "$run/slurmd.pid" "$sdir/slurmd.out" node_idle

trap - ERR
echo "slurm-local: cluster up in $state (ports $ctld_port, $slurmd_port) after $SECONDS s" >&2
printf 'export SLURM_CONF=%q\n' "$conf"

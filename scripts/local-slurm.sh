#!/usr/bin/env bash
# A real single-node SLURM cluster for tests and CI, with every file under one directory.
#
#   scripts/local-slurm.sh install        apt-get install slurm-wlm + munge (if missing)
#   scripts/local-slurm.sh start DIR      start munged, slurmctld and slurmd; writes DIR/env.sh
#   scripts/local-slurm.sh stop DIR       cancel every job, stop the daemons by PID
#   scripts/local-slurm.sh status DIR     print whether it runs (exit 0) or not (exit 1)
#
# After `start`, `source DIR/env.sh` (or eval the two printed lines) gives clients
# SLURM_CONF and a PATH with /usr/sbin and the `sacct` stand-in first. Nothing is written
# outside DIR; config, keys, sockets, state, logs and PID files all live there.
#
# Why a `sacct` stand-in: without slurmdbd, sacct fails ("accounting storage is disabled")
# and submitit, which polls sacct, never learns that a job died without a result (scancel,
# time limit, kill). DIR/bin/sacct answers submitit's query from `squeue --states=all`
# (finished jobs stay visible there for MinJobAge) and from the jobcomp log.
#
# Every wait has a deadline, and every probe runs under `timeout 5`. `start` on a running
# DIR does nothing; `start` on a stopped DIR discards its old job state (an unclean stop
# would otherwise bring its jobs back as RUNNING). `stop` on a stopped DIR does nothing.
# Details and the settings' reasons: docs/cluster.md.
set -euo pipefail

export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
PROBE="timeout 5"

die() { echo "local-slurm: $*" >&2; exit 1; }
say() { echo "local-slurm: $*" >&2; }

usage() {
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# -- install ------------------------------------------------------------------------
cmd_install() {
    local need=0 tool
    for tool in slurmctld slurmd munged mungekey sbatch squeue scancel scontrol; do
        command -v "$tool" >/dev/null 2>&1 || need=1
    done
    if [ "$need" = 0 ]; then
        say "slurm and munge are installed ($(slurmctld -V 2>/dev/null || echo '?'))"
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "installing needs root (apt-get install slurm-wlm munge)"
    local apt=(apt-get install -y -q --no-install-recommends slurm-wlm munge)
    export DEBIAN_FRONTEND=noninteractive
    if ! "${apt[@]}" >/dev/null 2>&1; then
        say "apt-get install failed; running apt-get update and retrying"
        apt-get update -q >/dev/null
        "${apt[@]}" >/dev/null
    fi
    command -v slurmctld >/dev/null 2>&1 || die "slurmctld still missing after apt-get install"
    say "installed $(slurmctld -V)"
}

# -- helpers ------------------------------------------------------------------------
# A PID is alive when /proc/PID exists and it is not a zombie (PID 1 here reaps late).
alive() {
    local pid=$1 state
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    state=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

pid_of() { [ -s "$1" ] && tr -dc '0-9' <"$1" || true; }

# wait_until SECONDS COMMAND...: run COMMAND every 0.05-0.2 s until it succeeds or time is up.
wait_until() {
    local limit=$1; shift
    local deadline=$(( $(date +%s%N) / 1000000 + limit * 1000 )) pause=0.05
    while :; do
        if "$@"; then return 0; fi
        [ $(( $(date +%s%N) / 1000000 )) -lt "$deadline" ] || return 1
        sleep "$pause"
        pause=0.2
    done
}

# Listening TCP ports (hex in /proc/net/tcp*), as decimal numbers, one a line.
listening_ports() {
    local f
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] && awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print a[2] }' "$f"
    done | while read -r hex; do echo $(( 16#$hex )); done | sort -u
}

# Two free consecutive ports, so that several clusters (one per DIR) can run at once.
free_port_pair() {
    local used base tries=0
    used=" $(listening_ports | tr '\n' ' ') "
    base=$(( 20000 + (RANDOM * 32768 + RANDOM) % 20000 ))
    while [ $tries -lt 200 ]; do
        case "$used" in
            *" $base "* | *" $((base + 1)) "*) base=$(( base + 2 )) ;;
            *) echo "$base"; return 0 ;;
        esac
        tries=$(( tries + 1 ))
    done
    die "no free TCP port pair found"
}

abs_dir() { mkdir -p "$1" && cd "$1" && pwd -P; }

running() {  # every daemon alive and the controller answering
    local dir=$1
    alive "$(pid_of "$dir/munge/munged.pid")" \
        && alive "$(pid_of "$dir/run/slurmctld.pid")" \
        && alive "$(pid_of "$dir/run/slurmd.pid")" \
        && ctld_up "$dir"
}

node_idle() {
    local state
    state=$(SLURM_CONF="$1/etc/slurm.conf" $PROBE sinfo -h -o %T 2>/dev/null | head -1) || return 1
    case "$state" in idle | mixed | allocated) return 0 ;; *) return 1 ;; esac
}

ctld_up() {  # (scontrol retries for 60 s when the config file is missing)
    [ -f "$1/etc/slurm.conf" ] || return 1
    SLURM_CONF="$1/etc/slurm.conf" $PROBE scontrol ping 2>/dev/null | grep -q UP
}

write_env() {
    local dir=$1
    cat >"$dir/env.sh" <<EOF
export SLURM_CONF=$dir/etc/slurm.conf
export PATH=$dir/bin:/usr/sbin:\$PATH
EOF
}

print_env() {
    echo "export SLURM_CONF=$1/etc/slurm.conf"
    echo "export PATH=$1/bin:/usr/sbin:\$PATH"
}

write_sacct_shim() {
    local dir=$1
    mkdir -p "$dir/bin"
    # The shim answers the only query submitit makes:
    #   sacct -o JobID,State,NodeList --parsable2 -j ID [-j ID ...]
    # with a header line and one JobID|State|NodeList row per job (array tasks included),
    # from squeue --states=all, then from the jobcomp log for jobs squeue has forgotten.
    cat >"$dir/bin/sacct" <<'EOF'
#!/usr/bin/env bash
# sacct stand-in of scripts/local-slurm.sh (no slurmdbd): see that script.
set -u
ids=()
while [ $# -gt 0 ]; do
    case "$1" in
        -j | --jobs) ids+=("${2//,/ }"); shift 2 ;;
        -j* ) ids+=("${1#-j}"); shift ;;
        --jobs=*) ids+=("${1#--jobs=}"); shift ;;
        *) shift ;;
    esac
done
echo "JobID|State|NodeList"
[ ${#ids[@]} -gt 0 ] || exit 0
jobs=$(echo ${ids[*]} | tr ' ' ',')
seen=" "
while IFS='|' read -r id state nodes; do
    [ -n "$id" ] || continue
    echo "$id|$state|${nodes:-None assigned}"
    seen="$seen${id%%_*} "
done < <(timeout 5 squeue --states=all -h -o '%i|%T|%N' -j "$jobs" 2>/dev/null)
conf=${SLURM_CONF:-}
comp="$(dirname "$(dirname "$conf")")/log/jobcomp.txt"
[ -n "$conf" ] && [ -r "$comp" ] || exit 0
for id in ${ids[*]}; do
    case "$seen" in *" ${id%%_*} "*) continue ;; esac
    # jobcomp lines: JobId=N ... JobState=S ... NodeList=X ... (array tasks keep their
    # own JobId; their array id is ArrayJobId=A ArrayTaskId=T when present)
    awk -v want="${id%%_*}" '
        { jid=""; st=""; nl=""; aj=""; at="" }
        { for (i = 1; i <= NF; i++) { split($i, kv, "=");
            if (kv[1] == "JobId") jid = kv[2]; else if (kv[1] == "JobState") st = kv[2];
            else if (kv[1] == "NodeList") nl = kv[2]; else if (kv[1] == "ArrayJobId") aj = kv[2];
            else if (kv[1] == "ArrayTaskId") at = kv[2] } }
        aj == want && at != "" && at != "4294967294" { print aj "_" at "|" st "|" nl; next }
        jid == want { print jid "|" st "|" nl }
    ' "$comp"
done
exit 0
EOF
    chmod 0755 "$dir/bin/sacct"
}

write_config() {
    local dir=$1 host ports first cpus boards sockets cores threads mem
    host=$(hostname -s 2>/dev/null || hostname)
    ports=$(free_port_pair)
    # Job ids from the clock: a fresh DIR never reuses the ids of an earlier one, so a
    # stale submitit result file can never pass for a new job's result.
    first=$(( 1000000 + ($(date +%s) % 6000000) * 10 ))
    local probe
    probe=$(slurmd -C 2>/dev/null | head -1)
    get() { echo "$probe" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    cpus=$(get CPUs); boards=$(get Boards); sockets=$(get SocketsPerBoard)
    cores=$(get CoresPerSocket); threads=$(get ThreadsPerCore); mem=$(get RealMemory)
    [ -n "$cpus" ] && [ -n "$mem" ] || die "slurmd -C gave no node size: $probe"
    local node="NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus Boards=${boards:-1}"
    node="$node SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus}"
    node="$node ThreadsPerCore=${threads:-1} RealMemory=$(( mem * 85 / 100 )) State=UNKNOWN"
    : >"$dir/etc/plugstack.conf"
    cat >"$dir/etc/slurm.conf" <<EOF
# written by scripts/local-slurm.sh for $dir
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ports
SlurmdPort=$(( ports + 1 ))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket.2
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/etc/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
FirstJobId=$first
MinJobAge=3600
ReturnToService=2
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
$node
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

# -- start --------------------------------------------------------------------------
cmd_start() {
    [ $# -eq 1 ] || usage
    local dir
    dir=$(abs_dir "$1")
    command -v slurmctld >/dev/null 2>&1 || die "slurm is not installed: run '$0 install' first"
    if running "$dir"; then
        say "already running in $dir"
        write_env "$dir"; print_env "$dir"
        return 0
    fi
    # Not (fully) running: stop what is left and start from a clean state.
    cmd_stop "$dir" >/dev/null 2>&1 || true
    rm -rf "$dir/spool" "$dir/run" "$dir/munge" "$dir/log" "$dir/etc" "$dir/bin"
    mkdir -p "$dir/etc" "$dir/spool/ctld" "$dir/spool/d" "$dir/run" "$dir/log" "$dir/munge"
    chmod 0755 "$dir" "$dir/munge"
    write_config "$dir"
    write_sacct_shim "$dir"
    write_env "$dir"

    local t0=$(( $(date +%s%N) / 1000000 ))
    mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 \
        || die "mungekey --create failed"
    chmod 0600 "$dir/munge/munge.key"
    munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket.2" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed" \
        || die "munged did not start (see $dir/log/munged.log)"
    wait_until 10 test -S "$dir/munge/munge.socket.2" || die "munged socket did not appear"

    SLURM_CONF="$dir/etc/slurm.conf" slurmctld -f "$dir/etc/slurm.conf" \
        || die "slurmctld did not start (see $dir/log/slurmctld.log)"
    wait_until 20 ctld_up "$dir" \
        || die "slurmctld does not answer 'scontrol ping' (see $dir/log/slurmctld.log)"
    SLURM_CONF="$dir/etc/slurm.conf" slurmd -f "$dir/etc/slurm.conf" \
        || die "slurmd did not start (see $dir/log/slurmd.log)"
    wait_until 20 node_idle "$dir" \
        || die "the node did not become idle (see $dir/log/slurmd.log): $(SLURM_CONF="$dir/etc/slurm.conf" $PROBE sinfo -h 2>&1 || true)"
    local t1=$(( $(date +%s%N) / 1000000 ))
    say "started in $dir in $(( t1 - t0 )) ms (source $dir/env.sh)"
    print_env "$dir"
}

# -- stop ---------------------------------------------------------------------------
# Processes started by this DIR's slurmd: slurmstepd and job processes carry
# SLURM_CONF=DIR/etc/slurm.conf and (jobs) SLURM_JOB_ID in their environment.
dir_processes() {
    local dir=$1 p env comm
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" != $$ ] || continue
        env=$(tr '\0' '\n' 2>/dev/null <"/proc/$p/environ") || continue
        grep -qx "SLURM_CONF=$dir/etc/slurm.conf" <<<"$env" || continue
        comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
        if [ "$comm" = slurmstepd ] || grep -q '^SLURM_JOB_ID=' <<<"$env"; then
            alive "$p" && echo "$p"
        fi
    done
}

stop_pid() {  # stop_pid PID NAME: TERM, wait up to 5 s, then KILL
    local pid=$1 name=$2
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! wait_until 5 eval "! alive $pid"; then
        say "$name ($pid) ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_until 3 eval "! alive $pid" || say "$name ($pid) is still alive"
    fi
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    [ -d "$1" ] || { say "no cluster directory $1"; return 0; }
    local dir pid
    dir=$(cd "$1" && pwd -P)
    export SLURM_CONF="$dir/etc/slurm.conf"
    if ctld_up "$dir"; then
        local ids
        ids=$($PROBE squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ') || ids=
        [ -z "${ids// /}" ] || $PROBE scancel --quiet $ids 2>/dev/null || true
        # give running jobs a moment to end (bounded)
        wait_until 5 eval '[ -z "$($PROBE squeue -h -t RUNNING,COMPLETING,PENDING 2>/dev/null)" ]' \
            || say "jobs still listed after scancel; stopping anyway"
    fi
    stop_pid "$(pid_of "$dir/run/slurmd.pid")" slurmd
    stop_pid "$(pid_of "$dir/run/slurmctld.pid")" slurmctld
    # leftovers of jobs (e.g. slurmctld was killed): slurmstepd needs SIGKILL
    local left
    left=$(dir_processes "$dir")
    if [ -n "$left" ]; then
        say "stopping leftover job processes: $(echo $left)"
        for pid in $left; do kill -TERM "$pid" 2>/dev/null || true; done
        sleep 0.5
        for pid in $(dir_processes "$dir"); do kill -KILL "$pid" 2>/dev/null || true; done
    fi
    stop_pid "$(pid_of "$dir/munge/munged.pid")" munged
    rm -f "$dir/run/slurmd.pid" "$dir/run/slurmctld.pid" "$dir/munge/munged.pid"
    say "stopped ($dir)"
}

# -- status -------------------------------------------------------------------------
cmd_status() {
    [ $# -eq 1 ] || usage
    local dir=$1
    [ -d "$dir" ] || { echo "not running (no $dir)"; return 1; }
    dir=$(cd "$dir" && pwd -P)
    local name pidfile pid ok=0
    for name in munged slurmctld slurmd; do
        case $name in
            munged) pidfile=$dir/munge/munged.pid ;;
            *) pidfile=$dir/run/$name.pid ;;
        esac
        pid=$(pid_of "$pidfile")
        if alive "$pid"; then echo "$name: running (pid $pid)"; else echo "$name: stopped"; ok=1; fi
    done
    if [ $ok = 0 ] && running "$dir"; then
        SLURM_CONF="$dir/etc/slurm.conf" $PROBE sinfo 2>/dev/null || true
        SLURM_CONF="$dir/etc/slurm.conf" $PROBE squeue 2>/dev/null || true
        print_env "$dir"
        return 0
    fi
    return 1
}

[ $# -ge 1 ] || usage
command=$1; shift
case "$command" in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac

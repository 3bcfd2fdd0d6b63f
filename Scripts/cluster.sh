#!/usr/bin/env bash
# The emulated cluster: N "hosts" on this machine, each a network namespace with its own hostname,
# joined by one bridge through veth links whose rate is shaped in both directions with tc (tbf).
# Open MPI runs ranks of one host over shared memory and ranks of different hosts over TCP, exactly
# as on a real cluster; the links carry every inter-host byte, and their kernel counters count them.
#
#   Scripts/cluster.sh up --hosts N --slots S --bandwidth RATE   (RATE as tc writes it: 1gbit, 100mbit, 10gbit,
#                                                                  or "none" for unshaped links)
#   Scripts/cluster.sh status                                      hosts, links, rates, per-link byte counters
#   Scripts/cluster.sh counters                                    "host tx_bytes rx_bytes" per host (host's view)
#   Scripts/cluster.sh mpirun -np N PROGRAM …                      mpirun on the head host (dion-h1) across the hosts
#   Scripts/cluster.sh rate RATE                                   re-shape every link of the running cluster
#   Scripts/cluster.sh link HOST up|down                           take one host's link down (or back up)
#   Scripts/cluster.sh kill-host HOST                              SIGKILL every process of one host (a lost node)
#   Scripts/cluster.sh down                                        remove everything (idempotent)
#
# Addresses: the project's own private range 10.77.0.0/24 on a bridge that exists only on this
# machine (host k is 10.77.0.k, the bridge 10.77.0.254); nothing is routed off the machine.
# (With DION_CLUSTER_ID=N: 10.77.N.0/24 and names dionN-…, so two clusters can coexist.)
# Names: namespaces dion-h1…, links dion-v1… (bridge side), bridge dion-br0. State (hostfile,
# Open MPI parameter file, the launch agent) lives in $DION_CLUSTER_DIR (default /run/dion-cluster).
set -euo pipefail

# DION_CLUSTER_ID=1…9 runs a second, independent cluster beside the default one (names dionN-h1…,
# bridge dionN-br0, addresses 10.77.N.0/24, state /run/dion-clusterN): e.g. a benchmark beside a test.
ID="${DION_CLUSTER_ID:-}"
if [ -n "$ID" ] && ! [[ "$ID" =~ ^[1-9]$ ]]; then
  echo "cluster: DION_CLUSTER_ID must be 1…9 (or unset for the default cluster), got '$ID'" >&2; exit 1
fi
STATE="${DION_CLUSTER_DIR:-/run/dion-cluster$ID}"
BRIDGE="dion$ID-br0"
PREFIX="10.77.${ID:-0}"
NS_PREFIX="dion$ID-h"
LINK_PREFIX="dion$ID-v"

die() { echo "cluster: $*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces and links); try: sudo $0 $*"
  command -v ip >/dev/null || die "'ip' not found: install iproute2"
  command -v tc >/dev/null || die "'tc' not found: install iproute2"
  command -v unshare >/dev/null || die "'unshare' not found: install util-linux"
}

hosts() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^${NS_PREFIX}[0-9]*$" | sort -V || true; }

# The processes of host NS, from procfs with bash builtins alone (-ef: same device and inode). With
# a job's ranks busy on the machine's 2 cores, every process started took up to 0.2 s and `ip netns`
# commands, which first ask the kernel for namespace ids over netlink, waited seconds for the RTNL
# lock: a "lost host" kill took up to 10 s.
ns_pids() {
  local pid
  for pid in /proc/[0-9]*; do
    [[ "$pid/ns/net" -ef "/run/netns/$1" ]] && echo "${pid#/proc/}"
  done
  return 0
}

cmd_down() {
  require_root
  local ns k
  for ns in $(hosts); do
    # End whatever still runs inside the host (a killed job's orted, a test's leftovers).
    for pid in $(ns_pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  for k in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${LINK_PREFIX}[0-9]*$" || true); do
    ip link del "$k" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$STATE"
  echo "cluster: down (no ${NS_PREFIX}* namespace, ${LINK_PREFIX}* link or $BRIDGE left)"
}

# tc tbf for RATE on DEV (run through $1 = "" or "ip netns exec NS"). The bucket holds at least
# 1 ms of traffic and 70,000 bytes: one whole 64 KiB GSO segment with its headers (65,602 bytes). A
# bucket of exactly 64 KiB is one header short, and tbf then cuts every GSO segment into ≈ 45 frames
# shaped one by one: at 300 Mbit/s that kernel work added ≈ 70 ms of CPU to a 160 ms training step
# on 2 cores (docs/cluster.md, "Overlap").
shape() {
  local exec_in="$1" dev="$2" rate="$3"
  if [ "$rate" = "none" ]; then
    # Unshaped (also undoes an earlier rate: `cluster.sh rate none`).
    $exec_in tc qdisc del dev "$dev" root 2>/dev/null || true
    return 0
  fi
  local bits
  bits=$(rate_bits "$rate")
  local burst=$(( bits / 8 / 1000 ))
  (( burst < 70000 )) && burst=70000
  $exec_in tc qdisc replace dev "$dev" root tbf rate "$rate" burst "$burst" latency 100ms
}

# RATE (tc units: bit, kbit, mbit, gbit; or a bare number of bit/s) in bit/s.
rate_bits() {
  local r="${1,,}"
  case "$r" in
    *gbit) echo $(( ${r%gbit} * 1000000000 ));;
    *mbit) echo $(( ${r%mbit} * 1000000 ));;
    *kbit) echo $(( ${r%kbit} * 1000 ));;
    *bit) echo $(( ${r%bit} ));;
    *[!0-9]*|"") die "bandwidth '$1' not understood: use e.g. 10gbit, 1gbit, 100mbit or none";;
    *) echo "$r";;
  esac
}

cmd_up() {
  local n=2 slots=2 rate=1gbit
  while [ $# -gt 0 ]; do
    case "$1" in
      --hosts) n="$2"; shift 2;;
      --slots) slots="$2"; shift 2;;
      --bandwidth) rate="$2"; shift 2;;
      *) die "unknown option '$1' (up --hosts N --slots S --bandwidth RATE)";;
    esac
  done
  [[ "$n" =~ ^[0-9]+$ ]] && (( n >= 1 && n <= 16 )) || die "--hosts must be 1…16, got '$n'"
  [[ "$slots" =~ ^[0-9]+$ ]] && (( slots >= 1 && slots <= 64 )) || die "--slots must be 1…64, got '$slots'"
  [ "$rate" = "none" ] || rate_bits "$rate" >/dev/null
  require_root
  ip netns add dion-probe-$$ 2>/dev/null || die "network namespaces are not available here (ip netns add failed)"
  ip netns del dion-probe-$$
  cmd_down >/dev/null

  mkdir -p "$STATE"
  ip link add "$BRIDGE" type bridge
  ip addr add "$PREFIX.254/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  : > "$STATE/hostfile"
  local k ns link
  for k in $(seq 1 "$n"); do
    ns="$NS_PREFIX$k"; link="$LINK_PREFIX$k"
    ip netns add "$ns"
    ip link add "$link" type veth peer name eth0 netns "$ns"
    ip link set "$link" master "$BRIDGE" up
    ip -n "$ns" addr add "$PREFIX.$k/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    # Give up on an unacknowledged TCP segment after 4 retransmissions (≈ 6 s, instead of ≈ 15 min):
    # a host cut off mid-send is then declared lost by the runtime in seconds. Per namespace only.
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_retries2=4
    shape "ip netns exec $ns" eth0 "$rate"   # the host's egress
    shape "" "$link" "$rate"                 # the host's ingress (the bridge's egress into the link)
    echo "$PREFIX.$k slots=$slots" >> "$STATE/hostfile"
  done
  echo "$n $slots $rate" > "$STATE/cluster"

  # The launch agent Open MPI calls instead of ssh: "agent [options] HOST COMMAND…" runs COMMAND
  # inside HOST's namespace with its own hostname (so Open MPI sees one node per host).
  cat > "$STATE/nsrsh" <<EOF
#!/bin/bash
while [[ "\$1" == -* ]]; do shift; done
host="\$1"; shift
case "\$host" in
  $PREFIX.*) ns="$NS_PREFIX\${host##*.}";;
  $NS_PREFIX*) ns="\$host";;
  *) echo "nsrsh: unknown host '\$host'" >&2; exit 1;;
esac
exec ip netns exec "\$ns" unshare --uts /bin/sh -c "hostname \$ns; \$*"
EOF
  chmod +x "$STATE/nsrsh"

  # Open MPI's parameter file for jobs across the hosts ("name = value", given to mpirun --tune):
  # - the hostfile and the launch agent above; TCP between hosts, shared memory within one;
  # - only the cluster's addresses for MPI traffic and for the runtime's own (so no byte between hosts
  #   bypasses the shaped links);
  # - yield when idle: busy-polling ranks starve the veth's kernel work on 2 cores (4–8 ms per call);
  # - TCP keepalive on the runtime's connections (2 s idle, 3 probes 1 s apart): a host whose link is
  #   cut is declared lost in ≈ 5 s and the job ends, instead of waiting minutes for TCP to give up;
  # - the TCP transport without its emulated RDMA "put" (the default flags less put and hetero-rdma):
  #   with it, two ranks sending to each other at once took turns, each direction at half the link's
  #   rate (Scripts/bench/exchange.c: 2 MiB each way in 69 ms at 500 Mbit/s, 35 ms without it);
  # - reduce-scatter of equal blocks by recursive halving: Open MPI's default for it here (reduce to one
  #   rank, then scatter) took 104 ms for 4 MiB over 2 hosts at 500 Mbit/s, recursive halving 38.5 ms.
  # - messages up to 1 MiB sent eagerly (the default, 64 KiB, sends a larger message's rest only after
  #   the receiver's acknowledgement, which queues behind up to 10 ms of data in a shaped link's tbf
  #   queue): `fsdp=2` AdamW overlapped at 250 Mbit/s took 198–212 ms per step with the default and
  #   189–196 ms with this, exposed communication 105 → 84 ms (docs/cluster.md).
  cat > "$STATE/openmpi-params.conf" <<EOF
orte_default_hostfile = $STATE/hostfile
plm_rsh_agent = $STATE/nsrsh
btl = self,vader,tcp
btl_tcp_if_include = $PREFIX.0/24
oob_tcp_if_include = $PREFIX.0/24
mpi_yield_when_idle = 1
oob_tcp_keepalive_time = 2
oob_tcp_keepalive_intvl = 1
oob_tcp_keepalive_probes = 3
btl_tcp_flags = send,inplace,need-ack,need-csum
coll_tuned_use_dynamic_rules = 1
coll_tuned_reduce_scatter_block_algorithm = 3
btl_tcp_eager_limit = 1048576
btl_tcp_rndv_eager_limit = 1048576
btl_tcp_max_send_size = 1048576
EOF
  # mpirun itself runs on the first host, as on a real cluster's launch node: its connections to the
  # other hosts cross the shaped links, and it sees a host's loss as a real launcher would.
  cat > "$STATE/mpirun" <<EOF
#!/bin/bash
exec ip netns exec ${NS_PREFIX}1 unshare --uts /bin/bash -c 'hostname ${NS_PREFIX}1; exec mpirun --tune $STATE/openmpi-params.conf "\$@"' mpirun "\$@"
EOF
  chmod +x "$STATE/mpirun"
  echo "cluster: up — $n hosts × $slots slots, links shaped to $rate each way"
  echo "cluster: run jobs with: $STATE/mpirun -np $((n * slots)) PROGRAM …  (or: $0 mpirun -np $((n * slots)) PROGRAM …)"
}

need_up() { [ -f "$STATE/cluster" ] || die "no cluster is up (run: $0 up --hosts 2 --slots 2 --bandwidth 1gbit)"; }

cmd_counters() {
  need_up
  local ns k
  for ns in $(hosts); do
    k="${ns#"$NS_PREFIX"}"
    # The bridge side of host k's link: its rx is what the host sent, its tx what it received.
    local rx tx
    rx=$(cat "/sys/class/net/$LINK_PREFIX$k/statistics/rx_bytes")
    tx=$(cat "/sys/class/net/$LINK_PREFIX$k/statistics/tx_bytes")
    echo "$ns $rx $tx"
  done
}

cmd_status() {
  need_up
  read -r n slots rate < "$STATE/cluster"
  echo "cluster: $n hosts × $slots slots, bandwidth $rate each way, bridge $BRIDGE ($PREFIX.254)"
  printf '%-9s %-12s %-7s %-6s %16s %16s\n' host address link state "sent (bytes)" "received (bytes)"
  local ns k state
  while read -r ns sent received; do
    k="${ns#"$NS_PREFIX"}"
    state=$(cat "/sys/class/net/$LINK_PREFIX$k/operstate")
    printf '%-9s %-12s %-7s %-6s %16s %16s\n' "$ns" "$PREFIX.$k" "$LINK_PREFIX$k" "$state" "$sent" "$received"
  done < <(cmd_counters)
}

cmd_link() {
  need_up
  local ns="$1" state="$2"
  [[ "$ns" =~ ^${NS_PREFIX}[0-9]+$ ]] || die "link: host must be ${NS_PREFIX}K, got '$ns'"
  [[ "$state" == up || "$state" == down ]] || die "link: state must be up or down, got '$state'"
  ip link set "$LINK_PREFIX${ns#"$NS_PREFIX"}" "$state"
}

# Re-shapes every link of the running cluster to RATE (or "none"): jobs that alternate link rates
# (Scripts/overlap-bench.sh) keep one cluster.
cmd_rate() {
  need_up
  local rate="$1" ns k n slots old
  [ "$rate" = "none" ] || rate_bits "$rate" >/dev/null
  for ns in $(hosts); do
    k="${ns#"$NS_PREFIX"}"
    shape "ip netns exec $ns" eth0 "$rate"
    shape "" "$LINK_PREFIX$k" "$rate"
  done
  read -r n slots old < "$STATE/cluster"
  echo "$n $slots $rate" > "$STATE/cluster"
  echo "cluster: links shaped to $rate each way (were $old)"
}

cmd_kill_host() {
  need_up
  local ns="$1"
  [[ "$ns" =~ ^${NS_PREFIX}[0-9]+$ ]] && [ -e "/run/netns/$ns" ] || die "kill-host: no host '$ns'"
  local pids killed="" round pid name
  pids=$(ns_pids "$ns")
  [ -n "$pids" ] || die "kill-host: nothing runs on $ns"
  # Kill, then list again until the host is empty: a process forked between the listing and the
  # kill would otherwise survive it (at most 50 rounds, 5 s).
  for ((round = 0; round < 50; round++)); do
    [ -n "$pids" ] || break
    # Names from /proc/PID/comm, read by the shell: `ps` reads files that wait for a busy process's
    # memory-map lock (up to 34 s here).
    for pid in $pids; do
      name='?'
      read -r name < "/proc/$pid/comm" 2>/dev/null || true
      killed="$killed $pid:$name"
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
    pids=$(ns_pids "$ns")
  done
  [ -z "$pids" ] || die "kill-host: processes $pids still run on $ns after 5 s of SIGKILL"
  echo "cluster: killed on $ns:$killed"
}

case "${1:-}" in
  up) shift; cmd_up "$@";;
  down) cmd_down;;
  status) cmd_status;;
  counters) cmd_counters;;
  mpirun) shift; need_up; exec "$STATE/mpirun" "$@";;
  launcher) need_up; echo "$STATE/mpirun";;
  kill-host) shift; [ $# -eq 1 ] || die "usage: $0 kill-host HOST"; require_root; cmd_kill_host "$1";;
  rate) shift; [ $# -eq 1 ] || die "usage: $0 rate RATE"; require_root; cmd_rate "$1";;
  link) shift; [ $# -eq 2 ] || die "usage: $0 link HOST up|down"; require_root; cmd_link "$1" "$2";;
  *) die "usage: $0 up --hosts N --slots S --bandwidth RATE | status | counters | mpirun ARGS… | launcher | rate RATE | link HOST up|down | kill-host HOST | down";;
esac

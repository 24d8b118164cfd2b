# tests/bench/lib/binaries.sh: sourced by the benches that run the control
# plane and node agents (controlplane, sim) after they set $src; takes the
# build directory (default $src/build) as its argument and sets build,
# reconcile and agent_bin, stopping with a message when they are not built.
build=${1:-$src/build}
reconcile="$build/reconciler/reconcile"
agent_bin="$build/nodeagent/nodeagent"
[ -x "$reconcile" ] && [ -x "$agent_bin" ] || { echo "build first: $reconcile / $agent_bin" >&2; exit 1; }

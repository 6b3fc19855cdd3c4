#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a local 3-node
# Alternator stand-in cluster (127.0.0.1-3, one port), runs
# alternator-example against it seeded with one node, and stops the cluster;
# then does the same with kv-example (conditional writes, reads and a
# counter, showing which node served each request).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/test/deps.sh"
cmake -S "$top" -B "$top/build" >/dev/null
cmake --build "$top/build" -j"$(nproc)" --target alternator-example kv-example
"$top/test/cluster/with-cluster.sh" --nodes 3 -- \
    "$top/build/examples/alternator-example" --port '{PORT}' --requests 12 127.0.0.1
echo
exec "$top/test/cluster/with-cluster.sh" --nodes 3 -- \
    "$top/build/examples/kv-example" --port '{PORT}' 127.0.0.1

# Included by test/CMakeLists.txt: tests that are not one test_*.c each.
#
#  example_*   run each example against a local 3-node cluster
#              (test/cluster/with-cluster.sh) and check its exit status and
#              that all three nodes answered; example_*_stats also checks
#              the --stats table.
#  example_kv-example*  run kv-example twice against one cluster and check
#              its key routing (check-kv-example.sh below).
#  install     installs the build into a temporary prefix and builds a
#              consumer against it with find_package() and with pkg-config.

set(alt_with_cluster ${CMAKE_CURRENT_SOURCE_DIR}/cluster/with-cluster.sh)

# check-example.sh MODE COMMAND ARGS...
#   MODE ok:     exit status 0, and 127.0.0.1, .2 and .3 each answered a
#                request with HTTP 200 ("request I/N: node ADDR HTTP 200").
#   MODE denied: exit status 1, and each of the three answered HTTP 400
#                UnrecognizedClientException-style denials (status 400).
#   MODE stats:  as ok, and the --stats table lists exactly 127.0.0.1, .2
#                and .3, whose request counts sum to the --requests N of
#                the command, with none in flight.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/check-example.sh [=[
#!/usr/bin/env bash
set -u
mode=$1; shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
fail() { echo "check-example: FAILED: $*" >&2; exit 1; }
case $mode in
    ok|stats) want_rc=0 status=200 ;;
    denied) want_rc=1 status=400 ;;
    *) fail "unknown mode $mode" ;;
esac
[ "$rc" -eq "$want_rc" ] || fail "exit status $rc, expected $want_rc"
for i in 1 2 3; do
    grep -Eq "^request [0-9]+/[0-9]+: node 127\.0\.0\.$i HTTP $status\$" <<<"$out" \
        || fail "no request answered HTTP $status by 127.0.0.$i"
done
if [ "$mode" != denied ]; then
    grep -Eq '^request .*(failed|HTTP [^2])' <<<"$out" && fail "a request did not answer 200"
fi
if [ "$mode" = stats ]; then
    want= prev=
    for a in "$@"; do
        [ "$prev" = --requests ] && want=$a
        prev=$a
    done
    [ -n "$want" ] || fail "stats: the command has no --requests N"
    # The rows under the header "node state requests inflight ...".
    table=$(awk '/^node +state +requests +inflight/ {on = 1; next}
                 on && /^127\./ {print; next}
                 {on = 0}' <<<"$out")
    [ -n "$table" ] || fail "stats: no table"
    rows=$(grep -c . <<<"$table")
    [ "$rows" -eq 3 ] || fail "stats: $rows nodes in the table, expected 3"
    for i in 1 2 3; do
        grep -Eq "^127\.0\.0\.$i +[a-z]+ +[0-9]+ " <<<"$table" \
            || fail "stats: 127.0.0.$i not in the table"
    done
    sum=$(awk '{s += $3} END {print s + 0}' <<<"$table")
    [ "$sum" -eq "$want" ] || fail "stats: requests per node sum to $sum, expected $want"
    awk '$4 != 0 {bad = 1} END {exit bad}' <<<"$table" \
        || fail "stats: transfers still counted in flight"
    echo "check-example: stats: 3 nodes, $sum requests"
fi
echo "check-example: ok"
]=])
set(alt_check_example bash ${CMAKE_CURRENT_BINARY_DIR}/check-example.sh)

if(ALT_BUILD_EXAMPLES)
  foreach(ex alternator-example multi-poll multi-socket)
    if(NOT TARGET ${ex})
      continue()
    endif()
    # Plain: one seed (not node 1), the rest learnt by the discovery each
    # example runs before its first request.
    add_test(NAME example_${ex}
      COMMAND ${alt_with_cluster} --nodes 3 --
              ${alt_check_example} ok $<TARGET_FILE:${ex}>
              --port {PORT} --requests 30 127.0.0.2)
    # SigV4 through a fake domain: the signature must hold on every node.
    add_test(NAME example_${ex}_sigv4
      COMMAND ${alt_with_cluster} --nodes 3 --auth alternator:secret_pass --
              ${alt_check_example} ok $<TARGET_FILE:${ex}>
              --port {PORT} --requests 30 --fake-domain dog.scylladb.com
              --credentials alternator:secret_pass 127.0.0.2)
    # A wrong secret: every node refuses (HTTP 400), exit status 1.
    add_test(NAME example_${ex}_bad_secret
      COMMAND ${alt_with_cluster} --nodes 3 --auth alternator:secret_pass --
              ${alt_check_example} denied $<TARGET_FILE:${ex}>
              --port {PORT} --requests 30 --fake-domain dog.scylladb.com
              --credentials alternator:wrong 127.0.0.2)
    # --stats: the table counts every request once, on the node it went to.
    add_test(NAME example_${ex}_stats
      COMMAND ${alt_with_cluster} --nodes 3 --
              ${alt_check_example} stats $<TARGET_FILE:${ex}>
              --port {PORT} --requests 30 --stats 127.0.0.2)
    set_tests_properties(example_${ex} example_${ex}_sigv4
                         example_${ex}_bad_secret example_${ex}_stats
                         PROPERTIES TIMEOUT 120)
    # Usage errors: exit status 2 and a message, without a cluster.
    add_test(NAME example_${ex}_usage
      COMMAND bash -c "\"$0\" --port 8000 >/dev/null 2>&1; a=$?; \"$0\" --port x 127.0.0.1 >/dev/null 2>&1; b=$?; \"$0\" --bogus 1 127.0.0.1 >/dev/null 2>&1; c=$?; echo \"no seed: $a, bad port: $b, bad option: $c\"; [ $a = 2 ] && [ $b = 2 ] && [ $c = 2 ]"
              $<TARGET_FILE:${ex}>)
  endforeach()
endif()

# check-kv-example.sh MODE COMMAND ARGS...
#   MODE ok:     runs COMMAND twice on one cluster. First run: exit status 0,
#                every user's conditional PutItem HTTP 200, alice's counter
#                at 5 when read back. Second run: exit status 0, every
#                PutItem refused with ConditionalCheckFailed, the counter at
#                10. Over both runs: the PutItem and UpdateItem lines of each
#                key name a single node, and the GetItem lines more than one.
#   MODE gzip:   as ok, and the first run says a body was sent gzipped.
#   MODE denied: exit status 1 (a bad signature is refused).
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/check-kv-example.sh [=[
#!/usr/bin/env bash
set -u
mode=$1; shift
fail() { echo "check-kv-example: FAILED: $*" >&2; exit 1; }
out1=$("$@" 2>&1); rc1=$?
printf '%s\n' "$out1"
if [ "$mode" = denied ]; then
    [ "$rc1" -eq 1 ] || fail "exit status $rc1, expected 1"
    echo "check-kv-example: ok"
    exit 0
fi
[ "$rc1" -eq 0 ] || fail "first run: exit status $rc1, expected 0"
echo "--- second run"
out2=$("$@" 2>&1); rc2=$?
printf '%s\n' "$out2"
[ "$rc2" -eq 0 ] || fail "second run: exit status $rc2, expected 0"
for u in alice dave grace; do
    grep -Eq "^PutItem +$u +HTTP 200 " <<<"$out1" \
        || fail "first run: PutItem $u did not answer 200"
    grep -Eq "^PutItem +$u +HTTP 400 .*ConditionalCheckFailed" <<<"$out2" \
        || fail "second run: PutItem $u not refused as ConditionalCheckFailed"
    nodes=$(printf '%s\n%s\n' "$out1" "$out2" \
            | awk -v u="$u" '($1 == "PutItem" || $1 == "UpdateItem") && $2 == u {print $6}' \
            | sort -u)
    [ "$(grep -c . <<<"$nodes")" -eq 1 ] \
        || fail "the writes of $u went to more than one node:" $nodes
done
[ "$(grep -Ec '^UpdateItem +alice +HTTP 200 ' <<<"$out1")" -eq 5 ] \
    || fail "first run: not 5 UpdateItem of alice answering 200"
grep -Eq '^GetItem +alice +HTTP 200 .*visits=5$' <<<"$out1" \
    || fail "first run: the counter did not read 5"
grep -Eq '^GetItem +alice +HTTP 200 .*visits=10$' <<<"$out2" \
    || fail "second run: the counter did not read 10"
reads=$(printf '%s\n%s\n' "$out1" "$out2" | awk '$1 == "GetItem" {print $6}' | sort -u)
[ "$(grep -c . <<<"$reads")" -ge 2 ] || fail "every GetItem went to one node"
if [ "$mode" = gzip ]; then
    grep -Eq '^PutItem .*sent gzipped' <<<"$out1" || fail "no body was sent gzipped"
fi
echo "check-kv-example: ok"
]=])
set(alt_check_kv_example bash ${CMAKE_CURRENT_BINARY_DIR}/check-kv-example.sh)

if(ALT_BUILD_EXAMPLES AND TARGET kv-example)
  add_test(NAME example_kv-example
    COMMAND ${alt_with_cluster} --nodes 3 --
            ${alt_check_kv_example} ok $<TARGET_FILE:kv-example>
            --port {PORT} 127.0.0.2)
  # SigV4 through a fake domain, with a gzip body signed as sent.
  add_test(NAME example_kv-example_sigv4_gzip
    COMMAND ${alt_with_cluster} --nodes 3 --auth alternator:secret_pass --
            ${alt_check_kv_example} gzip $<TARGET_FILE:kv-example>
            --port {PORT} --fake-domain dog.scylladb.com
            --credentials alternator:secret_pass --compress 127.0.0.2)
  add_test(NAME example_kv-example_bad_secret
    COMMAND ${alt_with_cluster} --nodes 3 --auth alternator:secret_pass --
            ${alt_check_kv_example} denied $<TARGET_FILE:kv-example>
            --port {PORT} --credentials alternator:wrong 127.0.0.2)
  set_tests_properties(example_kv-example example_kv-example_sigv4_gzip
                       example_kv-example_bad_secret PROPERTIES TIMEOUT 120)
  add_test(NAME example_kv-example_usage
    COMMAND bash -c "\"$0\" --port 8000 >/dev/null 2>&1; a=$?; \"$0\" --port x 127.0.0.1 >/dev/null 2>&1; b=$?; \"$0\" --bogus 1 127.0.0.1 >/dev/null 2>&1; c=$?; echo \"no seed: $a, bad port: $b, bad option: $c\"; [ $a = 2 ] && [ $b = 2 ] && [ $c = 2 ]"
            $<TARGET_FILE:kv-example>)
endif()

# The installed package, used by a separate project.
set(alt_consumer_flags "")
if(ALT_SANITIZE)
  set(alt_consumer_flags "-fsanitize=address,undefined")
endif()
add_test(NAME install
  COMMAND ${CMAKE_COMMAND} -E env ALT_CONSUMER_FLAGS=${alt_consumer_flags}
          bash ${CMAKE_CURRENT_SOURCE_DIR}/install/run.sh
          ${CMAKE_COMMAND} ${CMAKE_C_COMPILER} ${PROJECT_BINARY_DIR}
          $<CONFIG> ${PROJECT_VERSION})
set_tests_properties(install PROPERTIES TIMEOUT 300)

# test_e2e reads the DynamoDB answers with json-c (the library's own
# dependency, found by the top CMakeLists.txt).
if(TARGET test_e2e)
  target_link_libraries(test_e2e PRIVATE PkgConfig::JSONC)
endif()

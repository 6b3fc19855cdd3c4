#!/usr/bin/env bash
# Self-test of the Alternator stand-in cluster, using curl only.
# Run: test/cluster/selftest.sh      (starts its own clusters via with-cluster.sh)
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "${1:-}" != "--inner" ]; then
    rc=0
    "$here/with-cluster.sh" --nodes 3 --topology "dc1:r1,dc1:r2,dc2:r1" --joining 3 \
        -- "$here/selftest.sh" --inner main || rc=1
    "$here/with-cluster.sh" --nodes 2 --auth "k:s" -- "$here/selftest.sh" --inner auth || rc=1
    "$here/with-cluster.sh" --nodes 2 --old-server -- "$here/selftest.sh" --inner old || rc=1
    "$here/with-cluster.sh" --nodes 3 --delist-delay 0 --hang-delist-delay 0 \
        -- "$here/selftest.sh" --inner delist0 || rc=1
    "$here/with-cluster.sh" --nodes 3 --delist-delay 300 --hang-delist-delay 300 \
        -- "$here/selftest.sh" --inner delist300 || rc=1
    exit $rc
fi

P=$ALT_CLUSTER_PORT
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
eq()   { if [ "$1" = "$2" ]; then ok; else bad "$3: got [$1] want [$2]"; fi; }
has()  { case "$1" in *"$2"*) ok ;; *) bad "$3: [$1] lacks [$2]" ;; esac; }

exec 4<>"/dev/tcp/127.0.0.1/$ALT_CLUSTER_CONTROL"
ctl() { echo "$*" >&4; IFS= read -r reply <&4; echo "$reply"; }

ln()  { curl -s "http://127.0.0.$1:$P/localnodes${2:-}"; }
api() {  # node op body [extra curl args]
    local n=$1 op=$2 body=$3; shift 3
    curl -s -H 'Content-Type: application/x-amz-json-1.0' \
        -H "X-Amz-Target: DynamoDB_20120810.$op" -d "$body" "$@" "http://127.0.0.$n:$P/"
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

case "$2" in
main)
    # topology dc1:r1, dc1:r2, dc2:r1; node 3 joining
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "own dc"
    eq "$(ln 3)" '[]' "dc2 with only a joining node"
    eq "$(ctl join 3)" OK "join"
    eq "$(ln 3)" '["127.0.0.3"]' "dc2"
    eq "$(ln 1 '?dc=dc2')" '["127.0.0.3"]' "dc=dc2"
    eq "$(ln 1 '?rack=r2')" '["127.0.0.2"]' "rack in own dc"
    eq "$(ln 3 '?rack=r2')" '[]' "rack in own dc (dc2)"
    eq "$(ln 3 '?dc=dc1&rack=r1')" '["127.0.0.1"]' "dc+rack"
    eq "$(ln 1 '?dc=nope')" '[]' "unknown dc"
    eq "$(ln 1 '?rack=')" '[]' "empty rack"
    eq "$(ln 1 '?dc=')" '[]' "empty dc"
    eq "$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.2:$P/localnodes")" application/json "ctype"
    eq "$(curl -s "http://127.0.0.2:$P/")" "healthy: 127.0.0.2:$P" "health"
    eq "$(code "http://127.0.0.2:$P/nothing")" 404 "other GET"

    # DynamoDB API through different nodes
    has "$(api 1 CreateTable '{"TableName":"tbl","KeySchema":[{"AttributeName":"p","KeyType":"HASH"},{"AttributeName":"c","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"p","AttributeType":"S"},{"AttributeName":"c","AttributeType":"N"}],"BillingMode":"PAY_PER_REQUEST"}')" '"TableName":"tbl"' CreateTable
    eq "$(api 2 PutItem '{"TableName":"tbl","Item":{"p":{"S":"a"},"c":{"N":"1"},"v":{"S":"x"}}}')" '{}' PutItem
    has "$(api 3 GetItem '{"TableName":"tbl","Key":{"p":{"S":"a"},"c":{"N":"1"}}}')" '"v":{"S":"x"}' GetItem
    eq "$(api 1 BatchWriteItem '{"RequestItems":{"tbl":[{"PutRequest":{"Item":{"p":{"S":"a"},"c":{"N":"2"}}}},{"PutRequest":{"Item":{"p":{"S":"a"},"c":{"N":"3"}}}}]}}')" '{"UnprocessedItems":{}}' BatchWriteItem
    has "$(api 2 Query '{"TableName":"tbl","KeyConditionExpression":"p = :p","ExpressionAttributeValues":{":p":{"S":"a"}}}')" '"Count":3' Query
    eq "$(api 3 ListTables '{}')" '{"TableNames":["tbl"]}' ListTables
    has "$(api 1 GetItem '{"TableName":"nope","Key":{"p":{"S":"a"}}}')" '"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"' "error type"
    has "$(api 1 GetItem '{"TableName":"tbl"}')" '"__type":"com.amazonaws.dynamodb.v20120810#ValidationException"' "error type rewritten"
    has "$(printf '{}' | gzip | curl -s --data-binary @- -H 'Content-Encoding: gzip' -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' "http://127.0.0.2:$P/")" '"TableNames"' "gzip body"

    # counters
    eq "$(ctl reset)" OK reset
    curl -s "http://127.0.0.1:$P/localnodes" "http://127.0.0.1:$P/localnodes" "http://127.0.0.1:$P/" "http://127.0.0.1:$P/x" >/dev/null
    api 1 ListTables '{}' >/dev/null
    st=$(ctl stats)
    has "$st" '{"i":1,"addr":"127.0.0.1","up":true,"localnodes":2,"health":1,"api":1,"other":1,"conns":2,"dropped":0,"open":0,"dc":"dc1","rack":"r1","hung":false,"listed":true}' "stats"

    # kill / revive: a killed node stays listed for the delist delay (20 s
    # by default, like gossip's failure detector), `kill I MS` sets it
    eq "$(ctl kill 2)" OK kill
    eq "$(code "http://127.0.0.2:$P/")" 000 "killed refuses"
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "killed still listed"
    has "$(ctl stats)" '"i":2,"addr":"127.0.0.2","up":false,' "killed stats up"
    has "$(ctl stats)" '"rack":"r2","hung":false,"listed":true}' "killed stats listed"
    eq "$(ctl kill 2 0)" OK "kill again, delay 0"
    eq "$(ln 1)" '["127.0.0.1"]' "killed, delay 0: not listed"
    has "$(ctl stats)" '"rack":"r2","hung":false,"listed":false}' "delisted stats"
    eq "$(ctl revive 2)" OK revive
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "revived listed"
    eq "$(code "http://127.0.0.2:$P/")" 200 "revived answers"
    eq "$(ctl kill 2 300)" OK "kill 300"
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "killed, delay 300: listed"
    sleep 0.5
    eq "$(ln 1)" '["127.0.0.1"]' "killed, delay 300: gone after 0.5 s"
    eq "$(ctl revive 2)" OK revive
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "revived listed again"
    has "$(ctl kill 2 x)" ERR "bad kill delay"
    has "$(ctl kill 2 -2)" ERR "bad kill delay -2"
    eq "$(code "http://127.0.0.2:$P/")" 200 "bad kill kills nothing"

    # hang / unhang: a hung node stays listed (for ever by default)
    eq "$(ctl hang 2)" OK hang
    eq "$(code -m 1 "http://127.0.0.2:$P/")" 000 "hung times out"
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "hung still listed"
    has "$(ctl stats)" '"rack":"r2","hung":true,"listed":true}' "hung stats"
    eq "$(ctl hang 2 0)" OK "hang again, delay 0"
    eq "$(ln 1)" '["127.0.0.1"]' "hung, delay 0: not listed"
    eq "$(ctl unhang 2)" OK unhang
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "unhung listed"
    eq "$(code -m 2 "http://127.0.0.2:$P/")" 200 "unhung answers"
    eq "$(ctl hang 2 300)" OK "hang 300"
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "hung, delay 300: listed"
    sleep 0.5
    eq "$(ln 1)" '["127.0.0.1"]' "hung, delay 300: gone after 0.5 s"
    eq "$(ctl unhang 2)" OK unhang
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "unhung listed again"

    # slow
    eq "$(ctl slow 1 400)" OK slow
    t=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$P/")
    has "$(awk -v t="$t" 'BEGIN{print (t >= 0.39) ? "slow" : "fast"}')" slow "slow delay $t"
    eq "$(ctl slow 1 0)" OK "slow off"

    # fail
    eq "$(ctl fail 3 500)" OK fail
    eq "$(api 3 ListTables '{}' -w ' %{http_code}')" '{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected failure on node 3"} 500' "fail 500"
    eq "$(ctl fail 3 0)" OK "fail off"
    eq "$(api 3 ListTables '{}' -o /dev/null -w '%{http_code}')" 200 "fail off works"

    # localnodes overrides
    eq "$(ctl 'localnodes 1 ["127.0.0.9", "x y"]')" OK "ln body"
    eq "$(ln 1)" '["127.0.0.9", "x y"]' "ln body served"
    eq "$(ctl localnodes 1 default)" OK "ln default"
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "ln restored"
    eq "$(ctl localnodes-status 1 503)" OK "ln status"
    eq "$(code "http://127.0.0.1:$P/localnodes")" 503 "ln status served"
    eq "$(ctl localnodes-status 1 0)" OK "ln status off"
    has "$(ctl localnodes-huge 1 100000)" "OK 1000" "ln huge"
    eq "$(ln 1 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);console.log(s.length>=100000&&a.length>5000?"big":"small")})')" big "ln huge served"
    eq "$(ctl localnodes-huge 1 0)" "OK 0" "ln huge off"

    # leave / join / add
    eq "$(ctl leave 2)" OK leave
    eq "$(ln 1)" '["127.0.0.1"]' "left not listed"
    eq "$(code "http://127.0.0.2:$P/")" 200 "left still serves"
    eq "$(ctl join 2)" OK join
    eq "$(ctl add)" "OK 4" add
    eq "$(ln 4)" '["127.0.0.1","127.0.0.2","127.0.0.4"]' "added in dc1"
    eq "$(ctl add dc2:r9)" "OK 5" "add dc:rack"
    eq "$(ln 1 '?dc=dc2&rack=r9')" '["127.0.0.5"]' "added dc2:r9"
    eq "$(api 5 ListTables '{}')" '{"TableNames":["tbl"]}' "added node serves API"

    # errors
    has "$(ctl kill 99)" "ERR" "bad node"
    has "$(ctl bogus)" "ERR" "bad command"
    ;;
auth)
    sig=(--aws-sigv4 "aws:amz:us-east-1:dynamodb" --connect-to "fake.domain:$P:127.0.0.2:$P")
    has "$(api 2 ListTables '{}')" 'MissingAuthenticationTokenException' "no auth"
    eq "$(curl -s "${sig[@]}" -u k:s -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -d '{}' "http://fake.domain:$P/")" '{"TableNames":[]}' "good sig"
    has "$(curl -s "${sig[@]}" -u k:wrong -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -d '{}' "http://fake.domain:$P/")" 'UnrecognizedClientException' "bad secret"
    has "$(curl -s "${sig[@]}" -u nobody:s -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -d '{}' "http://fake.domain:$P/")" 'UnrecognizedClientException' "bad key"
    has "$(curl -s "${sig[@]}" -u k:s -H 'X-Amz-Date: 20200101T000000Z' -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -d '{}' "http://fake.domain:$P/")" 'InvalidSignatureException' "old date"
    eq "$(code "http://127.0.0.1:$P/localnodes")" 200 "localnodes unauthenticated"
    eq "$(code "http://127.0.0.1:$P/")" 200 "health unauthenticated"
    ;;
old)
    eq "$(ln 1 '?rack=nonexistent')" '["127.0.0.1","127.0.0.2"]' "old server ignores query"
    ;;
delist0)  # --delist-delay 0 --hang-delist-delay 0: dropped at once
    eq "$(ctl kill 2)" OK kill
    eq "$(ln 1)" '["127.0.0.1","127.0.0.3"]' "killed not listed"
    has "$(ctl stats)" '"i":2,"addr":"127.0.0.2","up":false,' "killed stats up"
    eq "$(ctl hang 3)" OK hang
    eq "$(ln 1)" '["127.0.0.1"]' "hung not listed"
    has "$(ctl stats)" '"hung":true,"listed":false}' "hung stats"
    eq "$(ctl revive 2)" OK revive
    eq "$(ctl unhang 3)" OK unhang
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2","127.0.0.3"]' "back"
    eq "$(ctl kill 2 -1)" OK "kill -1"
    eq "$(ctl hang 3 -1)" OK "hang -1"
    sleep 0.1
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2","127.0.0.3"]' "-1: listed for ever"
    eq "$(ctl revive 2)" OK revive
    eq "$(ctl unhang 3)" OK unhang
    ;;
delist300)  # --delist-delay 300 --hang-delist-delay 300
    eq "$(ctl kill 2)" OK kill
    eq "$(ctl hang 3)" OK hang
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2","127.0.0.3"]' "both listed"
    sleep 0.5
    eq "$(ln 1)" '["127.0.0.1"]' "both gone after 0.5 s"
    eq "$(ctl revive 2)" OK revive
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2"]' "revived listed"
    eq "$(ctl unhang 3)" OK unhang
    eq "$(ln 1)" '["127.0.0.1","127.0.0.2","127.0.0.3"]' "unhung listed"
    ;;
esac
echo "$2: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

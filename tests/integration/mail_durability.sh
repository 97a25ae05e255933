#!/bin/bash
# Nothing acknowledged is lost: while a client sends 1,000 numbered
# messages (plaintext, four connections), the mail server is killed with
# SIGKILL at random moments several times and restarted; every message
# that got 250 must reach the sink afterwards (at least once).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail_lib.sh"

mail_need_peers || exit 0
cd "$TMP" || exit 1
T="$TRUSTNET"
M1=127.0.0.171 SINK=127.0.0.172
COUNT=${DURABILITY_COUNT:-1000}
"$T" ca init --dir ca --name "Corp Enterprise CA" >/dev/null &&
    "$T" ca issue --dir ca mail1.corp.test --out mail1 >/dev/null ||
    { not_ok "set up the CA"; exit 1; }
{
    mail_topology "corp.test" "mail1.corp.test $M1:2525"
    cat <<YAML
mail_routes:
  - domain: corp.test
    host: $SINK:2526
YAML
} >topology.yaml
mail_sink sink "$SINK" 2526
mail_serve mail1.corp.test "$M1" 2525 || exit 1

python3 "$PEERS/smtp_durability_client.py" --host "$M1" --port 2525 --count "$COUNT" \
    --conns 4 --acked acked.txt --to user@corp.test --deadline 240 >client.out 2>&1 &
CLIENT=$!
BG_PIDS+=("$CLIENT")
KILLS=0
for _ in 1 2 3 4 5 6 7 8; do
    sleep "0.$((RANDOM % 4 + 1))"
    kill -0 "$CLIENT" 2>/dev/null || break
    kill -9 "${MAIL_PIDS[0]}"
    wait "${MAIL_PIDS[0]}" 2>/dev/null
    KILLS=$((KILLS + 1))
    MAIL_PIDS=()
    MAIL_NAMES=()
    sleep 0.2
    mail_serve mail1.corp.test "$M1" 2525 || exit 1
done
wait "$CLIENT"
expect_grep "^$COUNT of $COUNT messages acknowledged" client.out \
    "the client got 250 for all $COUNT messages (server killed $KILLS times meanwhile)"
[ "$KILLS" -ge 3 ] && ok "the server was killed at least 3 times during the load" ||
    not_ok "the server was killed at least 3 times during the load" "only $KILLS"

# Every acknowledged number must arrive at the sink.
missing=0
for _ in $(seq 1 120); do
    grep -h "^Subject: durability " sink-sink/*.eml 2>/dev/null | awk '{print $3}' |
        tr -d '\r' | sort -u >delivered.txt
    missing=$(sort -u acked.txt | comm -23 - delivered.txt | wc -l)
    [ "$missing" -eq 0 ] && break
    sleep 0.5
done
if [ "$missing" -eq 0 ]; then
    ok "every acknowledged message was delivered"
else
    not_ok "every acknowledged message was delivered" "$missing missing, e.g. $(sort -u acked.txt |
        comm -23 - delivered.txt | head -3 | tr '\n' ' ')"
fi
total=$(grep -h "^Subject: durability " sink-sink/*.eml 2>/dev/null | wc -l)
echo "# $total deliveries for $COUNT messages ($((total - COUNT)) duplicates after kills)"
mail_stop_servers

# Shared by every hook and action of yard-classic; sourced, not executed.
# Paths are prefixed with YARD_CHARM_ROOT (empty on a real machine) so unit
# tests can run the hooks outside a container.

ROOT="${YARD_CHARM_ROOT:-}"
HOOK_LOG="$ROOT/var/log/yard-classic-hooks.log"
PROBE_LOG="$ROOT/var/log/yard-classic-probes.log"
STATE_DIR="$ROOT/var/lib/yard-classic"
CHARM="${JUJU_CHARM_DIR:-${CHARM_DIR:-$(cd "$(dirname "$0")/.." && pwd)}}"

# Replace blanks so every field stays one space-free token.
token() {
    local value="$*"
    value="${value//[[:space:]]/_}"
    printf '%s' "$value"
}

# Append one line describing this hook (or action) run; extra args are key=value.
record() {
    local hook="${JUJU_HOOK_NAME:-}"
    if [ -n "${JUJU_ACTION_NAME:-}" ]; then
        hook="action:${JUJU_ACTION_NAME}"
    elif [ -z "$hook" ]; then
        hook="$(basename "$0")"
    fi
    local extra="" kv
    for kv in "$@"; do
        extra="$extra $(token "$kv")"
    done
    mkdir -p "$(dirname "$HOOK_LOG")"
    printf 'time=%s unit=%s hook=%s remote-unit=%s remote-app=%s relation-id=%s machine=%s%s\n' \
        "$(date +%s.%N)" "${JUJU_UNIT_NAME:-}" "$hook" "${JUJU_REMOTE_UNIT:-}" \
        "${JUJU_REMOTE_APP:-}" "${JUJU_RELATION_ID:-}" "${JUJU_MACHINE_ID:-}" "$extra" \
        >> "$HOOK_LOG"
}

is_leader() {
    [ "$(is-leader --format=json)" = "true" ]
}

# Publish the greeting on the given relation ids: unit bag, and app bag on the leader.
publish() {
    local greeting rid leader=false
    greeting="$(config-get greeting)"
    if is_leader; then
        leader=true
    fi
    for rid in "$@"; do
        relation-set -r "$rid" greeting="$greeting"
        if [ "$leader" = true ]; then
            relation-set -r "$rid" --app greeting="$greeting" leader-unit="$JUJU_UNIT_NAME"
        fi
    done
}

all_relation_ids() {
    relation-ids cluster
    relation-ids data
}

# Run a hook tool expected to be refused, and log its exit code and error line.
probe() {
    local name="$1" rc=0 err
    shift
    err="$("$@" 2>&1 >/dev/null)" || rc=$?
    mkdir -p "$(dirname "$PROBE_LOG")"
    printf 'time=%s unit=%s probe=%s rc=%s err=%s\n' "$(date +%s.%N)" \
        "${JUJU_UNIT_NAME:-}" "$name" "$rc" "$(token "$(printf '%s' "$err" | head -n 1)")" \
        >> "$PROBE_LOG"
}

# Save the remote unit's whole bag (JSON) under the endpoint's state folder.
save_remote_bag() {
    local dir="$STATE_DIR/$JUJU_RELATION"
    mkdir -p "$dir"
    if [ -n "${JUJU_REMOTE_UNIT:-}" ]; then
        relation-get --format=json - "$JUJU_REMOTE_UNIT" > "$dir/${JUJU_REMOTE_UNIT//\//_}"
    else
        relation-get --format=json --app - "$JUJU_REMOTE_APP" > "$dir/app_${JUJU_REMOTE_APP}"
    fi
}

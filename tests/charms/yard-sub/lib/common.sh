# Shared by every hook of yard-sub; sourced, not executed.

ROOT="${YARD_CHARM_ROOT:-}"
HOOK_LOG="$ROOT/var/log/yard-sub-hooks.log"

# Append one line describing this hook run; extra args are key=value tokens.
record() {
    local hook="${JUJU_HOOK_NAME:-}" extra="" kv
    if [ -z "$hook" ]; then
        hook="$(basename "$0")"
    fi
    for kv in "$@"; do
        kv="${kv//[[:space:]]/_}"
        extra="$extra $kv"
    done
    mkdir -p "$(dirname "$HOOK_LOG")"
    printf 'time=%s unit=%s hook=%s remote-unit=%s remote-app=%s relation-id=%s machine=%s principal=%s%s\n' \
        "$(date +%s.%N)" "${JUJU_UNIT_NAME:-}" "$hook" "${JUJU_REMOTE_UNIT:-}" \
        "${JUJU_REMOTE_APP:-}" "${JUJU_RELATION_ID:-}" "${JUJU_MACHINE_ID:-}" \
        "${JUJU_PRINCIPAL_UNIT:-}" "$extra" >> "$HOOK_LOG"
}

report() {
    status-set active "attached to ${JUJU_PRINCIPAL_UNIT:-nothing}"
}

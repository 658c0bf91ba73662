# Shared by every hook of yard-storage; sourced, not executed.
set -eu
HOOK_LOG=/var/log/yard-storage-hooks.log

# Append one line describing this hook run (space-free tokens).
record() {
    local hook="${JUJU_HOOK_NAME:-$(basename "$0")}" location=""
    if [ -n "${JUJU_STORAGE_ID:-}" ]; then location="$(storage-get location)"; fi
    printf 'time=%s unit=%s hook=%s storage=%s location=%s\n' "$(date +%s.%N)" \
        "${JUJU_UNIT_NAME:-}" "$hook" "${JUJU_STORAGE_ID:-}" "$location" >> "$HOOK_LOG"
}

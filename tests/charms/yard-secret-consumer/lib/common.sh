# Shared by every hook of yard-secret-consumer; sourced, not executed.
HOOK_LOG="/var/log/yard-secret-consumer-hooks.log"

# Append one line: the hook, the unit and the secret env Juju sets for secret hooks.
record() {
    printf 'unit=%s hook=%s secret-id=%s secret-label=%s secret-revision=%s %s\n' \
        "${JUJU_UNIT_NAME:-}" "${JUJU_HOOK_NAME:-$(basename "$0")}" "${JUJU_SECRET_ID-unset}" \
        "${JUJU_SECRET_LABEL-unset}" "${JUJU_SECRET_REVISION-unset}" "$*" >> "$HOOK_LOG"
}

STATE_DIR="/var/lib/yard-secret-consumer"

# Write one value to a root-only file (credentials are 0600).
keep() {
    mkdir -p "$STATE_DIR"
    (umask 077; printf '%s\n' "$2" > "$STATE_DIR/$1")
}

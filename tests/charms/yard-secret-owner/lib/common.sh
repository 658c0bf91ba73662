# Shared by every hook of yard-secret-owner; sourced, not executed.
HOOK_LOG="/var/log/yard-secret-owner-hooks.log"

# Append one line: the hook, the unit and the secret env Juju sets for secret hooks.
record() {
    printf 'unit=%s hook=%s secret-id=%s secret-label=%s secret-revision=%s %s\n' \
        "${JUJU_UNIT_NAME:-}" "${JUJU_HOOK_NAME:-$(basename "$0")}" "${JUJU_SECRET_ID-unset}" \
        "${JUJU_SECRET_LABEL-unset}" "${JUJU_SECRET_REVISION-unset}" "$*" >> "$HOOK_LOG"
}

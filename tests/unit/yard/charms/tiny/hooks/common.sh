# Shared by every hook of the tiny test charm: log the hook, then act on it.
set -eu
hook=$(basename "$0")
log="$CHARM_DIR/../hooks.log"
echo "hook=$hook unit=$JUJU_UNIT_NAME remote-unit=${JUJU_REMOTE_UNIT-} remote-app=${JUJU_REMOTE_APP-} rid=${JUJU_RELATION_ID-} departing=${JUJU_DEPARTING_UNIT-} principal=${JUJU_PRINCIPAL_UNIT-unset}" >> "$log"
greeting=$(config-get greeting)
case "$hook" in
    install)
        status-set maintenance "installing" ;;
    leader-elected)
        leader-set leader-unit="$JUJU_UNIT_NAME" ;;
    config-changed)
        open-port 8080/tcp
        for rid in $(relation-ids cluster) $(relation-ids db); do
            relation-set -r "$rid" greeting="$greeting"
            if [ "$(is-leader)" = "True" ]; then relation-set -r "$rid" --app greeting="$greeting"; fi
        done
        if [ "$(config-get fail-config-changed)" = "True" ]; then exit 1; fi
        status-set active "greeting: $greeting" ;;
    start)
        application-version-set 1
        status-set active "greeting: $greeting" ;;
    cluster-relation-created|db-relation-created)
        relation-set greeting="$greeting"
        if [ "$(is-leader)" = "True" ]; then relation-set --app greeting="$greeting"; fi ;;
    backend-relation-changed)
        relation-get - "${JUJU_REMOTE_UNIT:-}" > "$CHARM_DIR/../backend-seen" || true ;;
esac

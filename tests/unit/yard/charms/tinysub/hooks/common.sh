# Shared by every hook of the tinysub test charm.
set -eu
hook=$(basename "$0")
echo "hook=$hook unit=$JUJU_UNIT_NAME remote-unit=${JUJU_REMOTE_UNIT-} principal=${JUJU_PRINCIPAL_UNIT-}" >> "$CHARM_DIR/../hooks.log"
case "$hook" in
    start) status-set active "on ${JUJU_PRINCIPAL_UNIT}" ;;
esac

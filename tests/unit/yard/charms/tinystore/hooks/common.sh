# Shared by every hook of the tinystore test charm: log the hook and its storage.
set -eu
hook=$(basename "$0")
log="$CHARM_DIR/../hooks.log"
loc=""
if [ -n "${JUJU_STORAGE_ID-}" ]; then loc=$(storage-get location); fi
echo "hook=$hook storage=${JUJU_STORAGE_ID-} location=$loc list=$(storage-list | tr '\n' ',')" >> "$log"
case "$hook" in
    # the local test provider rewrites paths in argv and env only, not in tool output
    data-storage-attached) touch "${YARD_MACHINE_ROOT-}$loc/attached-marker" ;;
    start) status-set active "" ;;
esac

# Shared by every hook of yard-resource; sourced, not executed.
set -u
hook=$(basename "$0")
mkdir -p /var/lib/yard-resource
echo "time=$(date +%s.%N) unit=${JUJU_UNIT_NAME} hook=${hook}" >> /var/log/yard-resource-hooks.log
if path=$(resource-get payload 2>/var/lib/yard-resource/error); then
    rm -f /var/lib/yard-resource/error
    status-set active "payload: $(head -n 1 "$path")"
else
    status-set blocked "resource payload is missing: yard attach-resource yard-resource payload=FILE"
fi
exit 0

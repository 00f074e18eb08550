#!/bin/sh
# Container entry point: every replica must register an address other containers can dial.
# The bind address (0.0.0.0) is not one, and a scaled service has no name per replica, so the
# default is this container's own IP address on the Compose network.
set -eu
address="$(hostname -i 2>/dev/null | awk '{print $1}')" || address=""
if [ -n "$address" ]; then
  export SERVICE_ADVERTISE_ADDRESS="${SERVICE_ADVERTISE_ADDRESS:-$address}"
  export ROUTER_ADVERTISE_ADDRESS="${ROUTER_ADVERTISE_ADDRESS:-$address}"
fi
exec "$@"

#!/bin/sh
# Creates the namespace and the search attributes the connector's runs carry.
set -eu
ns="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do sleep 2; done
temporal operator namespace describe -n "$ns" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$ns" --retention 30d --address "$TEMPORAL_ADDRESS"
for attr in FetcherId ConnectionId FetcherKind RunOutcome; do
  temporal operator search-attribute create -n "$ns" --name "$attr" --type Keyword --address "$TEMPORAL_ADDRESS" --yes \
    || echo "search attribute $attr already exists"
done
echo "temporal namespace $ns ready"

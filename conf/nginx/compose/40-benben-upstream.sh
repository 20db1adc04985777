#!/bin/sh
# compose.yaml's nginx: run by the nginx image's entrypoint (every executable *.sh in
# /docker-entrypoint.d/) before nginx starts. Writes conf/nginx/benben.conf, as shipped, into
# conf.d with its upstream servers replaced by one, the app service (BENBEN_UPSTREAM, host:port:
# nginx resolves the name to every replica when it starts), keeping the shipped server options,
# and its access log sent to the container's output. Checked by tests/deploy/test_deploy_compose.py.
set -eu

source="${BENBEN_NGINX_SOURCE:-/etc/nginx/benben/benben.conf}"
target="${BENBEN_NGINX_TARGET:-/etc/nginx/conf.d/benben.conf}"
upstream="${BENBEN_UPSTREAM:?BENBEN_UPSTREAM (host:port of the Benben instances) is not set}"

awk -v upstream="$upstream" '
    /^[ \t]*server 127\.0\.0\.1:[0-9]+ / {
        if (!replaced) { sub(/127\.0\.0\.1:[0-9]+/, upstream); print; replaced = 1 }
        next
    }
    { sub(/ \/var\/log\/nginx\/benben\.access\.log /, " /dev/stdout "); print }
' "$source" >"$target"

# A benben.conf whose layout changed must stop the container, not serve something else.
if ! grep -q "^[[:space:]]*server $upstream " "$target" || ! grep -q " /dev/stdout " "$target"; then
    echo "$0: $source has no upstream server or access log line to replace" >&2
    exit 1
fi
echo "$0: $target: upstream $upstream"

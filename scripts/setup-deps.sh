#!/bin/sh
# Install the Debian packages ztwatch needs to build, test and run its demo.
# Idempotent: installs only what is missing, and runs apt-get update at most once.
set -eu

PKGS="build-essential pkg-config libncurses-dev libnats-dev libjansson-dev libjwt-dev \
libsqlite3-dev libssl-dev libcurl4-openssl-dev nats-server tmux openssl sqlite3 python3"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "setup-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/bin/sh
# install-deps.sh PKG... - install the Debian packages that are missing.
# Does nothing (and needs no root) when everything is already installed.
set -eu
missing=""
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
echo "installing missing packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "error: run as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix is a test peer only: no system-wide mail configuration, and no
# instance started by the package (tests run their own).
case " $missing " in *" postfix "*)
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections ;;
esac
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

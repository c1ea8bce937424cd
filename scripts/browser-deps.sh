#!/bin/sh
# Installs what the dashboard's browser test needs when it is missing: Debian's chromium and
# playwright-core (into .browser/, never globally). It never fails the build: where installing
# is impossible (no apt-get, no root, no network), tests/live/test_dashboard.py skips and says
# what is missing.
set -u
PLAYWRIGHT_CORE="playwright-core@1.65.1"

if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1; then
        as_root=""
        if [ "$(id -u)" -ne 0 ]; then as_root="sudo -n"; fi
        echo "browser-deps: installing chromium with apt-get"
        { $as_root apt-get update -q && $as_root apt-get install -y -q chromium; } >/dev/null 2>&1 \
            || echo "browser-deps: could not install chromium; the browser test will skip"
    else
        echo "browser-deps: no apt-get to install chromium; the browser test will skip"
    fi
fi

if [ ! -d .browser/node_modules/playwright-core ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "browser-deps: installing $PLAYWRIGHT_CORE into .browser/"
        npm install --prefix .browser --no-audit --no-fund --silent "$PLAYWRIGHT_CORE" \
            || echo "browser-deps: could not install $PLAYWRIGHT_CORE; the browser test will skip"
    else
        echo "browser-deps: npm is missing; the browser test will skip"
    fi
fi
exit 0

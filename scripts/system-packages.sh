#!/usr/bin/env bash
# Installs the desktop and browser the tests drive (Debian/Ubuntu packages) when they are missing.
# As root it installs them with apt-get; otherwise it prints the exact command to run.
set -euo pipefail

packages=(xvfb xauth xdotool x11-utils x11-xserver-utils openbox mousepad xclip xsel dbus-x11 fonts-dejavu-core chromium)
tools=(Xvfb xauth xdotool xwininfo xprop xrandr openbox mousepad xclip xsel dbus-launch chromium)

missing=()
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Missing tools for the desktop and browser tests: ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" </dev/null
else
  echo "Install them with:"
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages[*]}"
  echo "Without them the desktop and browser tests are skipped (and fail under CI=true)."
fi

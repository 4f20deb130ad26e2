#!/usr/bin/env bash
# What `npm start` and `npm test` need besides the npm packages: moto_server (the
# AWS emulator) and OpenSSH (sshd plays the partners' SFTP servers; ssh-keygen and
# sftp come with it); for tests also Chromium (the console's browser test) and GnuPG
# (gpg plays partners that encrypt and sign their files). npm runs this before both
# (prestart, pretest); .ci/run too.
#
# It uses what is already installed and installs what is missing where it can:
# OpenSSH with apt-get (as root or with passwordless sudo) or Homebrew, moto with
# pip into the project's own .venv. Where it cannot, it stops at once and prints
# the exact command to run.
#
#   dev/setup.sh start   what npm start needs
#   dev/setup.sh test    what npm test needs (the same, plus gpg and Chromium, and cfn-lint when it can)
set -euo pipefail

purpose=${1:-start}
case "$purpose" in start | test) ;; *) echo "usage: dev/setup.sh start|test" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
# Where sshd lives besides PATH (sbin is often not on a user's PATH).
sbin_dirs=${PARTNER_INGEST_SBIN_DIRS-/usr/sbin:/usr/local/sbin:/sbin:/opt/homebrew/sbin}

stop() {
  printf 'partner-ingest setup: %s\n' "$1" >&2
  [ $# -gt 1 ] && printf 'Run:\n    %s\nthen run this command again.\n' "$2" >&2
  exit 1
}

# The path of a program on PATH or in the sbin folders, or nothing.
find_program() {
  command -v "$1" 2>/dev/null && return 0
  local dir
  for dir in ${sbin_dirs//:/ }; do
    [ -x "$dir/$1" ] && { echo "$dir/$1"; return 0; }
  done
  return 1
}

os_family() {
  if [ "$(uname -s)" = Darwin ]; then echo macos
  elif grep -qsE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release; then echo debian
  else echo other
  fi
}

# "" when we are root, "sudo" when sudo works without a password; fails otherwise.
root_prefix() {
  if [ "$(id -u)" = 0 ]; then echo ""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then echo sudo
  else return 1
  fi
}

# install_system <what> <debian packages> <homebrew formulae>
install_system() {
  local what=$1 debs=$2 brews=$3 prefix
  case "$(os_family)" in
    debian)
      local command="sudo apt-get update && sudo apt-get install -y $debs"
      command -v apt-get >/dev/null 2>&1 || stop "$what is missing and apt-get is not on PATH." "$command"
      prefix=$(root_prefix) || stop "$what is missing; installing it needs root (not root, no passwordless sudo)." "$command"
      echo "setup: installing $what ($debs) with apt-get"
      $prefix apt-get update -qq
      $prefix env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $debs >/dev/null
      ;;
    macos)
      command -v brew >/dev/null 2>&1 || stop "$what is missing and Homebrew is not installed (https://brew.sh)." "brew install $brews"
      echo "setup: installing $what ($brews) with Homebrew"
      brew install $brews
      ;;
    *) stop "$what is missing; install it with your package manager, e.g." "apt-get install -y $debs   # or: brew install $brews" ;;
  esac
}

ensure_openssh() {
  local missing=""
  for program in sshd ssh-keygen sftp; do
    find_program "$program" >/dev/null || missing="$missing $program"
  done
  [ -z "$missing" ] && return 0
  install_system "OpenSSH (${missing# })" "openssh-server openssh-client" openssh
  for program in sshd ssh-keygen sftp; do
    find_program "$program" >/dev/null || stop "$program is still missing after installing OpenSSH."
  done
}

# Chromium, which the operator console's end-to-end test drives (test/support/browser.ts
# looks for the same names on PATH).
chromium_on_path() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

ensure_chromium() {
  chromium_on_path && return 0
  install_system "Chromium (for the console's browser test)" chromium "--cask chromium"
  chromium_on_path || stop "chromium is still not on PATH after installing it."
}

# The tests make a partner's OpenPGP keys and files with gpg; the service itself
# decrypts with OpenPGP.js and needs no gpg.
ensure_gnupg() {
  find_program gpg >/dev/null && return 0
  install_system "GnuPG (gpg)" gnupg gnupg
  find_program gpg >/dev/null || stop "gpg is still missing after installing GnuPG."
}

# A Python package's command: on PATH, else in the project's .venv, else pip-installed there.
# ensure_python_command <command> <pip requirement> <required: yes|no>
ensure_python_command() {
  local command=$1 requirement=$2 required=$3
  find_program "$command" >/dev/null && return 0
  [ -x "$venv/bin/$command" ] && return 0
  local install="python3 -m venv .venv && .venv/bin/pip install '$requirement'"
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1; then
    [ "$required" = yes ] || { echo "setup: $command skipped (needs python3 with venv)"; return 0; }
    stop "$command is missing, and python3 with its venv module is needed to install it." \
      "$( [ "$(os_family)" = debian ] && echo 'sudo apt-get install -y python3-venv && ')$install"
  fi
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  echo "setup: installing $requirement into .venv with pip"
  if ! "$venv/bin/pip" install -q "$requirement"; then
    [ "$required" = yes ] || { echo "setup: $command skipped (pip could not install it)"; return 0; }
    stop "pip could not install $requirement into .venv (is PyPI reachable?)." ".venv/bin/pip install '$requirement'"
  fi
}

[ -x "$root/node_modules/.bin/node" ] || stop "the npm packages are not installed." "npm ci"
ensure_openssh
ensure_python_command moto_server 'moto[server]>=5.1,<6' yes
[ "$purpose" = test ] && ensure_gnupg
[ "$purpose" = test ] && ensure_python_command cfn-lint 'cfn-lint>=1,<2' no
[ "$purpose" = test ] && ensure_chromium

moto=$(find_program moto_server || echo "$venv/bin/moto_server")
echo "setup: node $("$root/node_modules/.bin/node" --version), moto_server $moto, sshd $(find_program sshd)"

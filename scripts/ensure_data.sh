#!/usr/bin/env bash
# Make sure Fashion-MNIST is on this machine (used by `make demo`).
#
# Looks where ember.data.FashionMNIST looks, in the same order:
#   1. the directory given as $1 (optional), or $1/fashion-mnist
#   2. the per-user cache: $EMBER_DATA/fashion-mnist, else ${XDG_CACHE_HOME:-~/.cache}/ember/fashion-mnist
#   3. /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist package;
#      EMBER_FASHION_SYSTEM_DIR overrides the path)
# Found: prints where and exits 0. Not found: on Debian/Ubuntu installs the package with
# apt-get (as root, or through sudo when available) unless EMBER_NO_INSTALL=1; otherwise prints
# how to get the data and exits 1.
set -u

FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
SYSTEM_DIR="${EMBER_FASHION_SYSTEM_DIR:-/usr/share/datasets/fashion-mnist}"

if [ -n "${EMBER_DATA:-}" ]; then
    CACHE_DIR="$EMBER_DATA/fashion-mnist"
else
    CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/ember/fashion-mnist"
fi

has_files() {  # all four IDX files, gzipped or not, in directory $1
    local f
    for f in $FILES; do
        [ -f "$1/$f.gz" ] || [ -f "$1/$f" ] || return 1
    done
    return 0
}

find_data() {
    local d
    for d in ${1:+"$1" "$1/fashion-mnist"} "$CACHE_DIR" "$SYSTEM_DIR"; do
        if has_files "$d"; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

if where=$(find_data "${1:-}"); then
    echo "Fashion-MNIST found in $where"
    exit 0
fi

if [ "${EMBER_NO_INSTALL:-0}" != "1" ] && command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then
        run=""
    elif command -v sudo >/dev/null 2>&1; then
        run="sudo"
    else
        run="none"
    fi
    if [ "$run" != "none" ]; then
        echo "Fashion-MNIST not found; installing Debian's dataset-fashion-mnist package..."
        if $run apt-get update && $run apt-get install -y dataset-fashion-mnist; then
            if where=$(find_data "${1:-}"); then
                echo "Fashion-MNIST found in $where"
                exit 0
            fi
        fi
        echo "installing dataset-fashion-mnist did not provide the files" >&2
    fi
fi

cat >&2 <<MSG
Fashion-MNIST not found. Looked in:
${1:+  - $1 (and $1/fashion-mnist)
}  - $CACHE_DIR (per-user cache; set EMBER_DATA to move it)
  - $SYSTEM_DIR (Debian's dataset-fashion-mnist package)
How to get it:
  - on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist
  - or put the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
    t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in $CACHE_DIR
    (or any directory, passed as root=<dir> to ember.data.FashionMNIST)
  - or run python -c "import ember.data as d; d.FashionMNIST(download=True)" on a machine that is online
MSG
exit 1

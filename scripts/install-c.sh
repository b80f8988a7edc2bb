#!/usr/bin/env bash
# Builds the rtwire C library and installs it for C/C++ programs:
#   $PREFIX/lib/librtwire.so, $PREFIX/lib/librtwire.a,
#   $PREFIX/include/rtwire.h, $PREFIX/include/rtwire.hpp (C++),
#   $PREFIX/lib/pkgconfig/rtwire.pc
# so that `cc app.c $(pkg-config --cflags --libs rtwire)` works
# (add `--static` for the static library).
#
#   PREFIX=/usr/local scripts/install-c.sh      (default PREFIX: /usr/local)
#   PROFILE=debug NO_BUILD=1 PREFIX=/tmp/x scripts/install-c.sh
#     PROFILE: cargo profile to install (release by default)
#     NO_BUILD=1: install what is already built
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${PREFIX:-/usr/local}
profile=${PROFILE:-release}
target_dir=${CARGO_TARGET_DIR:-$root/target}
if [ "${NO_BUILD:-0}" != 1 ]; then
  if [ "$profile" = release ]; then
    cargo build --manifest-path "$root/Cargo.toml" -p rtwire-ffi --release
  else
    cargo build --manifest-path "$root/Cargo.toml" -p rtwire-ffi --profile "$profile"
  fi
fi
dir="$target_dir/$profile"
[ "$profile" = dev ] && dir="$target_dir/debug"
version=$(sed -n 's/^#define RTWIRE_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' "$root/include/rtwire.h" | paste -sd.)
install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0755 "$dir/librtwire.so" "$prefix/lib/librtwire.so"
install -m 0644 "$dir/librtwire.a" "$prefix/lib/librtwire.a"
install -m 0644 "$root/include/rtwire.h" "$prefix/include/rtwire.h"
install -m 0644 "$root/include/rtwire.hpp" "$prefix/include/rtwire.hpp"
cat > "$prefix/lib/pkgconfig/rtwire.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: rtwire
Description: Real-time web connections (WebSocket; SSE and HTTP transports to come)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lrtwire
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
PC
echo "installed rtwire $version ($profile) into $prefix"

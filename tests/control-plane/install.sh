#!/usr/bin/env bash
# Installs the control plane the real-apiserver tests run against: etcd from
# Debian's packages and a kube-apiserver built offline from Debian's
# `kubernetes` source package. Prints the folder holding `etcd` and
# `kube-apiserver`, the form KUBEBUILDER_ASSETS takes.
#
# The build is cached outside the repository, keyed by version, so a kept
# machine builds once (about 6 minutes on 2 cores). With KUBEBUILDER_ASSETS
# already pointing at envtest binaries nothing is installed.
#
# Fails loudly: the tier it feeds must not be skipped.
set -euo pipefail

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  for bin in etcd kube-apiserver; do
    [[ -x "$KUBEBUILDER_ASSETS/$bin" ]] || {
      echo "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $bin" >&2
      exit 1
    }
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

cache_root="${AZWI_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/azure-wi/control-plane}"
log() { echo "control-plane: $*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# Source packages need a deb-src entry: derive it from the machine's own
# Debian source list instead of naming any mirror here.
src_list=/etc/apt/sources.list.d/azwi-deb-src.sources
if ! apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes'; then
  [[ -f /etc/apt/sources.list.d/debian.sources ]] || {
    echo "no /etc/apt/sources.list.d/debian.sources to derive a deb-src entry from" >&2
    exit 1
  }
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
    as_root tee "$src_list" >/dev/null
  as_root apt-get update -qq
fi

version=$(apt-cache showsrc kubernetes | sed -n 's/^Version: //p' | head -n1)
[[ -n "$version" ]] || { echo "apt has no source package kubernetes" >&2; exit 1; }
dest="$cache_root/$version"
if [[ -x "$dest/kube-apiserver" && -x "$dest/etcd" ]]; then
  echo "$dest"
  exit 0
fi

log "installing build dependencies and etcd"
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  etcd-server golang-1.19-go rsync dpkg-dev golang-github-modern-go-reflect2-dev >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "fetching the kubernetes $version source package"
(cd "$work" && apt-get source -qq kubernetes >&2)
tree=$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'kubernetes-*' | head -n1)
[[ -d "$tree/vendor" ]] || { echo "the kubernetes source has no vendor/ folder" >&2; exit 1; }

# The vendored reflect2 v1.0.1 crashes the apiserver under Go 1.18 and later
# the first time it calls a webhook; Debian ships the fixed 1.0.2.
reflect2="$tree/vendor/github.com/modern-go/reflect2"
find "$reflect2" -maxdepth 1 \( -name '*.go' -o -name '*.s' \) -delete
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go \
   /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$reflect2/"

log "building kube-apiserver (offline, Go 1.19)"
(
  cd "$tree"
  export PATH="/usr/lib/go-1.19/bin:$PATH" GOPROXY=off CGO_ENABLED=0 GOFLAGS=-mod=vendor
  make WHAT=cmd/kube-apiserver >&2
)

mkdir -p "$dest.tmp"
cp "$tree/_output/bin/kube-apiserver" "$dest.tmp/"
cp "$(command -v etcd || echo /usr/bin/etcd)" "$dest.tmp/"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
log "installed in $dest"
echo "$dest"

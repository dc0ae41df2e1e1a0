#!/usr/bin/env bash
# Builds the local Kubernetes control plane used by the k8s tests and
# `npm run k8s:up` into tools/k8s/bin (git-ignored):
#
#   kube-apiserver, kube-controller-manager, kube-scheduler   k8s.io/kubernetes v1.34.4  ┐ one `go build` of the wrapper
#   etcd                                                      etcd/server/v3 v3.6.4      ┘ module scripts/k8s/kubernetes
#   kwok                                                      `go install sigs.k8s.io/kwok/cmd/kwok@v0.8.0`
#
# The two builds run side by side (the linker is single-threaded, so kwok's
# compile fills the gaps). It also copies the Gateway API HTTPRoute CRD
# (sigs.k8s.io/gateway-api) into tools/k8s/crds for the canary tests.
#
# Nothing is rebuilt when the inputs (go.mod, go.sum, versions, Go version,
# flags) are unchanged: stamp files next to the binaries record them. Go's
# build cache for this build lives in tools/k8s/cache/go-build, so a version
# bump rebuilds incrementally and the build never evicts other projects' cache.
#
# Usage: scripts/k8s/build.sh [--force]   (K8S_BIN_DIR / K8S_GOCACHE: other output / cache folders)
# Needs Go >= 1.26 (kwok v0.8.0 says go 1.26.0); reaches only Go's module proxy.
# Prints a progress line every 10 s and the timings at the end. A cold build
# is long: see docs/kubernetes.md for measured figures.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
K8S_VERSION="v1.34.4"
GATEWAY_API_VERSION="v1.4.0"
MODULE_DIR="$ROOT/scripts/k8s/kubernetes"
BIN="${K8S_BIN_DIR:-$ROOT/tools/k8s/bin}"
CACHE="$ROOT/tools/k8s/cache"
CRDS="$ROOT/tools/k8s/crds"
KWOK_VERSION="v0.8.0"
PACKAGES=(
  k8s.io/kubernetes/cmd/kube-apiserver
  k8s.io/kubernetes/cmd/kube-controller-manager
  k8s.io/kubernetes/cmd/kube-scheduler
  go.etcd.io/etcd/server/v3
)
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler etcd)

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; else
    echo "scripts/k8s/build.sh: Go is not installed (get Go >= 1.26 from https://go.dev/dl/)" >&2; exit 1
  fi
fi
GO_VERSION="$(go env GOVERSION)"
mkdir -p "$BIN" "$CACHE/go-build" "$CRDS"
export GOCACHE="${K8S_GOCACHE:-$CACHE/go-build}"
export GOFLAGS="-buildvcs=false"
export CGO_ENABLED=0
# The pinned modules build with the local toolchain; never download another one.
export GOTOOLCHAIN=local

T0=$(date +%s)
fmt_s() { local s=$1; printf '%dm%02ds' $((s / 60)) $((s % 60)); }
log() { printf '[k8s build %s] %s\n' "$(fmt_s $(( $(date +%s) - T0 )))" "$*" >&2; }

# Runs a Go command, printing one progress line every 10 s (elapsed, modules
# downloaded, packages compiled) instead of Go's per-package flood; shows the
# last lines of output when it fails.
run_go() {
  local label=$1; shift
  local started; started=$(date +%s)
  local out; out="$(mktemp)"
  ( "$@" >"$out" 2>&1 ) &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 10
    if kill -0 "$pid" 2>/dev/null; then
      local pkgs mods
      pkgs=$(grep -cv '^go: downloading' "$out" || true)
      mods=$(grep -c '^go: downloading' "$out" || true)
      log "  … $label: $(fmt_s $(( $(date +%s) - started ))) elapsed, $mods modules downloaded, $pkgs packages compiled"
    fi
  done
  local rc=0
  wait "$pid" || rc=$?
  if [ $rc -ne 0 ]; then
    log "$label FAILED (exit $rc); last output:"
    tail -40 "$out" >&2
    rm -f "$out"
    exit $rc
  fi
  local compiled; compiled=$(grep -cv '^go: downloading' "$out" || true)
  rm -f "$out"
  log "$label done in $(fmt_s $(( $(date +%s) - started ))) ($compiled packages compiled)"
}

# ── Binaries ─────────────────────────────────────────────────────────────────
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
kube_stamp=$({ echo "$GO_VERSION $ldflags ${PACKAGES[*]}"; cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum"; } | sha256sum | cut -c1-16)
kwok_stamp=$(echo "$GO_VERSION kwok $KWOK_VERSION" | sha256sum | cut -c1-16)

fresh() { # stamp-file stamp binaries...
  local file=$1 want=$2; shift 2
  [ "$FORCE" = 0 ] && [ -f "$file" ] && [ "$(cat "$file")" = "$want" ] || return 1
  local b; for b in "$@"; do [ -x "$BIN/$b" ] || return 1; done
}

build_kube() {
  rm -f "$BIN/.stamp-kube"
  run_go "kubernetes $K8S_VERSION + etcd" env -C "$MODULE_DIR" go build -v -trimpath -ldflags "$ldflags" -o "$BIN/" "${PACKAGES[@]}"
  # `go build -o DIR/` names go.etcd.io/etcd/server/v3 after its last element without the major version.
  if [ -x "$BIN/server" ]; then mv -f "$BIN/server" "$BIN/etcd"; fi
  local b; for b in "${BINARIES[@]}"; do [ -x "$BIN/$b" ] || { log "missing $BIN/$b after the build"; return 1; }; done
  echo "$kube_stamp" >"$BIN/.stamp-kube"
}

build_kwok() {
  rm -f "$BIN/.stamp-kwok"
  # Outside any module, so `go install pkg@version` uses kwok's own go.mod.
  run_go "kwok $KWOK_VERSION" env -C "$CACHE" GOBIN="$BIN" go install -v -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  echo "$kwok_stamp" >"$BIN/.stamp-kwok"
}

pids=()
if fresh "$BIN/.stamp-kube" "$kube_stamp" "${BINARIES[@]}"; then
  log "kube-apiserver, kube-controller-manager, kube-scheduler, etcd: up to date"
else
  log "Building Kubernetes $K8S_VERSION (apiserver, controller-manager, scheduler) and etcd with $GO_VERSION (cold: long; see docs/kubernetes.md)"
  build_kube & pids+=($!)
fi
if fresh "$BIN/.stamp-kwok" "$kwok_stamp" kwok; then
  log "kwok $KWOK_VERSION: up to date"
else
  log "Building kwok $KWOK_VERSION"
  build_kwok & pids+=($!)
fi
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if [ $failed -ne 0 ]; then log "build failed"; exit 1; fi

# ── Gateway API CRD (for HTTPRoute canaries) ─────────────────────────────────
crd="$CRDS/gateway.networking.k8s.io_httproutes.yaml"
if [ ! -s "$crd" ] || [ "$(cat "$CRDS/.version" 2>/dev/null)" != "$GATEWAY_API_VERSION" ]; then
  dir=$(cd "$CACHE" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -n "$dir" ] && [ -f "$dir/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml" ]; then
    cp "$dir/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml" "$crd"
    chmod u+w "$crd"
    echo "$GATEWAY_API_VERSION" >"$CRDS/.version"
    log "Gateway API $GATEWAY_API_VERSION HTTPRoute CRD copied to tools/k8s/crds"
  else
    log "warning: could not get the Gateway API CRD; HTTPRoute canary tests will be skipped"
  fi
fi

log "Ready in $(fmt_s $(( $(date +%s) - T0 ))): $("$BIN/kube-apiserver" --version 2>/dev/null), etcd $("$BIN/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p'), kwok $("$BIN/kwok" --version 2>/dev/null | head -1 | awk '{print $NF}')"

#!/usr/bin/env bash
# Validates the deployment files without a Docker engine or a cluster:
#   1. docker-compose.yml   with Debian's docker-compose (`config`)
#   2. every YAML file      with yamllint --strict (settings in .yamllint)
#   3. k8s/                 each kustomization rendered by `kubectl kustomize` (when a kubectl is on
#                           PATH; else the base's files as they are), then every object checked by
#                           scripts/validate-k8s.js: Kubernetes schemas (kubernetes-models from npm),
#                           unknown fields (tsc on the same package's types) and our deployment policy.
# Installs what it needs: the Debian packages (docker-compose, yamllint, nodejs, npm) through
# scripts/deps.sh, and the npm packages of scripts/npm/ into .tools/ (ignored by git) with npm ci,
# exactly as scripts/npm/package-lock.json pins them (every version and its hash). That happens
# only when the lock changed since the last install: then no network is needed. A kubectl is not
# installed (Debian 12's is too old for these kustomizations); one on PATH is used.
# Exits non-zero when any check fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools="$root/.tools"

"$root/scripts/deps.sh"

# .tools/installed-lock.json: the lock of the last install that succeeded.
if ! cmp -s scripts/npm/package-lock.json "$tools/installed-lock.json" ||
  [ ! -d "$tools/node_modules" ]; then
  echo "== installing the npm packages of scripts/npm/package-lock.json into .tools/ (npm ci)"
  mkdir -p "$tools"
  rm -f "$tools/installed-lock.json"
  cp scripts/npm/package.json scripts/npm/package-lock.json "$tools/"
  npm ci --prefix "$tools" --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
  cp scripts/npm/package-lock.json "$tools/installed-lock.json"
fi

failed=0

echo "== docker-compose config"
if docker-compose -f docker-compose.yml config --quiet; then
  echo "docker-compose.yml: valid; services: $(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')"
else
  failed=1
fi

echo "== yamllint --strict"
if yamllint --strict .; then
  echo "yamllint: $(git ls-files --cached --others --exclude-standard '*.yml' '*.yaml' .yamllint | wc -l) files clean"
else
  failed=1
fi

echo "== kubernetes manifests"
render="$tools/rendered"
mkdir -p "$render"
export NODE_PATH="$tools/node_modules"
if command -v kubectl >/dev/null && kubectl kustomize k8s >"$render/k8s.yaml" 2>"$render/err"; then
  echo "rendered with kubectl kustomize ($(kubectl version --client 2>/dev/null | grep -i kustomize || true))"
  for k in k8s k8s/overlays/managed-datastores k8s/overlays/ha; do
    out="$render/$(echo "$k" | tr / _).yaml"
    if ! kubectl kustomize "$k" >"$out"; then
      echo "FAIL kubectl kustomize $k"
      failed=1
      continue
    fi
    # An overlay is what gets deployed: its images must be pinned (a version or a digest).
    pinned=0
    [ "$k" = k8s ] || pinned=1
    HD_REQUIRE_PINNED_IMAGES=$pinned node scripts/validate-k8s.js "$tools" "$out" |
      sed "s#$render/##g" || failed=1
  done
else
  echo "no kubectl able to render kustomizations here: checking k8s/base files as they are (overlays not rendered)"
  mapfile -t files < <(find k8s/base -name '*.yaml' ! -name kustomization.yaml | sort)
  node scripts/validate-k8s.js "$tools" "${files[@]}" || failed=1
fi

if [ "$failed" -ne 0 ]; then
  echo "validate-deploy: FAILED"
  exit 1
fi
echo "validate-deploy: all checks passed"

#!/usr/bin/env bash
# Validates the deployment files without a Docker engine or a cluster:
#   1. docker-compose.yml   with Debian's docker-compose (`config`)
#   2. every YAML file      with yamllint --strict (settings in .yamllint)
#   3. k8s/                 each kustomization rendered by `kubectl kustomize` (when a kubectl is on
#                           PATH; else the base's files as they are), then every object checked by
#                           scripts/validate-k8s.js: Kubernetes schemas (kubernetes-models from npm),
#                           unknown fields (tsc on the same package's types) and our deployment policy.
# Installs what it needs: the Debian packages docker-compose and yamllint (apt-get, as root), and
# pinned npm packages into .tools/ (ignored by git). Exits non-zero when any check fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools="$root/.tools"
npm_pkgs=(kubernetes-models@4.5.1 js-yaml@4.1.0 typescript@5.6.3)

need_apt=()
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
command -v yamllint >/dev/null || need_apt+=(yamllint)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]} (apt)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "validate-deploy: need ${need_apt[*]}; run as root or: sudo apt-get install ${need_apt[*]}" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

installed_version() { node -p "require('$tools/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(installed_version kubernetes-models)" != 4.5.1 ] || [ "$(installed_version js-yaml)" != 4.1.0 ] ||
  [ "$(installed_version typescript)" != 5.6.3 ]; then
  echo "== installing ${npm_pkgs[*]} into .tools/ (npm)"
  mkdir -p "$tools"
  [ -f "$tools/package.json" ] || echo '{"private": true}' >"$tools/package.json"
  npm install --prefix "$tools" --no-save --no-audit --no-fund --loglevel=error "${npm_pkgs[@]}" >/dev/null
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
  for k in k8s k8s/overlays/managed-datastores; do
    out="$render/$(echo "$k" | tr / _).yaml"
    if ! kubectl kustomize "$k" >"$out"; then
      echo "FAIL kubectl kustomize $k"
      failed=1
      continue
    fi
    node scripts/validate-k8s.js "$tools" "$out" | sed "s#$render/##g" || failed=1
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

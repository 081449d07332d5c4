#!/usr/bin/env node
// Validates rendered Kubernetes manifests (multi-document YAML files) in three ways:
//  1. schema: each object against the Kubernetes OpenAPI schema of its kind, as compiled into the
//     kubernetes-models package (types, required fields, enums, formats);
//  2. strict: the same package's TypeScript declarations, with tsc's excess-property checks, so a
//     misspelt or misplaced field (which the schemas allow) is an error too;
//  3. policy: what Helpdesk's deployment promises (gRPC probes, limits, non-root read-only pods,
//     a grace period longer than the drain, a PodDisruptionBudget and an autoscaler per service,
//     Prometheus annotations).
// Usage: NODE_PATH=.tools/node_modules node scripts/validate-k8s.js WORKDIR FILE.yaml...
// (scripts/validate-deploy.sh installs the packages and renders the kustomizations.)
'use strict';

const fs = require('fs');
const path = require('path');
const cp = require('child_process');
const yaml = require('js-yaml');

const [workdir, ...files] = process.argv.slice(2);
if (!workdir || files.length === 0) {
  console.error('usage: validate-k8s.js WORKDIR FILE.yaml...');
  process.exit(2);
}

const problems = [];
const docs = []; // {file, obj, label}

for (const file of files) {
  let loaded;
  try {
    loaded = yaml.loadAll(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    problems.push(`${file}: not valid YAML: ${e.message}`);
    continue;
  }
  for (const obj of loaded) {
    if (obj === null || obj === undefined) continue;
    const name = obj.metadata && obj.metadata.name;
    docs.push({ file, obj, label: `${path.basename(file)}: ${obj.kind}/${name}` });
  }
}

// kubernetes-models/<group>/<version>/<Kind>, core group as "v1".
function modelPath(obj) {
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return null;
  return `kubernetes-models/${obj.apiVersion}/${obj.kind}`;
}

// ---- 1. schema ----
for (const d of docs) {
  const mp = modelPath(d.obj);
  if (!mp || !d.obj.metadata || !d.obj.metadata.name) {
    problems.push(`${d.label}: needs apiVersion, kind and metadata.name`);
    continue;
  }
  let Model;
  try {
    Model = require(mp)[d.obj.kind];
  } catch (e) {
    Model = undefined;
  }
  if (!Model) {
    problems.push(`${d.label}: ${d.obj.apiVersion} ${d.obj.kind} is not a Kubernetes kind this validator knows`);
    continue;
  }
  try {
    new Model(d.obj).validate();
  } catch (e) {
    problems.push(`${d.label}: schema: ${e.message}`);
  }
}

// ---- 2. strict (unknown fields) ----
{
  const dir = path.resolve(workdir, 'strict-check');
  fs.mkdirSync(dir, { recursive: true });
  const lines = [];
  const owner = []; // line number (1-based) → doc label
  docs.forEach((d, i) => {
    const mp = modelPath(d.obj);
    if (!mp) return;
    const text = `import type { I${d.obj.kind} as T${i} } from ${JSON.stringify(mp)};\n` +
      `export const r${i}: T${i} = ${JSON.stringify(d.obj, null, 2)};\n`;
    for (const l of text.split('\n').slice(0, -1)) {
      lines.push(l);
      owner.push(d.label);
    }
  });
  fs.writeFileSync(path.join(dir, 'manifests.ts'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, skipLibCheck: true, module: 'commonjs', moduleResolution: 'node',
      target: 'es2020', types: [], typeRoots: [], baseUrl: '.',
      paths: { '*': [path.join(process.env.NODE_PATH || '', '*')] },
    },
    files: ['manifests.ts'],
  }, null, 2));
  const tsc = path.join(process.env.NODE_PATH || '', 'typescript', 'bin', 'tsc');
  const run = cp.spawnSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
  if (run.status !== 0) {
    const out = (run.stdout || '') + (run.stderr || '');
    let matched = false;
    for (const l of out.split('\n')) {
      const m = /manifests\.ts\((\d+),\d+\): error (TS\d+: .*)/.exec(l);
      if (m) {
        matched = true;
        problems.push(`${owner[Number(m[1]) - 1]}: strict: ${m[2]}`);
      }
    }
    if (!matched) problems.push(`strict check could not run: ${out.trim() || run.error}`);
  }
}

// ---- 3. policy ----
function seconds(duration) { // "20s", "2m", "500ms", bare number = seconds
  const m = /^(\d+)(ms|s|m|h)?$/.exec(String(duration));
  if (!m) return NaN;
  const mult = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] || 's'];
  return Number(m[1]) * mult;
}
{
  const byKind = (k) => docs.filter((d) => d.obj.kind === k);
  const config = byKind('ConfigMap').find((d) => d.obj.metadata.name === 'helpdesk-config');
  const grace = config ? seconds(config.obj.data.HELPDESK_SHUTDOWN_GRACE || '10s') : 10;
  const deployments = byKind('Deployment');
  if (deployments.length === 0) problems.push('policy: no Deployment at all');
  for (const d of deployments) {
    const name = d.obj.metadata.name;
    const spec = d.obj.spec.template.spec;
    const ann = d.obj.spec.template.metadata.annotations || {};
    const must = (ok, what) => { if (!ok) problems.push(`${d.label}: policy: ${what}`); };
    must(ann['prometheus.io/scrape'] === 'true' && ann['prometheus.io/port'],
      'pod template needs prometheus.io/scrape and prometheus.io/port annotations');
    must(spec.securityContext && spec.securityContext.runAsNonRoot === true, 'pod must set runAsNonRoot: true');
    for (const c of spec.containers) {
      const sc = c.securityContext || {};
      must(sc.readOnlyRootFilesystem === true, `${c.name}: readOnlyRootFilesystem must be true`);
      must(sc.allowPrivilegeEscalation === false, `${c.name}: allowPrivilegeEscalation must be false`);
      must(sc.capabilities && (sc.capabilities.drop || []).includes('ALL'), `${c.name}: must drop ALL capabilities`);
      must(c.readinessProbe && c.readinessProbe.grpc, `${c.name}: needs a gRPC readinessProbe`);
      must(c.livenessProbe && c.livenessProbe.grpc, `${c.name}: needs a gRPC livenessProbe`);
      const r = c.resources || {};
      must(r.requests && r.requests.cpu && r.requests.memory && r.limits && r.limits.cpu && r.limits.memory,
        `${c.name}: needs cpu and memory requests and limits`);
      let pre = 0;
      const cmd = c.lifecycle && c.lifecycle.preStop && c.lifecycle.preStop.exec && c.lifecycle.preStop.exec.command;
      if (cmd && cmd[0] === 'sleep') pre = seconds(cmd[1]);
      must(spec.terminationGracePeriodSeconds > pre + grace,
        `terminationGracePeriodSeconds (${spec.terminationGracePeriodSeconds}) must be longer than the preStop ` +
        `pause (${pre} s) plus HELPDESK_SHUTDOWN_GRACE (${grace} s)`);
    }
    const sel = JSON.stringify(d.obj.spec.selector.matchLabels);
    must(byKind('PodDisruptionBudget').some((p) => JSON.stringify(p.obj.spec.selector.matchLabels) === sel),
      'needs a PodDisruptionBudget selecting its pods');
    must(byKind('HorizontalPodAutoscaler').some((h) => h.obj.apiVersion === 'autoscaling/v2' &&
      h.obj.spec.scaleTargetRef.kind === 'Deployment' && h.obj.spec.scaleTargetRef.name === name),
    'needs an autoscaling/v2 HorizontalPodAutoscaler');
    must(byKind('Service').some((s) => JSON.stringify(s.obj.spec.selector) === sel), 'needs a Service');
  }
}

// ---- 3b. policy: network rules and pinned images (issue 18) ----
// A default-deny NetworkPolicy (ingress and egress, every pod); each service's ports reachable
// only through rules that name them, its /metrics port only from namespaces labelled
// helpdesk.io/monitoring: "true"; no ingress rule without ports. With HD_REQUIRE_PINNED_IMAGES=1
// (the overlays), every container image carries a full version (x.y.z) or a digest.
{
  const byKind = (k) => docs.filter((d) => d.obj.kind === k);
  const policies = byKind('NetworkPolicy');
  const selects = (sel, labels) => Object.entries((sel && sel.matchLabels) || {})
    .every(([k, v]) => labels[k] === v);
  const deployments = byKind('Deployment');
  if (deployments.length) {
    const deny = policies.find((p) => Object.keys(p.obj.spec.podSelector || {}).length === 0 &&
      !p.obj.spec.ingress && !p.obj.spec.egress &&
      ['Ingress', 'Egress'].every((t) => (p.obj.spec.policyTypes || []).includes(t)));
    if (!deny) problems.push('policy: needs a default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)');
  }
  for (const p of policies) {
    (p.obj.spec.ingress || []).forEach((r, i) => {
      if (!r.ports || r.ports.length === 0) problems.push(`${p.label}: policy: ingress rule ${i} opens every port`);
    });
  }
  for (const d of deployments) {
    const labels = d.obj.spec.template.metadata.labels || {};
    const mine = policies.filter((p) => selects(p.obj.spec.podSelector, labels));
    for (const c of d.obj.spec.template.spec.containers) {
      for (const port of c.ports || []) {
        const rules = [];
        for (const p of mine) {
          for (const r of p.obj.spec.ingress || []) {
            if ((r.ports || []).some((x) => x.port === port.containerPort || x.port === port.name)) rules.push(r);
          }
        }
        if (rules.length === 0) problems.push(`${d.label}: policy: port ${port.containerPort} is reachable through no NetworkPolicy rule`);
        if (port.name === 'metrics') {
          for (const r of rules) {
            const ok = (r.from || []).length > 0 && r.from.every((f) => !f.podSelector && !f.ipBlock &&
              f.namespaceSelector && (f.namespaceSelector.matchLabels || {})['helpdesk.io/monitoring'] === 'true');
            if (!ok) problems.push(`${d.label}: policy: metrics port ${port.containerPort} must be open only to namespaces labelled helpdesk.io/monitoring: "true"`);
          }
        }
      }
    }
  }
  if (process.env.HD_REQUIRE_PINNED_IMAGES === '1') {
    for (const d of docs) {
      const spec = d.obj.spec && (d.obj.spec.template ? d.obj.spec.template.spec : null);
      if (!spec) continue;
      for (const c of [...(spec.initContainers || []), ...(spec.containers || [])]) {
        if (!/(@sha256:[0-9a-f]{64}|:v?\d+\.\d+\.\d+[\w.-]*)$/.test(c.image || '')) {
          problems.push(`${d.label}: policy: image ${c.image} of ${c.name} must be pinned by a full version or a digest`);
        }
      }
    }
  }
}

const kinds = {};
for (const d of docs) kinds[d.obj.kind] = (kinds[d.obj.kind] || 0) + 1;
const summary = Object.keys(kinds).sort().map((k) => `${kinds[k]} ${k}`).join(', ');
if (problems.length) {
  for (const p of problems) console.log(`FAIL ${p}`);
  console.log(`${files.join(' ')}: ${problems.length} problem(s) in ${docs.length} objects`);
  process.exit(1);
}
console.log(`${files.join(' ')}: ${docs.length} objects valid (schema, strict, policy): ${summary}`);

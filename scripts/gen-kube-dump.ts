// CLI: write a deterministic kube-proxy shaped iptables-save dump.
//
//   npx tsx scripts/gen-kube-dump.ts --services 1000 [--seed 1] [--counters]
//       [--max-endpoints 9] [--node-ip IP] [--pod-cidr CIDR] [--service-cidr CIDR]
//       [--cluster-cidr CIDR] [--node-name NAME] [--out FILE] [--host-out FILE]
//       [--services-out FILE]
//
// The dump goes to stdout unless --out is given; --host-out writes the JSON
// host model, --services-out the generated service list (JSON).

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateKubeDump, type KubeDumpOptions } from './kube-dump.ts';

function usage(msg?: string): never {
  if (msg) process.stderr.write(`gen-kube-dump: ${msg}\n`);
  process.stderr.write(
    'usage: gen-kube-dump --services N [--seed S] [--counters] [--max-endpoints N]\n' +
      '         [--node-ip IP] [--pod-cidr CIDR] [--service-cidr CIDR] [--cluster-cidr CIDR]\n' +
      '         [--node-name NAME] [--out FILE] [--host-out FILE] [--services-out FILE]\n',
  );
  process.exit(2);
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) usage(`--${name} must be a non-negative integer`);
  return Number(v);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      services: { type: 'string' },
      seed: { type: 'string' },
      counters: { type: 'boolean' },
      'max-endpoints': { type: 'string' },
      'node-ip': { type: 'string' },
      'pod-cidr': { type: 'string' },
      'service-cidr': { type: 'string' },
      'cluster-cidr': { type: 'string' },
      'node-name': { type: 'string' },
      out: { type: 'string' },
      'host-out': { type: 'string' },
      'services-out': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (err) {
  usage((err as Error).message);
}
if (values.help) usage();
const services = int('services', values.services);
if (services === undefined) usage('--services is required');

const opts: KubeDumpOptions = { services };
const seed = int('seed', values.seed);
if (seed !== undefined) opts.seed = seed;
const maxEndpoints = int('max-endpoints', values['max-endpoints']);
if (maxEndpoints !== undefined) opts.maxEndpoints = maxEndpoints;
if (values.counters) opts.counters = true;
if (values['node-ip'] !== undefined) opts.nodeIp = values['node-ip'];
if (values['pod-cidr'] !== undefined) opts.podCidr = values['pod-cidr'];
if (values['service-cidr'] !== undefined) opts.serviceCidr = values['service-cidr'];
if (values['cluster-cidr'] !== undefined) opts.clusterCidr = values['cluster-cidr'];
if (values['node-name'] !== undefined) opts.nodeName = values['node-name'];

const dump = generateKubeDump(opts);
if (values.out !== undefined) writeFileSync(values.out, dump.text);
else process.stdout.write(dump.text);
if (values['host-out'] !== undefined) {
  writeFileSync(values['host-out'], `${JSON.stringify(dump.host, null, 2)}\n`);
}
if (values['services-out'] !== undefined) {
  writeFileSync(values['services-out'], `${JSON.stringify(dump.services, null, 2)}\n`);
}

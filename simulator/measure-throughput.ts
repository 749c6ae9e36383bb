/**
 * Measures how fast the simulator streams a large Host List Detection answer
 * over loopback: the simulator runs here, a separate Node process reads the
 * answer and discards it. Prints one JSON line.
 *
 *   npx tsx simulator/measure-throughput.ts [--hosts 100000] [--format XML|CSV] [--show-results 1]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { DEFAULT_PASSWORD, DEFAULT_USERNAME, startSimulator } from './server.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '100000' },
    format: { type: 'string', default: 'XML' },
    'show-results': { type: 'string', default: '1' },
  },
});

// The reader: a raw TCP socket (no HTTP parsing, so the figure is the simulator's),
// counting bytes until the server closes; timing from request to last byte.
const READER = `
const net = require('node:net');
const url = new URL(process.argv[1]);
const t0 = process.hrtime.bigint();
let bytes = 0;
let head = '';
const socket = net.connect(Number(url.port), url.hostname, () => {
  socket.write('GET ' + url.pathname + url.search + ' HTTP/1.1\\r\\nHost: ' + url.host + '\\r\\nAuthorization: ' + process.argv[2] +
    '\\r\\nX-Requested-With: measure\\r\\nConnection: close\\r\\n\\r\\n');
});
socket.on('data', (c) => { if (head.length < 12) head += c.subarray(0, 12).toString('latin1'); bytes += c.length; });
socket.on('close', () => {
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ status: Number(head.slice(9, 12)), bytes, seconds: s }));
});
`;

const sim = await startSimulator({ hosts: Number(values.hosts), now: '2026-01-01T00:00:00Z' });
try {
  const url = `${sim.url}/api/5.0/fo/asset/host/vm/detection/?action=list&truncation_limit=0&status=New,Active,Re-Opened,Fixed&show_igs=1&output_format=${values.format}&show_results=${values['show-results']}`;
  const auth = 'Basic ' + Buffer.from(`${DEFAULT_USERNAME}:${DEFAULT_PASSWORD}`).toString('base64');
  const child = spawn(process.execPath, ['-e', READER, url, auth], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  const result = JSON.parse(out) as { status: number; bytes: number; seconds: number };
  const mb = result.bytes / 1e6;
  console.log(JSON.stringify({ hosts: Number(values.hosts), format: values.format, status: result.status, megabytes: Math.round(mb), seconds: Number(result.seconds.toFixed(2)), simulatorMBps: Math.round(mb / result.seconds) }));
} finally {
  await sim.close();
}

/**
 * A self-signed certificate made at start for `--tls`, with openssl (a
 * dependency-free way that every platform image here has). It names
 * localhost, 127.0.0.1 and ::1 plus the listen host, and marks itself a CA,
 * so a client that trusts this one file connects with verification on.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSignedCertificate {
  /** PEM file a client passes as its CA (the certificate itself). */
  readonly certPath: string;
  readonly cert: string;
  readonly key: string;
}

export async function createSelfSignedCertificate(listenHost: string): Promise<SelfSignedCertificate> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'qualys-sim-tls-'));
  const certPath = path.join(dir, 'simulator-cert.pem');
  const keyPath = path.join(dir, 'simulator-key.pem');
  const names = new Set(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']);
  if (listenHost !== '0.0.0.0' && listenHost !== '::') names.add(net.isIP(listenHost) ? `IP:${listenHost}` : `DNS:${listenHost}`);
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
      '-subj', '/CN=Qualys API simulator', '-keyout', keyPath, '-out', certPath,
      '-addext', `subjectAltName=${[...names].join(',')}`, '-addext', 'basicConstraints=critical,CA:TRUE',
    ]);
  } catch (err) {
    throw new Error(`--tls needs openssl on the PATH to make a certificate: ${(err as Error).message}`);
  }
  return { certPath, cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
}

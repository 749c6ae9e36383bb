/**
 * The hosts of a sealed Host List Detection file, streamed, for the
 * procedures that read detections (SLA, diff).
 */
import { readManifest, type AnyManifest } from '../evidence/manifest.js';
import type { EvidenceSource } from './evidence-source.js';
import { readHosts, type Host, type HostStreamEnd } from './host-reader.js';

/** The evidence cannot be read this way; the message says why. */
export class EvidenceKindError extends Error {
  override readonly name = 'EvidenceKindError';
}

export async function readSourceManifest(source: EvidenceSource): Promise<AnyManifest> {
  const bytes = await source.manifestBytes();
  if (!Buffer.isBuffer(bytes)) throw new EvidenceKindError(bytes.error);
  const read = readManifest(JSON.parse(bytes.toString('utf8')));
  if (!read.ok) throw new EvidenceKindError(`${source.label} has no valid manifest: ${read.issues[0]!.path}: ${read.issues[0]!.message}`);
  return read.manifest;
}

export async function openEvidenceHosts(source: EvidenceSource): Promise<{ manifest: AnyManifest; hosts: AsyncGenerator<Host[], HostStreamEnd> }> {
  const manifest = await readSourceManifest(source);
  if (manifest.fetcher.kind !== 'host_list_detection' || manifest.evidence.format === 'RAW') {
    throw new EvidenceKindError(`${source.label} is not Host List Detection evidence (a ${manifest.fetcher.kind} fetcher's ${manifest.evidence.format} file): it has no detections to read`);
  }
  const stream = await source.openSealed(manifest.evidence.blobKey);
  return { manifest, hosts: readHosts(stream, manifest.evidence.format) };
}

/**
 * Webhook signatures: `X-Qualys-Connector-Signature: t=<unix seconds>,v1=<hex>`
 * where the hex is HMAC-SHA256(secret, "<t>.<raw body>"). Signing the time
 * with the body lets receivers refuse replays of an old delivery; `v1` names
 * the scheme so a later one can be sent alongside during a migration.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Qualys-Connector-Signature';
export const EVENT_HEADER = 'X-Qualys-Connector-Event';
export const DELIVERY_HEADER = 'X-Qualys-Connector-Delivery';

/** Five minutes, as common webhook providers use: room for clock skew, little for replays. */
export const DEFAULT_TOLERANCE_SEC = 300;

const SCHEME = 'v1';
const HEX_SHA256 = /^[0-9a-f]{64}$/;

function hmacHex(secret: string, timestamp: number, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for a body sent at `timestamp` (unix seconds). */
export function signWebhookBody(secret: string, body: string | Uint8Array, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},${SCHEME}=${hmacHex(secret, timestamp, body)}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Checks a delivery as a receiver should: the header parses, the timestamp is
 * within `toleranceSec` of now, and one `v1` signature matches the raw body
 * (compared in constant time). Pass the body exactly as received, before any
 * JSON parsing: re-serialised JSON does not hash the same.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string | Uint8Array,
  toleranceSec: number = DEFAULT_TOLERANCE_SEC,
  nowSec: number = Math.floor(Date.now() / 1000),
): SignatureCheck {
  if (!secret) return { ok: false, reason: 'no secret to verify with' };
  if (!header) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === SCHEME && HEX_SHA256.test(value)) signatures.push(value);
  }
  if (timestamp === null) return { ok: false, reason: 'the signature header has no valid t= timestamp' };
  if (signatures.length === 0) return { ok: false, reason: `the signature header has no ${SCHEME}= signature` };
  if (Math.abs(nowSec - timestamp) > toleranceSec) {
    return { ok: false, reason: `the timestamp is ${nowSec - timestamp} s away from now (tolerance ${toleranceSec} s)` };
  }
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  const matches = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return matches ? { ok: true, timestamp } : { ok: false, reason: 'no signature matches the body' };
}

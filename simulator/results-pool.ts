/**
 * RESULTS texts: multi-line, tab-separated tables of realistic sizes, some with
 * characters that need escaping and multi-byte UTF-8. A pool of variants is
 * rendered once per seed, already escaped and encoded, so streaming a detection
 * copies bytes instead of building strings.
 */
import { Rng, hash32 } from './prng.js';
import { csvField, escapeXml } from './escape.js';

const RESULT_VARIANTS = 512;
/** The last variant is the rare giant (> 1 MB): one host can exceed a megabyte. */
export const GIANT_VARIANT = RESULT_VARIANTS - 1;
const GIANT_BYTES = 1_200_000;

export interface ResultsPool {
  /** `<RESULTS><![CDATA[...]]></RESULTS>` with its leading newline and indentation. */
  readonly xml: readonly Buffer[];
  /** The text as one quoted CSV field. */
  readonly csv: readonly Buffer[];
  /** Plain text, for tests that check byte fidelity. */
  readonly text: readonly string[];
}

const PACKAGES = ['openssl', 'kernel', 'glibc', 'bash', 'sudo', 'openssh-server', 'curl', 'libxml2', 'nss', 'tzdata', 'python3', 'systemd'];
const WORDS = ['Zürich', 'Überprüfung', 'naïve café', '日本語のテキスト', 'Ωμέγα', 'São Paulo', 'Kraków'];
const TRICKY = [
  'Subject\tCN=*.example.com, O=Smith & Sons \'Ltd\', L="Zürich"',
  'Banner\t<html><title>Index of /</title></html>',
  "Path\tC:\\Program Files\\Vendor's App\\bin\\app.exe",
  'Header\tServer: Apache/2.4.6 (CentOS) & "mod_ssl"',
  'Condition\tversion < 1.0.2k && build > 19',
];

function line(rng: Rng, tricky: boolean): string {
  switch (rng.int(4)) {
    case 0: {
      const pkg = PACKAGES[rng.int(PACKAGES.length)]!;
      return `${pkg}\t${rng.int(5)}.${rng.int(20)}.${rng.int(60)}-${rng.int(40)}.el${7 + rng.int(3)}\t${rng.int(5)}.${rng.int(20)}.${60 + rng.int(40)}`;
    }
    case 1:
      return `HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Hotfix\\KB${4000000 + rng.int(999999)}\tInstalled\t${rng.int(2) ? 'Yes' : 'No'}`;
    case 2:
      return `%windir%\\System32\\drivers\\mod${rng.int(900)}.sys\tVersion is 10.0.${17763 + rng.int(5000)}.${rng.int(3000)}`;
    default:
      return tricky ? TRICKY[rng.int(TRICKY.length)]! + '\t' + WORDS[rng.int(WORDS.length)]! : `cipher\t${['aes128-cbc', '3des-cbc', 'blowfish-cbc', 'arcfour'][rng.int(4)]}`;
  }
}

function text(rng: Rng, targetBytes: number, tricky: boolean): string {
  const lines = ['Package\tInstalled Version\tRequired Version'];
  let size = lines[0]!.length;
  while (size < targetBytes) {
    const l = line(rng, tricky);
    lines.push(l);
    size += l.length + 1;
  }
  return lines.join('\n');
}

function targetSize(rng: Rng, variant: number): number {
  if (variant === GIANT_VARIANT) return GIANT_BYTES;
  // 80 % short, 18 % a few KB, 2 % tens of KB: about 1 KB on average.
  if (variant < 410) return 120 + rng.int(780);
  if (variant < 502) return 1200 + rng.int(2800);
  return 10_000 + rng.int(20_000);
}

export function buildResultsPool(seed: number): ResultsPool {
  const xml: Buffer[] = [];
  const csv: Buffer[] = [];
  const texts: string[] = [];
  for (let v = 0; v < RESULT_VARIANTS; v++) {
    const rng = new Rng(hash32(seed, v, 0x7e5));
    const t = text(rng, targetSize(rng, v), v % 6 === 0);
    texts.push(t);
    xml.push(Buffer.from(`\n            <RESULTS><![CDATA[${escapeXml(t)}]]></RESULTS>`, 'utf8'));
    csv.push(Buffer.from(csvField(t), 'utf8'));
  }
  return { xml, csv, text: texts };
}

/** Picks a variant: the giant about once per 25,000 detections. */
export function pickVariant(r: number): number {
  return r < 1 / 25_000 ? GIANT_VARIANT : Math.floor(r * 25_000) % GIANT_VARIANT;
}

/**
 * One host's attributes, regenerated from (seed, index) into a reusable record
 * so a stream over a million hosts allocates almost nothing per host.
 */
import { hash32, type Rng } from './prng.js';
import type { HostLayout } from './host-layout.js';
import { intToIp } from './ipv4.js';

const DAY = 86_400;

interface OsEntry {
  readonly name: string;
  readonly cpe: string;
  readonly linux: boolean;
}

// A few names carry characters that need escaping or are multi-byte in UTF-8.
const OPERATING_SYSTEMS: readonly OsEntry[] = [
  { name: 'Windows Server 2019 Datacenter 64 bit Edition Version 1809', cpe: 'cpe:/o:microsoft:windows_server_2019:1809:::x64:', linux: false },
  { name: 'Windows 10 Enterprise 64 bit Edition Version 22H2', cpe: 'cpe:/o:microsoft:windows_10:22h2:::x64:', linux: false },
  { name: "Windows 11 Enterprise 'LTSC' 64 bit Edition", cpe: 'cpe:/o:microsoft:windows_11:::x64:', linux: false },
  { name: 'Red Hat Enterprise Linux 8.9', cpe: 'cpe:/o:redhat:enterprise_linux:8.9:', linux: true },
  { name: 'Ubuntu 22.04.4 LTS', cpe: 'cpe:/o:canonical:ubuntu_linux:22.04:', linux: true },
  { name: 'CentOS Linux 7.9.2009', cpe: 'cpe:/o:centos:centos:7.9.2009:', linux: true },
  { name: 'Amazon Linux 2', cpe: 'cpe:/o:amazon:linux:2:', linux: true },
  { name: 'Debian GNU/Linux 12 <bookworm>', cpe: 'cpe:/o:debian:debian_linux:12:', linux: true },
  { name: 'Cisco IOS 15.2(4)E10 & IOS-XE', cpe: 'cpe:/o:cisco:ios:15.2%284%29e10:', linux: false },
  { name: 'Linux 4.x – Überwachungsgerät', cpe: '', linux: true },
];

const DOMAINS = ['corp.example.com', 'dmz.example.net', 'eu.example.org', 'prod.internal'];
const ROLES = ['web', 'db', 'app', 'dc', 'ws', 'mail', 'fs', 'vpn', 'build', 'proxy'];

export class HostRecord {
  index = 0;
  id = 0;
  ipInt = 0;
  ip = '';
  /** '' when the host has no IPv6 address. */
  ipv6 = '';
  trackingMethod = 'IP';
  os: OsEntry = OPERATING_SYSTEMS[0]!;
  hostname = '';
  domain = '';
  netbios = '';
  qgHostId = '';
  ec2InstanceId = '';
  assetId = 0;
  /** Seconds before the data anchor; -1 when never happened. */
  lastVmScannedAgo = 0;
  lastScanAgo = 0;
  vmScanDuration = 0;
  lastAuthScannedAgo = -1;
  authScanDuration = 0;
  lastPcScannedAgo = -1;
  detectionCount = 0;
  qidStart = 0;
  qidStride = 1;
  /** Seed for this host's detections, so they can be drawn after host filters pass. */
  detectionSeed = 0;

  /** Agent-scanned hosts report their last authenticated scan without durations. */
  get agent(): boolean {
    return this.trackingMethod === 'AGENT';
  }

  get linux(): boolean {
    return this.os.linux;
  }

  get fqdn(): string {
    return this.hostname === '' ? '' : `${this.hostname}.${this.domain}`;
  }
}

const STRIDES = [1, 3, 5, 7, 11, 13, 17, 19];

/** Fills `out` for host `index`. Draw order is fixed, so values never depend on filters. */
export function fillHost(seed: number, layout: HostLayout, index: number, rng: Rng, out: HostRecord): void {
  rng.reset(hash32(seed, index, 0x4057));
  out.index = index;
  out.id = layout.hostId(index);
  out.ipInt = layout.ip(index);
  out.ip = intToIp(out.ipInt);
  out.ipv6 = layout.ipv6(index) ?? '';
  out.assetId = 10_000_000 + out.id * 3;

  const tm = rng.float();
  out.trackingMethod = tm < 0.6 ? 'IP' : tm < 0.85 ? 'AGENT' : tm < 0.95 ? 'NETBIOS' : 'EC2';
  out.os = OPERATING_SYSTEMS[rng.int(OPERATING_SYSTEMS.length)]!;
  const role = ROLES[rng.int(ROLES.length)]!;
  out.domain = DOMAINS[rng.int(DOMAINS.length)]!;
  out.hostname = rng.float() < 0.1 ? '' : `${role}-${out.id.toString(36)}`;
  out.netbios = rng.float() < (out.os.linux ? 0.7 : 0.05) || out.hostname === '' ? '' : out.hostname.toUpperCase().slice(0, 15);
  const qg = hash32(seed, index, 0x96);
  out.qgHostId = out.trackingMethod === 'AGENT' ? `${qg.toString(16).padStart(8, '0')}-${(out.id & 0xffff).toString(16).padStart(4, '0')}-4a1c-9e2f-${out.id.toString(16).padStart(12, '0')}` : '';
  out.ec2InstanceId = out.trackingMethod === 'EC2' ? `i-0${qg.toString(16).padStart(8, '0')}${out.id.toString(16)}` : '';

  // 70 % scanned in the last month, 20 % in the two before, 10 % long ago.
  const age = rng.float();
  const ageWindow = age < 0.7 ? [0, 30] : age < 0.9 ? [30, 90] : [90, 400];
  out.lastVmScannedAgo = Math.floor((ageWindow[0]! + rng.float() * (ageWindow[1]! - ageWindow[0]!)) * DAY);
  out.lastScanAgo = Math.max(0, out.lastVmScannedAgo - rng.int(3600));
  out.vmScanDuration = 200 + rng.int(2800);
  // Agents always scan from inside the host, as an authenticated scan.
  const authenticated = rng.float() < 0.5 || out.trackingMethod === 'AGENT';
  out.lastAuthScannedAgo = authenticated ? out.lastVmScannedAgo : -1;
  out.authScanDuration = authenticated ? 300 + rng.int(3000) : 0;
  const pc = rng.float() < 0.3;
  out.lastPcScannedAgo = pc ? out.lastVmScannedAgo + rng.int(5 * DAY) : -1;

  // 0–60 detections, most hosts towards the lower end.
  out.detectionCount = Math.floor(Math.pow(rng.float(), 1.6) * 61);
  out.qidStart = rng.uint32();
  out.qidStride = STRIDES[rng.int(STRIDES.length)]!;
  out.detectionSeed = rng.uint32();
}

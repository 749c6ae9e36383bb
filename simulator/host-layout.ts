/**
 * Host IDs and IPs as pure functions of the host's index. IDs ascend with gaps
 * (purged hosts), in runs long enough that the host ID list shows ID_RANGEs;
 * IPs fill /24s of 200 hosts each, so IP ranges select meaningful subsets.
 */
import { hash32 } from './prng.js';

const BASE_ID = 2_000_000;
const BLOCK_HOSTS = 64;
const BLOCK_IDS = 80;
const HOSTS_PER_SUBNET = 200;
const IP_BASE = (10 << 24) >>> 0;
const IPV6_PERCENT = 15;

export class HostLayout {
  constructor(
    private readonly seed: number,
    readonly count: number,
  ) {}

  hostId(index: number): number {
    const block = Math.floor(index / BLOCK_HOSTS);
    const k = index - block * BLOCK_HOSTS;
    const h = hash32(this.seed, block, 0xb10c);
    const cut1 = 1 + (h % 40);
    const cut2 = cut1 + ((h >>> 8) % (BLOCK_HOSTS - cut1));
    const gap1 = (h >>> 16) % 9;
    const gap2 = (h >>> 24) % 8;
    return BASE_ID + block * BLOCK_IDS + k + (k >= cut1 ? gap1 : 0) + (k >= cut2 ? gap2 : 0);
  }

  /** Index of the first host whose ID is >= id (count when none). */
  lowerBound(id: number): number {
    if (id <= BASE_ID) return 0;
    const block = Math.floor((id - BASE_ID) / BLOCK_IDS);
    let index = block * BLOCK_HOSTS;
    if (index >= this.count) return this.count;
    while (index < this.count && this.hostId(index) < id) index++;
    return index;
  }

  /** Index just past the last host whose ID is <= id. */
  upperBound(id: number): number {
    return this.lowerBound(id + 1);
  }

  ip(index: number): number {
    const subnet = Math.floor(index / HOSTS_PER_SUBNET);
    return IP_BASE + subnet * 256 + 1 + (index - subnet * HOSTS_PER_SUBNET);
  }

  /**
   * The host's IPv6 address (dual stack), or null: about one host in seven has
   * one, in the documentation prefix, one /64 per IPv4 subnet.
   */
  ipv6(index: number): string | null {
    if (hash32(this.seed, index, 0x1f6) % 100 >= IPV6_PERCENT) return null;
    const subnet = Math.floor(index / HOSTS_PER_SUBNET);
    return `2001:db8:${subnet.toString(16)}::${(index - subnet * HOSTS_PER_SUBNET + 1).toString(16)}`;
  }

  /** First index whose IP is >= ip; IPs ascend with the index. */
  ipLowerBound(ip: number): number {
    if (ip <= IP_BASE) return 0;
    const offset = ip - IP_BASE;
    const subnet = Math.floor(offset / 256);
    const host = offset - subnet * 256;
    const index = subnet * HOSTS_PER_SUBNET + Math.min(Math.max(host - 1, 0), HOSTS_PER_SUBNET);
    return Math.min(index, this.count);
  }
}

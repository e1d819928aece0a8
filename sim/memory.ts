/**
 * Simulated device memory: a sparse physical address space of 4 KiB pages, as TVM's
 * VirtualMemoryManager. Allocations are page-granular and page-aligned, physical address 0 is never
 * handed out, and every access must lie inside one allocation. Each allocation is one ArrayBuffer,
 * so a DMA row is a plain subarray (no copies) and an RTL bridge can serve the same bytes.
 */
import { VtaError } from '../lib/errors.ts';

export const PAGE_BITS = 12;
export const PAGE_BYTES = 1 << PAGE_BITS;
/** Physical addresses are 32-bit (vta_phy_addr_t). */
export const PHYS_LIMIT = 2 ** 32;

export class DramError extends VtaError {
  constructor(message: string) {
    super('E_DRAM', message);
  }
}

export interface Region {
  /** First physical byte (page-aligned). */
  readonly phys: number;
  readonly bytes: Uint8Array;
}

const hex = (n: number) => '0x' + n.toString(16);

export class DeviceMemory {
  /** Allocated regions, sorted by address, non-overlapping. */
  private regions: Region[] = [];
  private last: Region | undefined;

  /** Allocate `size` bytes (rounded up to whole pages) at the lowest free address ≥ one page. */
  alloc(size: number): Region {
    if (!Number.isInteger(size) || size <= 0) throw new DramError(`cannot allocate ${size} bytes: size must be a positive integer`);
    const pages = Math.ceil(size / PAGE_BYTES);
    let candidate = PAGE_BYTES;
    for (const r of this.regions) {
      if (candidate + pages * PAGE_BYTES <= r.phys) break;
      candidate = Math.max(candidate, r.phys + r.bytes.length);
    }
    if (candidate + pages * PAGE_BYTES > PHYS_LIMIT) throw new DramError(`cannot allocate ${size} bytes: 4 GiB physical space is full`);
    return this.insert(candidate, pages * PAGE_BYTES);
  }

  /** Allocate the pages covering [phys, phys+size): for replaying images that must sit at fixed addresses. */
  allocAt(phys: number, size: number): Region {
    if (!Number.isInteger(phys) || !Number.isInteger(size) || size <= 0 || phys < PAGE_BYTES || phys + size > PHYS_LIMIT) {
      throw new DramError(`cannot allocate [${hex(phys)}, ${hex(phys + size)}): must be inside [0x1000, 4 GiB) and non-empty`);
    }
    const start = Math.floor(phys / PAGE_BYTES) * PAGE_BYTES;
    const end = Math.ceil((phys + size) / PAGE_BYTES) * PAGE_BYTES;
    for (const r of this.regions) {
      if (start < r.phys + r.bytes.length && r.phys < end) {
        throw new DramError(`cannot allocate [${hex(start)}, ${hex(end)}): overlaps the allocation at ${hex(r.phys)}`);
      }
    }
    return this.insert(start, end - start);
  }

  private insert(phys: number, length: number): Region {
    const region: Region = { phys, bytes: new Uint8Array(length) };
    this.regions.push(region);
    this.regions.sort((a, b) => a.phys - b.phys);
    return region;
  }

  free(phys: number): void {
    const i = this.regions.findIndex((r) => r.phys === phys);
    if (i < 0) throw new DramError(`cannot free ${hex(phys)}: not the start of an allocation`);
    if (this.last === this.regions[i]) this.last = undefined;
    this.regions.splice(i, 1);
  }

  /** The region containing `phys`, or undefined. */
  find(phys: number): Region | undefined {
    const l = this.last;
    if (l && phys >= l.phys && phys < l.phys + l.bytes.length) return l;
    let lo = 0;
    let hi = this.regions.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.regions[mid]!;
      if (phys < r.phys) hi = mid - 1;
      else if (phys >= r.phys + r.bytes.length) lo = mid + 1;
      else return (this.last = r);
    }
    return undefined;
  }

  /** A live view of [phys, phys+length), which must lie inside one allocation. */
  view(phys: number, length: number): Uint8Array {
    const v = this.viewInside(phys, length);
    if (!v) throw new DramError(`DRAM range [${hex(phys)}, ${hex(phys + length)}) is outside allocated device memory`);
    return v;
  }

  /** The view when [phys, phys+length) lies inside one allocation, else undefined. */
  viewInside(phys: number, length: number): Uint8Array | undefined {
    const r = this.find(phys);
    if (!r || phys + length > r.phys + r.bytes.length) return undefined;
    const off = phys - r.phys;
    return r.bytes.subarray(off, off + length);
  }

  write(phys: number, data: Uint8Array): void {
    this.view(phys, data.length).set(data);
  }

  read(phys: number, length: number): Uint8Array {
    return this.view(phys, length).slice();
  }

  /** All allocations, sorted by address (for bridges that serve memory to RTL). */
  allRegions(): readonly Region[] {
    return this.regions;
  }
}

/**
 * The VTA configuration: one JSON object with the keys of TVM's `vta_config.json`, loaded and
 * validated here, with every derived quantity (spec §1.2) computed in this one place. The encoder,
 * the simulator, the compiler and the RTL parameter package all read a `VtaConfig`, never the raw
 * JSON, so they cannot drift apart.
 */
import { join } from 'node:path';
import { packageRoot } from '../lib/paths.ts';
import { ConfigError, VtaError } from '../lib/errors.ts';
import { fileErrorReason, readFileCapped } from '../lib/files.ts';
import { describeValue } from '../lib/describe-value.ts';
import { FILE_LIMITS } from '../lib/limits.ts';

/** The keys of `vta_config.json`. */
export interface VtaConfigJson {
  TARGET: string;
  HW_VER: string;
  LOG_INP_WIDTH: number;
  LOG_WGT_WIDTH: number;
  LOG_ACC_WIDTH: number;
  LOG_BATCH: number;
  LOG_BLOCK: number;
  LOG_UOP_BUFF_SIZE: number;
  LOG_INP_BUFF_SIZE: number;
  LOG_WGT_BUFF_SIZE: number;
  LOG_ACC_BUFF_SIZE: number;
  /**
   * log2 of the memory data bus in bits: 6 (64-bit, TVM's pkg_config default and the Zynq-7000 HP
   * port) or 7 (128-bit, the Zynq UltraScale+ HP ports). Not a TVM key: optional, default 6, so
   * TVM's configs mean what they meant. A synthesis parameter: it names its own build (bitstream).
   */
  LOG_BUS_WIDTH?: number;
}

/**
 * Allowed values per key. Inputs and weights may be 2, 4 or 8 bits (packed in DRAM as
 * isa/elements.ts defines); the accumulator stays 32 bits.
 */
const INTEGER_KEYS: Record<Exclude<keyof VtaConfigJson, 'TARGET' | 'HW_VER' | 'LOG_BUS_WIDTH'>, [number, number]> = {
  LOG_INP_WIDTH: [1, 3],
  LOG_WGT_WIDTH: [1, 3],
  LOG_ACC_WIDTH: [5, 5],
  LOG_BATCH: [0, 2],
  LOG_BLOCK: [3, 5],
  LOG_UOP_BUFF_SIZE: [10, 17],
  LOG_INP_BUFF_SIZE: [10, 20],
  LOG_WGT_BUFF_SIZE: [12, 22],
  LOG_ACC_BUFF_SIZE: [12, 22],
};
/** The optional bus-width key (not in TVM's vta_config.json): allowed values and default. */
const BUS_KEY = 'LOG_BUS_WIDTH';
const BUS_RANGE: [number, number] = [6, 7];
const DEFAULT_LOG_BUS_WIDTH = 6;
const TARGETS = ['sim', 'tsim', 'pynq', 'ultra96', 'zcu104', 'de10nano', 'intelfocl'];
const HW_VERSIONS = ['0.0.2'];

/** Everything the rest of the toolchain needs, derived once from the JSON. */
export interface VtaConfig {
  readonly json: Readonly<VtaConfigJson>;
  readonly target: string;
  readonly hwVer: string;
  /** Element widths in bits (2, 4 or 8 for INP/WGT/OUT). OUT has the input width (pkg_config rule). */
  readonly inpWidth: number;
  readonly wgtWidth: number;
  readonly accWidth: number;
  readonly outWidth: number;
  readonly batch: number;
  readonly blockIn: number;
  readonly blockOut: number;
  /** Bytes of one SRAM element ("tile") of each buffer, packed: a 1x16 tile of 4-bit INP is 8 bytes. */
  readonly inpElemBytes: number;
  readonly wgtElemBytes: number;
  readonly accElemBytes: number;
  readonly outElemBytes: number;
  readonly uopElemBytes: number;
  readonly insnBytes: number;
  /** log2 of the number of elements of each buffer, and the numbers themselves. */
  readonly logUopDepth: number;
  readonly logInpDepth: number;
  readonly logWgtDepth: number;
  readonly logAccDepth: number;
  readonly uopDepth: number;
  readonly inpDepth: number;
  readonly wgtDepth: number;
  readonly accDepth: number;
  /** The OUT buffer has one element per ACC element. */
  readonly outDepth: number;
  /** Buffer sizes in bytes. */
  readonly uopBuffBytes: number;
  readonly inpBuffBytes: number;
  readonly wgtBuffBytes: number;
  readonly accBuffBytes: number;
  readonly outBuffBytes: number;
  /** Memory bus of the RTL in bits (LOG_BUS_WIDTH; default 64, pkg_config's). */
  readonly logBusWidth: number;
  readonly busWidth: number;
  /** Largest single DMA transfer the runtime builds (driver.h VTA_MAX_XFER). */
  readonly maxXfer: number;
  /** MACs per GEMM uop-iteration and lanes per ALU uop-iteration. */
  readonly macsPerUop: number;
  readonly lanesPerUop: number;
  /** TVM's bitstream name, e.g. `1x16_i8w8a32_15_15_18_17`. */
  readonly bitstream: string;
}

/** Where each config came from (a file path), for errors raised later about the whole config. */
const SOURCES = new WeakMap<VtaConfig, string>();

export const DEFAULT_CONFIG_PATH = join(packageRoot(), 'config', 'vta_config.json');

function checkKeys(raw: unknown, where: string): VtaConfigJson {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: a VTA config must be a JSON object with vta_config.json keys`);
  }
  const obj = raw as Record<string, unknown>;
  const known = new Set<string>(['TARGET', 'HW_VER', ...Object.keys(INTEGER_KEYS), BUS_KEY]);
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) {
      throw new ConfigError(`${where}: unknown key ${key} (known keys: ${[...known].join(', ')})`);
    }
  }
  const target = obj.TARGET ?? 'sim';
  if (typeof target !== 'string' || !TARGETS.includes(target)) {
    throw new ConfigError(`${where}: TARGET is ${describeValue(target)}; allowed: ${TARGETS.join(', ')}`);
  }
  const hwVer = obj.HW_VER ?? '0.0.2';
  if (typeof hwVer !== 'string' || !HW_VERSIONS.includes(hwVer)) {
    throw new ConfigError(`${where}: HW_VER is ${describeValue(hwVer)}; allowed: ${HW_VERSIONS.join(', ')}`);
  }
  const out: Record<string, unknown> = { TARGET: target, HW_VER: hwVer };
  for (const [key, [lo, hi]] of Object.entries(INTEGER_KEYS)) {
    const v = obj[key];
    if (v === undefined) throw new ConfigError(`${where}: missing key ${key} (allowed range ${lo}..${hi})`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new ConfigError(`${where}: ${key} is ${describeValue(v)}; allowed range ${lo}..${hi}`);
    }
    out[key] = v;
  }
  const bus = obj[BUS_KEY];
  if (bus !== undefined) {
    const [lo, hi] = BUS_RANGE;
    if (typeof bus !== 'number' || !Number.isInteger(bus) || bus < lo || bus > hi) {
      throw new ConfigError(`${where}: ${BUS_KEY} is ${JSON.stringify(bus)}; allowed range ${lo}..${hi} (64- or 128-bit bus)`);
    }
    out[BUS_KEY] = bus;
  }
  return out as unknown as VtaConfigJson;
}

/**
 * A DMA moves whole tiles and addresses them in tile units, so every INP/OUT and WGT tile must be a
 * whole number of bytes. (With the key ranges above this always holds; kept so that widening a
 * range cannot silently break the packing.)
 */
function checkWholeByteTiles(j: VtaConfigJson, where: string): void {
  const tiles = [
    { name: 'INP', bits: j.LOG_BATCH + j.LOG_BLOCK + j.LOG_INP_WIDTH, keys: 'LOG_BATCH + LOG_BLOCK + LOG_INP_WIDTH' },
    { name: 'WGT', bits: 2 * j.LOG_BLOCK + j.LOG_WGT_WIDTH, keys: '2·LOG_BLOCK + LOG_WGT_WIDTH' },
  ];
  for (const t of tiles) {
    if (t.bits < 3) {
      throw new ConfigError(`${where}: a ${t.name} tile of 2^${t.bits} bits is not a whole number of bytes (${t.keys} must be at least 3)`);
    }
  }
}

/**
 * TVM's bitstream names have no bus width: a 64-bit build keeps TVM's name, a wider one gets
 * `_bus128` appended so each bus width has its own tsim build directory.
 */
function busSuffix(logBusWidth: number): string {
  return logBusWidth === DEFAULT_LOG_BUS_WIDTH ? '' : `_bus${1 << logBusWidth}`;
}

/**
 * Validate a parsed `vta_config.json` object and derive every quantity. `where` names the source
 * (a file path) in error messages. Whether the instruction fields fit is the ISA's question:
 * isa/fields.ts refuses such a config, naming `where` and the keys to change, the first time it
 * lays out fields for it (every tool does before it uses a config).
 */
export function makeConfig(raw: unknown, where = 'config'): VtaConfig {
  const j = checkKeys(raw, where);
  checkWholeByteTiles(j, where);
  const inpWidth = 1 << j.LOG_INP_WIDTH;
  const wgtWidth = 1 << j.LOG_WGT_WIDTH;
  const accWidth = 1 << j.LOG_ACC_WIDTH;
  const outWidth = inpWidth;
  const batch = 1 << j.LOG_BATCH;
  const block = 1 << j.LOG_BLOCK;
  const logDepth = (key: keyof VtaConfigJson, logBuf: number, logElemBits: number): number => {
    const d = logBuf + 3 - logElemBits;
    if (d < 1) {
      throw new ConfigError(
        `${where}: ${key} = ${logBuf} is too small: one element needs 2^${logElemBits - 3} bytes, the buffer holds fewer than 2`,
      );
    }
    return d;
  };
  const logUopDepth = logDepth('LOG_UOP_BUFF_SIZE', j.LOG_UOP_BUFF_SIZE, 5);
  const logInpDepth = logDepth('LOG_INP_BUFF_SIZE', j.LOG_INP_BUFF_SIZE, j.LOG_BATCH + j.LOG_BLOCK + j.LOG_INP_WIDTH);
  const logWgtDepth = logDepth('LOG_WGT_BUFF_SIZE', j.LOG_WGT_BUFF_SIZE, 2 * j.LOG_BLOCK + j.LOG_WGT_WIDTH);
  const logAccDepth = logDepth('LOG_ACC_BUFF_SIZE', j.LOG_ACC_BUFF_SIZE, j.LOG_BATCH + j.LOG_BLOCK + j.LOG_ACC_WIDTH);
  const logOutBuffSize = j.LOG_ACC_BUFF_SIZE + j.LOG_INP_WIDTH - j.LOG_ACC_WIDTH;
  const logBusWidth = j.LOG_BUS_WIDTH ?? DEFAULT_LOG_BUS_WIDTH;
  const cfg: VtaConfig = {
    json: Object.freeze({ ...j }),
    target: j.TARGET,
    hwVer: j.HW_VER,
    inpWidth,
    wgtWidth,
    accWidth,
    outWidth,
    batch,
    blockIn: block,
    blockOut: block,
    inpElemBytes: (inpWidth * batch * block) / 8,
    wgtElemBytes: (wgtWidth * block * block) / 8,
    accElemBytes: (accWidth * batch * block) / 8,
    outElemBytes: (outWidth * batch * block) / 8,
    uopElemBytes: 4,
    insnBytes: 16,
    logUopDepth,
    logInpDepth,
    logWgtDepth,
    logAccDepth,
    uopDepth: 1 << logUopDepth,
    inpDepth: 1 << logInpDepth,
    wgtDepth: 1 << logWgtDepth,
    accDepth: 1 << logAccDepth,
    outDepth: 1 << logAccDepth,
    uopBuffBytes: 1 << j.LOG_UOP_BUFF_SIZE,
    inpBuffBytes: 1 << j.LOG_INP_BUFF_SIZE,
    wgtBuffBytes: 1 << j.LOG_WGT_BUFF_SIZE,
    accBuffBytes: 1 << j.LOG_ACC_BUFF_SIZE,
    outBuffBytes: 2 ** logOutBuffSize,
    logBusWidth,
    busWidth: 1 << logBusWidth,
    maxXfer: 1 << 25,
    macsPerUop: batch * block * block,
    lanesPerUop: batch * block,
    bitstream:
      `${batch}x${block}_i${inpWidth}w${wgtWidth}a${accWidth}_` +
      `${j.LOG_UOP_BUFF_SIZE}_${j.LOG_INP_BUFF_SIZE}_${j.LOG_WGT_BUFF_SIZE}_${j.LOG_ACC_BUFF_SIZE}` +
      busSuffix(logBusWidth),
  };
  Object.freeze(cfg);
  SOURCES.set(cfg, where);
  return cfg;
}


/** The `where` a config was made with (its file, or 'config'). */
export function configSource(cfg: VtaConfig): string {
  return SOURCES.get(cfg) ?? 'config';
}

/** Load a config from a JSON file; `undefined` means the default `config/vta_config.json`. */
export function loadConfig(path?: string): VtaConfig {
  const file = path ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = Buffer.from(readFileCapped(file, FILE_LIMITS.settings)).toString('utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read the config file (${fileErrorReason(e)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return makeConfig(raw, file);
}

let defaultConfig: VtaConfig | undefined;
/** The default configuration (TVM's default vta_config.json), loaded once. */
export function defaultVtaConfig(): VtaConfig {
  defaultConfig ??= loadConfig();
  return defaultConfig;
}

/** True when two configs describe the same hardware (TARGET aside). */
export function sameHardware(a: VtaConfig, b: VtaConfig): boolean {
  const keys = Object.keys(INTEGER_KEYS) as (keyof VtaConfigJson)[];
  return a.hwVer === b.hwVer && a.busWidth === b.busWidth && keys.every((k) => a.json[k] === b.json[k]);
}

/** The derived quantities as a flat table, for `vta config`. */
export function describeConfig(cfg: VtaConfig): Record<string, number | string> {
  const { json, ...derived } = cfg;
  void json;
  return { ...derived } as Record<string, number | string>;
}

export { VtaError };

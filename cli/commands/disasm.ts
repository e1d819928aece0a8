import type { CommandModule } from 'yargs';
import type { VtaConfig } from '../../config/config.ts';
import { makeConfig, sameHardware } from '../../config/config.ts';
import { readPackage } from '../../compiler/package.ts';
import { loadBundle } from '../../drivers/bundle.ts';
import { decodeInsn, decodeUop, isCanonicalInsn } from '../../isa/encoding.ts';
import { disasmInsn, formatUop } from '../../isa/disasm.ts';
import { MEM_TYPE, OPCODE } from '../../isa/fields.ts';
import { VtaError } from '../../lib/errors.ts';
import { readFileOrFail } from '../../lib/files.ts';
import { configFromArgs } from '../options.ts';
import { FILE_LIMITS } from '../../lib/limits.ts';

interface Args {
  file: string;
  config?: string;
  uops: boolean;
}

/** Lines for an instruction stream; with an image, each LOAD UOP is followed by the uops it loads. */
function listing(cfg: VtaConfig, insns: Uint8Array, image?: { base: number; data: Uint8Array }, showUops = true): string[] {
  const lines: string[] = [];
  const width = String(insns.length / 16).length;
  for (let i = 0; i * 16 < insns.length; i++) {
    lines.push(`${String(i).padStart(width)}  ${disasmInsn(cfg, insns, i * 16)}`);
    if (!image || !showUops || !isCanonicalInsn(cfg, insns, i * 16)) continue;
    const insn = decodeInsn(cfg, insns, i * 16);
    if (insn.opcode !== OPCODE.LOAD || insn.memory_type !== MEM_TYPE.UOP || insn.x_size === 0) continue;
    const dv = new DataView(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    for (let y = 0; y < insn.y_size; y++) {
      for (let x = 0; x < insn.x_size; x++) {
        const off = (insn.dram_base + y * insn.x_stride + x) * 4 - image.base;
        const slot = insn.sram_base + (y + insn.y_pad_0) * (insn.x_pad_0 + insn.x_size + insn.x_pad_1) + insn.x_pad_0 + x;
        const text = off >= 0 && off + 4 <= image.data.length ? formatUop(decodeUop(cfg, dv.getUint32(off, true))) : '(outside the image)';
        lines.push(`${' '.repeat(width)}    [${slot}] ${text}`);
      }
    }
  }
  return lines;
}

/** A bundle or package carries its config: a --config that disagrees with it is a mistake, not an override. */
function checkSameConfig(argv: Args, own: VtaConfig): void {
  if (argv.config === undefined) return;
  const given = configFromArgs(argv);
  if (!sameHardware(given, own)) {
    throw new VtaError('E_USAGE', `${argv.file} is for config ${own.bitstream} but --config ${argv.config} is ${given.bitstream} (a bundle or .vtapkg carries its own config)`);
  }
}

const command: CommandModule<object, Args> = {
  command: 'disasm <file>',
  describe: 'Disassemble a bundle (with the uops each LOAD UOP brings in), a compiled .vtapkg (per kernel) or a binary instruction stream',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'NAME.bundle.json, NAME.vtapkg, or a binary of 16-byte instructions' })
      .option('uops', { type: 'boolean', default: true, describe: 'list the micro-ops loaded by each LOAD UOP (bundles)' }),
  handler: async (argv) => {
    if (argv.file.endsWith('.json')) {
      const b = loadBundle(argv.file);
      checkSameConfig(argv, b.config);
      const start = b.insn.addr - b.memory.base;
      const insns = b.memory.data.subarray(start, start + b.insn.count * 16);
      if (start < 0 || insns.length < b.insn.count * 16) {
        throw new VtaError('E_BUNDLE', `${argv.file}: the instruction stream is not inside the memory image`);
      }
      console.log(`# ${argv.file}: ${b.insn.count} instructions at 0x${b.insn.addr.toString(16)}, config ${b.config.bitstream}`);
      for (const line of listing(b.config, insns, b.memory, argv.uops)) console.log(line);
      return;
    }
    if (argv.file.endsWith('.vtapkg')) {
      const model = readPackage(await readFileOrFail(argv.file, FILE_LIMITS.package), argv.file);
      const cfg = makeConfig(model.config, argv.file);
      checkSameConfig(argv, cfg);
      // dram_base fields are segment-relative here; `vta run` relocates them when it loads the package.
      const insns = model.code.subarray(0, model.insnCount * 16);
      const text = listing(cfg, insns);
      console.log(`# ${argv.file}: ${model.insnCount} instructions in ${model.kernels.length} kernels, config ${cfg.bitstream} (dram_base segment-relative)`);
      for (const k of model.kernels) {
        console.log(`# kernel ${k.name}: ${k.nodes.join(' + ')}`);
        for (let i = k.insnStart; i < k.insnStart + k.insnCount; i++) console.log(text[i]);
      }
      return;
    }
    const cfg = configFromArgs(argv);
    const bytes = await readFileOrFail(argv.file, FILE_LIMITS.program);
    if (bytes.length === 0 || bytes.length % 16 !== 0) {
      throw new VtaError('E_ASM', `${argv.file}: ${bytes.length} bytes is not a whole number of 16-byte instructions`);
    }
    for (const line of listing(cfg, bytes)) console.log(line);
  },
};
export default command;

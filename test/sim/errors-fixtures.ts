/** ISA helpers for the error tests, plus a raw ALU encoding with an opcode the encoder refuses. */
import type { VtaConfig } from '../../config/config.ts';
import { aluInsn, encodeInsn, layouts } from '../../isa/index.ts';

export * from '../../isa/index.ts';

/** An ALU instruction (uop range empty) whose alu_opcode field holds `op`, even 5..7. */
export function encodeAluRaw(cfg: VtaConfig, op: number): Uint8Array {
  const bytes = encodeInsn(cfg, aluInsn({ alu_opcode: 0 }));
  const f = layouts(cfg).alu.byName.alu_opcode!;
  const dv = new DataView(bytes.buffer);
  const word = f.offset >> 5;
  dv.setUint32(word * 4, dv.getUint32(word * 4, true) | (op << (f.offset & 31)), true);
  return bytes;
}

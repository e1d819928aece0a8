/** onnxruntime-node, loaded on first use, with one clear line when it cannot be. */
import { createRequire } from 'node:module';
import { VtaError } from '../lib/errors.ts';

const require = createRequire(import.meta.url);

export type Ort = typeof import('onnxruntime-node');

export function loadOrt(): Ort {
  try {
    return require('onnxruntime-node') as Ort;
  } catch (e) {
    throw new VtaError('E_ORT', `onnxruntime-node cannot be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
}

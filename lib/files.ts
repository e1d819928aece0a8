/**
 * Output files are written whole or not at all: data goes to a temporary file beside the target,
 * which is renamed over it only when complete, so a failed command never leaves half a file.
 * Read and write failures become one-line VtaErrors that name the path and say why in words.
 */
import {
  type Stats,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { VtaError } from './errors.ts';
import { FILE_LIMITS, type FileLimit } from './limits.ts';


const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a file stands where a folder is expected',
  EISDIR: 'it is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  // From mkdir -p when a path component is an existing file.
  EEXIST: 'a file stands where a folder is expected',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
};

/** Why a file over `limit` is refused, in words (docs/limits.md lists the limits). */
const tooLargeReason = (limit: FileLimit) => `larger than ${limit.bytes / 2 ** 20} MiB, the most ${limit.what} may be (docs/limits.md)`;

/** What a file-system error means, in words (the errno code when it is an unusual one). */
export function fileErrorReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (e instanceof FileTooLarge) return tooLargeReason(e.limit);
  if (code) return REASONS[code] ?? code;
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

/** What writeFileAtomic writes: text, bytes, or bytes in consecutive pieces (written in turn, never joined). */
export type FileData = string | Uint8Array | readonly Uint8Array[];

function writeData(path: string, data: FileData): void {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    writeFileSync(path, data);
    return;
  }
  const fd = openSync(path, 'w');
  try {
    for (const part of data) for (let at = 0; at < part.length; ) at += writeSync(fd, part, at, part.length - at);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: FileData): void {
  let existing: Stats | undefined;
  try {
    existing = statSync(path);
  } catch {
    /* a new file */
  }
  if (existing?.isDirectory()) throw new VtaError('E_WRITE', `cannot write ${path}: ${REASONS.EISDIR}`);
  if (existing && !existing.isFile()) {
    // A device or pipe (-o /dev/null, /dev/stdout): renaming over it would replace the device itself.
    try {
      writeData(path, data);
      return;
    } catch (e) {
      throw new VtaError('E_WRITE', `cannot write ${path}: ${fileErrorReason(e)}`);
    }
  }
  // Through a symbolic link, replace the file it points to, not the link.
  const target = existing ? realpathSync(path) : path;
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    writeData(tmp, data);
    renameSync(tmp, target);
  } catch (e) {
    // The temporary file may not exist (or its folder may not be one): cleanup must not hide the cause.
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing was written there */
    }
    throw new VtaError('E_WRITE', `cannot write ${path}: ${fileErrorReason(e)}`);
  }
}

/** A file over its size limit (code EFBIG, as the file system says it). */
class FileTooLarge extends Error {
  readonly code = 'EFBIG';
  constructor(path: string, readonly limit: FileLimit) {
    super(`${path}: ${tooLargeReason(limit)}`);
  }
}

/**
 * Read a whole file of a kind (`limit`, from lib/limits.ts), refusing it once it is larger: a
 * regular file by its size before reading, a device or pipe as soon as the limit is passed. Throws
 * the file-system error (with its errno code, EFBIG when too large) so that callers word it their
 * way, e.g. with fileErrorReason.
 */
export function readFileCapped(path: string, limit: FileLimit = FILE_LIMITS.model): Uint8Array {
  const max = limit.bytes;
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    const tooLarge = () => new FileTooLarge(path, limit);
    if (st.isFile() && st.size > max) throw tooLarge();
    // A regular file is read whole into one buffer of its size (plus one byte, to notice growth);
    // devices, pipes and a file that grew are read in chunks up to the cap.
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (st.isFile()) {
      const whole = new Uint8Array(st.size + 1);
      total = readInto(fd, whole);
      if (total < whole.length) return whole.subarray(0, total);
      if (total > max) throw tooLarge();
      chunks.push(whole);
    }
    for (;;) {
      const chunk = new Uint8Array(1 << 20);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > max) throw tooLarge();
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    if (chunks.length === 1) return chunks[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Fill `buffer` from `fd` until it is full or the file ends; the number of bytes read. */
function readInto(fd: number, buffer: Uint8Array): number {
  let at = 0;
  while (at < buffer.length) {
    const n = readSync(fd, buffer, at, buffer.length - at, null);
    if (n === 0) break;
    at += n;
  }
  return at;
}

/** Read a file of a kind, with a one-line error naming it when it cannot be read. */
export async function readFileOrFail(path: string, limit: FileLimit): Promise<Uint8Array> {
  try {
    return readFileCapped(path, limit);
  } catch (e) {
    throw new VtaError('E_READ', `cannot read ${path}: ${fileErrorReason(e)}`);
  }
}

/** Read a text file of a kind synchronously, with the same one-line error. */
export function readTextOrFail(path: string, limit: FileLimit): string {
  try {
    return Buffer.from(readFileCapped(path, limit)).toString('utf8');
  } catch (e) {
    throw new VtaError('E_READ', `cannot read ${path}: ${fileErrorReason(e)}`);
  }
}

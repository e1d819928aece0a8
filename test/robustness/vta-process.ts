/** The `vta` command run as a child process, as a user runs it, for the robustness tests. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `vta args` in `cwd` (killed after `timeoutMs`). With `holdStderrMs`, stderr is not read for
 * that long, so its pipe fills as it would behind a slow reader.
 */
export function vta(args: string[], cwd: string, options: { timeoutMs?: number; holdStderrMs?: number } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const p = spawn('node', [join(ROOT, 'bin/vta.mjs'), ...args], { cwd, env: { ...process.env, VTA_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    if (options.holdStderrMs) {
      p.stderr.pause();
      setTimeout(() => p.stderr.on('data', (d) => (stderr += d)).resume(), options.holdStderrMs);
    } else p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run several commands, a few at a time, in order of the results. */
export async function vtaAll(runs: string[][], cwd: string): Promise<Outcome[]> {
  const queue = runs.map((args, i) => ({ args, i }));
  const results: Outcome[] = [];
  await Promise.all(
    [0, 1, 2].map(async () => {
      for (let next = queue.shift(); next; next = queue.shift()) results[next.i] = await vta(next.args, cwd);
    }),
  );
  return results;
}
